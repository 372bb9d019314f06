//! Small whole-file writes (reports, drafts) that never leave a half file under the final name.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `data` to `path` so that `path` holds either what it held before or all of `data`: the
/// bytes go to a hidden sibling (`.NAME.partial`), are flushed to the disk, and the sibling is then
/// renamed over `path`. On any failure (a full disk included) the sibling is removed and `path` is
/// untouched. The parent folder is created if missing.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let partial = partial_path(path);
    let written = (|| {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_partial() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub").join("report.json");
        write_atomically(&path, b"first").expect("write");
        write_atomically(&path, b"second, longer").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"second, longer");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_no_partial() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("notes.txt");
        write_atomically(&path, b"kept").expect("write");
        // The partial's name is taken by a folder: creating it fails.
        std::fs::create_dir(partial_path(&path)).expect("block");
        assert!(write_atomically(&path, b"lost").is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"kept");
    }
}
