//! The relative paths an offer carries: what a receiver accepts before it lets a name anywhere near
//! its file system, and how a refused name is quoted safely.
//!
//! The rules are the union of what is dangerous or impossible on the platforms Tandem runs on, so a
//! path that passes here can be created under the download folder on Linux, macOS and Windows alike
//! and never names anything outside it.

use thiserror::Error;

use crate::{MAX_COMPONENT_LEN, MAX_DEPTH, MAX_PATH_LEN, PARTIAL_DIR};

/// How many characters of a refused name an error quotes: enough to recognise it, short enough that
/// a 1 KiB hostile name does not flood a dialog or a log line.
const QUOTE_CHARS: usize = 80;

/// Why a relative path was refused. Every quoted name is sanitised (see [`sanitize`]) so it can be
/// printed or logged as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PathError {
    #[error("the file name is empty")]
    Empty,
    #[error("the path \"{path}\" has an empty part (two slashes in a row, or one at the end)")]
    EmptyComponent { path: String },
    #[error("the path \"{path}\" is absolute; only names inside the download folder are accepted")]
    Absolute { path: String },
    #[error("the path \"{path}\" contains a backslash, which Windows reads as a folder separator")]
    Backslash { path: String },
    #[error(
        "the path \"{path}\" contains \".\" or \"..\", which could point outside the download folder"
    )]
    DotComponent { path: String },
    #[error("the name \"{component}\" contains a colon (a drive letter or a Windows data stream)")]
    Colon { component: String },
    #[error("the name \"{component}\" contains a control character")]
    ControlCharacter { component: String },
    #[error(
        "the name \"{component}\" contains an invisible text-direction character, which can disguise a file's real extension"
    )]
    BidiControl { component: String },
    #[error("the name \"{component}\" is reserved by Windows for a device")]
    DeviceName { component: String },
    #[error("the name \"{component}\" is reserved by Tandem for unfinished downloads")]
    Reserved { component: String },
    #[error("the name \"{component}\" ends in a dot or a space, which Windows silently drops")]
    TrailingDotOrSpace { component: String },
    #[error("the name \"{component}\" is {len} bytes long; at most {max} are allowed")]
    ComponentTooLong {
        component: String,
        len: usize,
        max: usize,
    },
    #[error("the path \"{path}\" is {len} bytes long; at most {max} are allowed")]
    PathTooLong {
        path: String,
        len: usize,
        max: usize,
    },
    #[error("the path \"{path}\" is {depth} folders deep; at most {max} are allowed")]
    TooDeep {
        path: String,
        depth: usize,
        max: usize,
    },
}

/// Checks a '/'-separated relative path from an offer and returns its components.
///
/// Refused: an empty path or component; `.` and `..`; a leading `/` or `\`; a backslash anywhere;
/// a colon anywhere (drive letters, `a:b` streams); NUL and every other control character; the
/// Unicode text-direction controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C);
/// Windows device names as a component in any case, with or without an extension (`CON`, `prn.txt`,
/// `COM0`–`COM9`, `LPT0`–`LPT9` and their superscript-digit forms, `CONIN$`, `CONOUT$`, `CLOCK$`);
/// a component ending in a dot or a space; a component over [`MAX_COMPONENT_LEN`] bytes; a path
/// over [`MAX_PATH_LEN`] bytes or deeper than [`MAX_DEPTH`] components; and a first component
/// naming the partial-file folder ([`PARTIAL_DIR`], in any case), so an offer cannot plant files
/// where unfinished downloads live.
pub fn validate_relative_path(path: &str) -> Result<Vec<&str>, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    // Length first: every later check and every quoted name is then bounded.
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::PathTooLong {
            path: sanitize(path),
            len: path.len(),
            max: MAX_PATH_LEN,
        });
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(PathError::Absolute {
            path: sanitize(path),
        });
    }
    if path.contains('\\') {
        return Err(PathError::Backslash {
            path: sanitize(path),
        });
    }
    let components: Vec<&str> = path.split('/').collect();
    if components.len() > MAX_DEPTH {
        return Err(PathError::TooDeep {
            path: sanitize(path),
            depth: components.len(),
            max: MAX_DEPTH,
        });
    }
    for (index, component) in components.iter().enumerate() {
        check_component(path, component)?;
        if index == 0 && component.eq_ignore_ascii_case(PARTIAL_DIR) {
            return Err(PathError::Reserved {
                component: sanitize(component),
            });
        }
    }
    Ok(components)
}

