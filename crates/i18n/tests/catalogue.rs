//! The catalogues are complete: both parse, hold the same messages with the same variables, every
//! `tr!` in the workspace's sources names a message that exists and passes exactly its variables,
//! and no message is left unused (the `help-` ids of `tandem --help` are checked by the binary's
//! tests against the command tree instead).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use tandem_i18n::{Language, catalogue_messages, catalogue_problems};

fn messages(language: Language) -> BTreeMap<String, Vec<String>> {
    catalogue_messages(language).into_iter().collect()
}

#[test]
fn both_catalogues_parse_without_problems() {
    for language in Language::ALL {
        assert_eq!(
            catalogue_problems(language),
            Vec::<String>::new(),
            "{language:?}"
        );
        assert!(!messages(language).is_empty(), "{language:?} has messages");
    }
}

#[test]
fn french_has_every_english_message_with_the_same_variables_and_nothing_else() {
    let english = messages(Language::English);
    let french = messages(Language::French);
    let missing: Vec<_> = english
        .keys()
        .filter(|id| !french.contains_key(*id))
        .collect();
    let extra: Vec<_> = french
        .keys()
        .filter(|id| !english.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "missing from locales/fr: {missing:?}");
    assert!(extra.is_empty(), "in locales/fr only: {extra:?}");
    for (id, variables) in &english {
        assert_eq!(
            &french[id], variables,
            "variables of {id} differ between en and fr"
        );
    }
}

/// The workspace's Rust sources, except build output, fuzz targets and this crate (whose docs and
/// tests show `tr!` with made-up ids).
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                let this_crate = path.ends_with("crates/i18n");
                if !name.starts_with('.') && name != "target" && name != "fuzz" && !this_crate {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out
}

/// One `tr!(...)` call: its message id and the names of the variables it passes.
#[derive(Debug)]
struct Use {
    file: PathBuf,
    id: String,
    variables: Vec<String>,
}

/// The `tr!` calls in `text`, read with just enough Rust lexing to split arguments at top-level
/// commas (strings, chars and nested brackets skipped).
fn uses_in(file: &Path, text: &str) -> Vec<Use> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("tr!(") {
        let before = &rest[..at];
        rest = &rest[at + 4..];
        // `str!(`, `attr!(`… are other macros.
        if before
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let Some(arguments) = arguments(rest) else {
            continue;
        };
        let mut parts = arguments.into_iter();
        let Some(id) = parts.next() else { continue };
        let id = id.trim();
        if !(id.starts_with('"') && id.ends_with('"') && id.len() >= 2) {
            continue; // the macro's own definition, `$id:literal`
        }
        let variables = parts
            .filter_map(|part| {
                let (name, _) = part.split_once('=')?;
                Some(name.trim().to_owned())
            })
            .filter(|name| !name.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        out.push(Use {
            file: file.to_path_buf(),
            id: id[1..id.len() - 1].to_owned(),
            variables,
        });
    }
    out
}

/// The top-level comma-separated arguments from just after `(` to the matching `)`.
fn arguments(text: &str) -> Option<Vec<String>> {
    let mut depth = 0usize;
    let mut parts = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let part = parts.last_mut()?;
                part.push(c);
                while let Some(s) = chars.next() {
                    part.push(s);
                    if s == '\\' {
                        part.push(chars.next()?);
                    } else if s == '"' {
                        break;
                    }
                }
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return Some(parts),
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut()?.push(c);
    }
    None
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_tr_names_a_message_with_exactly_its_variables_and_every_message_is_used() {
    let english = messages(Language::English);
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    let mut all_text = String::new();
    for file in sources(&workspace_root()) {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for found in uses_in(&file, &text) {
            match english.get(&found.id) {
                None => problems.push(format!("{}: no message {}", found.file.display(), found.id)),
                Some(variables) if *variables != found.variables => problems.push(format!(
                    "{}: {} takes {:?}, given {:?}",
                    found.file.display(),
                    found.id,
                    variables,
                    found.variables
                )),
                Some(_) => {}
            }
            used.insert(found.id);
        }
        all_text.push_str(&text);
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Messages looked up by an id computed at run time still appear as a string literal, except
    // the command-line help (`help-<command>-<argument>`): its ids come from the clap tree, and
    // the binary's tests check both ways that each names a real command or argument.
    let unused: Vec<_> = english
        .keys()
        .filter(|id| id.as_str() != "i18n-self-test" && !id.starts_with("help-"))
        .filter(|id| !used.contains(*id) && !all_text.contains(&format!("\"{id}\"")))
        .collect();
    assert!(unused.is_empty(), "messages no source uses: {unused:?}");
}

#[test]
fn the_scanner_reads_ids_and_variable_names() {
    let text = r#"let a = tr!("share-code", code = format!("{}, {}", x, y), minutes = f(1, 2)); str!("x")"#;
    let found = uses_in(Path::new("x.rs"), text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "share-code");
    assert_eq!(
        found[0].variables,
        vec!["code".to_owned(), "minutes".to_owned()]
    );
}
