//! Builds every `locales/<lang>/*.ftl` into the binary, so each part of Tandem keeps its messages in
//! its own file (`window.ftl`, `terminal.ftl`, …) and adding a file needs no list kept by hand.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out_dir = env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let mut code = String::new();
    for language in ["en", "fr"] {
        let dir = Path::new(&manifest).join("locales").join(language);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        code.push_str(&format!(
            "pub(crate) const {}: &[(&str, &str)] = &[\n",
            language.to_uppercase()
        ));
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            code.push_str(&format!(
                "    ({:?}, include_str!({:?})),\n",
                name.unwrap_or_default(),
                file.display().to_string()
            ));
        }
        code.push_str("];\n");
    }
    if let Err(error) = fs::write(Path::new(&out_dir).join("catalogues.rs"), code) {
        panic!("writing the catalogue list: {error}");
    }
}