fn check_component(path: &str, component: &str) -> Result<(), PathError> {
    if component.is_empty() {
        return Err(PathError::EmptyComponent {
            path: sanitize(path),
        });
    }
    if component == "." || component == ".." {
        return Err(PathError::DotComponent {
            path: sanitize(path),
        });
    }
    let quoted = || sanitize(component);
    if component.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter {
            component: quoted(),
        });
    }
    if component.chars().any(is_bidi_control) {
        return Err(PathError::BidiControl {
            component: quoted(),
        });
    }
    if component.contains(':') {
        return Err(PathError::Colon {
            component: quoted(),
        });
    }
    if component.len() > MAX_COMPONENT_LEN {
        return Err(PathError::ComponentTooLong {
            component: quoted(),
            len: component.len(),
            max: MAX_COMPONENT_LEN,
        });
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Err(PathError::TrailingDotOrSpace {
            component: quoted(),
        });
    }
    if is_windows_device_name(component) {
        return Err(PathError::DeviceName {
            component: quoted(),
        });
    }
    Ok(())
}

/// The characters that reorder how text is displayed without being visible themselves: with them
/// `invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Whether Windows would open a device instead of a file for this name. Windows looks only at the
/// part before the first dot (`nul.tar.gz` is the null device) and ignores trailing spaces there
/// (`nul .txt` too), in any case.
fn is_windows_device_name(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or(component);
    let stem = stem.trim_end_matches(' ');
    const PLAIN: [&str; 7] = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"];
    if PLAIN.iter().any(|name| stem.eq_ignore_ascii_case(name)) {
        return true;
    }
    let mut chars = stem.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let digit = chars.next();
    let rest = chars.next();
    (prefix.eq_ignore_ascii_case("COM") || prefix.eq_ignore_ascii_case("LPT"))
        && rest.is_none()
        && matches!(
            digit,
            Some('0'..='9' | '\u{00B9}' | '\u{00B2}' | '\u{00B3}')
        )
}

/// A name made safe to print: control and text-direction characters become U+FFFD, and a long name
/// is cut to its first 80 characters followed by "…".
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(QUOTE_CHARS * 4));
    for (count, c) in name.chars().enumerate() {
        if count == QUOTE_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || is_bidi_control(c) {
            out.push(char::REPLACEMENT_CHARACTER);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_pass_and_split() {
        assert_eq!(validate_relative_path("a.txt"), Ok(vec!["a.txt"]));
        assert_eq!(
            validate_relative_path("Photos 2024/trip/IMG 0001.jpeg"),
            Ok(vec!["Photos 2024", "trip", "IMG 0001.jpeg"])
        );
        // Names that merely resemble hostile ones are fine.
        for ok in [
            ".bashrc",
            "..hidden",
            "a..b",
            "CONSOLE.txt",
            "COM10",
            "LPT",
            "nullable",
            "auxiliary.c",
            "résumé ünïcödé 日本語.pdf",
            " leading space",
            "dir/.tandem-partial", // reserved only as the first component
            "tandem-partial",
        ] {
            assert!(validate_relative_path(ok).is_ok(), "{ok:?} should pass");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let component = "x".repeat(MAX_COMPONENT_LEN);
        assert!(validate_relative_path(&component).is_ok());
        let deep = vec!["d"; MAX_DEPTH].join("/");
        assert!(validate_relative_path(&deep).is_ok());
        let long = vec!["y".repeat(100); MAX_PATH_LEN / 101].join("/");
        let long = format!("{long}/{}", "z".repeat(MAX_PATH_LEN - long.len() - 1));
        assert_eq!(long.len(), MAX_PATH_LEN);
        assert!(validate_relative_path(&long).is_ok());
    }

    /// Every rule, each with a name that breaks only it, checked against the variant it must give.
    #[test]
    fn hostile_names_are_refused_by_the_right_rule() {
        let too_long_component = "x".repeat(MAX_COMPONENT_LEN + 1);
        let too_long_path = vec!["y".repeat(200); 6].join("/");
        let too_deep = vec!["d"; MAX_DEPTH + 1].join("/");
        let multibyte_component = "é".repeat(MAX_COMPONENT_LEN / 2 + 1);
        let table: Vec<(&str, &str)> = vec![
            ("", "Empty"),
            ("a//b", "EmptyComponent"),
            ("a/", "EmptyComponent"),
            ("/etc/passwd", "Absolute"),
            ("/", "Absolute"),
            ("\\server\\share", "Absolute"),
            ("a\\..\\b", "Backslash"),
            ("docs\\evil.txt", "Backslash"),
            (".", "DotComponent"),
            ("..", "DotComponent"),
            ("../evil", "DotComponent"),
            ("a/../../evil", "DotComponent"),
            ("a/./b", "DotComponent"),
            ("C:", "Colon"),
            ("C:evil", "Colon"),
            ("c:/windows", "Colon"),
            ("a:b", "Colon"),
            ("file.txt:stream", "Colon"),
            ("nul\0byte", "ControlCharacter"),
            ("new\nline", "ControlCharacter"),
            ("tab\there", "ControlCharacter"),
            ("esc\u{1b}[31m", "ControlCharacter"),
            ("del\u{7f}", "ControlCharacter"),
            ("c1\u{85}", "ControlCharacter"),
            ("invoice\u{202E}fdp.exe", "BidiControl"),
            ("a\u{202A}", "BidiControl"),
            ("a\u{2066}b", "BidiControl"),
            ("a\u{2069}b", "BidiControl"),
            ("a\u{200E}b", "BidiControl"),
            ("a\u{200F}b", "BidiControl"),
            ("a\u{061C}b", "BidiControl"),
            ("CON", "DeviceName"),
            ("con", "DeviceName"),
            ("Con.txt", "DeviceName"),
            ("PRN", "DeviceName"),
            ("aux.tar.gz", "DeviceName"),
            ("NUL", "DeviceName"),
            ("nul .txt", "DeviceName"),
            ("COM0", "DeviceName"),
            ("com9.log", "DeviceName"),
            ("COM\u{00B9}", "DeviceName"),
            ("LPT1", "DeviceName"),
            ("lpt0.doc", "DeviceName"),
            ("CONIN$", "DeviceName"),
            ("conout$.txt", "DeviceName"),
            ("docs/CON/readme", "DeviceName"),
            ("trailing.", "TrailingDotOrSpace"),
            ("trailing ", "TrailingDotOrSpace"),
            ("dir./file", "TrailingDotOrSpace"),
            ("...", "TrailingDotOrSpace"),
            (&too_long_component, "ComponentTooLong"),
            (&multibyte_component, "ComponentTooLong"),
            (&too_long_path, "PathTooLong"),
            (&too_deep, "TooDeep"),
            (".tandem-partial/0123.part", "Reserved"),
            (".TANDEM-PARTIAL", "Reserved"),
        ];
        for (name, rule) in table {
            let err = validate_relative_path(name).expect_err(name);
            let got = format!("{err:?}");
            assert!(
                got.starts_with(rule),
                "{name:?}: expected {rule}, got {got}"
            );
        }
    }

    #[test]
    fn errors_quote_the_offending_part_sanitised() {
        let err = validate_relative_path("ok/bad\u{1b}]0;pwned\u{7}/x").expect_err("control");
        assert_eq!(
            err,
            PathError::ControlCharacter {
                component: "bad\u{FFFD}]0;pwned\u{FFFD}".into()
            }
        );
        let err = validate_relative_path("ok/evil\u{202E}txt.exe").expect_err("bidi");
        let text = err.to_string();
        assert!(text.contains("evil\u{FFFD}txt.exe"), "{text}");
        assert!(!text.contains('\u{202E}'));
        // A hostile 1 KiB name is quoted, not echoed in full.
        let err = validate_relative_path(&"w".repeat(MAX_PATH_LEN + 1)).expect_err("long");
        assert!(err.to_string().len() < 300, "{err}");
        // Cutting a quote never splits a character.
        assert_eq!(sanitize(&"é".repeat(100)).chars().count(), QUOTE_CHARS + 1);
    }
}
