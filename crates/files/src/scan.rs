//! The sender's description of what it offers: a walk of the chosen file or folder into entries.

use std::fmt;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use thiserror::Error;

use crate::path::{PathError, sanitize, validate_relative_path};
use crate::{EntryMeta, MAX_ENTRIES};

/// Items (files, folders, links, anything) one scan looks at before giving up, so pointing the
/// scan at a huge tree (a home folder, `/`) fails in bounded time and memory instead of listing
/// millions of skipped items.
const MAX_VISITED: usize = 10 * MAX_ENTRIES;

/// What the sender offers: a file, or every regular file inside a folder.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The chosen file's or folder's own name, for display.
    pub name: String,
    /// Sorted by path.
    pub entries: Vec<SourceEntry>,
    /// What inside a folder was left out and why, sorted by path; for a warning before sending.
    pub skipped: Vec<Skipped>,
}

impl Outgoing {
    /// The sum of the entries' sizes.
    pub fn total_bytes(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |sum, entry| sum.saturating_add(entry.meta.size))
    }
}

/// One file to send: what the wire says about it, and where to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    pub meta: EntryMeta,
    pub source: PathBuf,
}

/// An item inside a scanned folder that is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Relative path like an entry's, sanitised for display (a name that is not UTF-8 is shown
    /// lossily).
    pub path: String,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SkipReason {
    /// Links are never followed: one could point anywhere, a loop, or outside what the user chose.
    #[error("a symbolic link")]
    Symlink,
    #[error("a device, pipe or socket, not a file")]
    Special,
    #[error("its name is not valid Unicode")]
    NotUtf8,
    #[error("it cannot be sent under this name: {0}")]
    InvalidName(PathError),
    #[error("it cannot be read: {0}")]
    Unreadable(io::ErrorKind),
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{path} is not a file or a folder and cannot be sent")]
    NotAFile { path: PathBuf },
    #[error("{path} has no name to send it under")]
    NoName { path: PathBuf },
    #[error("the name of {path} is not valid Unicode; rename it to send it")]
    NotUtf8 { path: PathBuf },
    #[error("{path} cannot be sent under its name; rename it to send it")]
    InvalidName { path: PathBuf, source: PathError },
    #[error("the folder holds more than {max} files; send a smaller folder or an archive of it")]
    TooManyFiles { max: usize },
    #[error("the folder holds more than {max} items; send a smaller folder or an archive of it")]
    TooManyItems { max: usize },
}

/// Describes a file or folder for an offer.
///
/// A file gives one entry named after it. A folder gives one entry per regular file inside it,
/// recursively, with paths that start with the folder's own name (`folder/sub/file`), sorted by
/// path. Empty folders are not offered (an offer lists files only). Symbolic links inside the folder
/// are never followed, and devices, pipes and sockets never read; they, files that cannot be opened,
/// and names that would fail [`validate_relative_path`] on the other end go to
/// [`Outgoing::skipped`] with the reason. The chosen `path` itself is followed if it is a link: it
/// is the user's own pick, as from a file dialog.
///
/// Fails if `path` does not exist, cannot be read, or has a name that cannot be sent, and with
/// [`ScanError::TooManyFiles`] past [`MAX_ENTRIES`] files.
pub fn scan(path: &Path) -> Result<Outgoing, ScanError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| {
            if source.kind() == io::ErrorKind::NotFound {
                ScanError::NotFound { path: path.into() }
            } else {
                ScanError::Io {
                    action,
                    path: path.into(),
                    source,
                }
            }
        }
    };
    // Absolute so the resume key does not depend on the current directory of the moment.
    let absolute = std::path::absolute(path).map_err(io_err("find"))?;
    let metadata = fs::metadata(&absolute).map_err(io_err("read the details of"))?;
    let name = match absolute.file_name() {
        Some(name) => name.to_owned(),
        // "x/.." or "." : only the resolved path says what folder this is.
        None => fs::canonicalize(&absolute)
            .map_err(io_err("find"))?
            .file_name()
            .ok_or_else(|| ScanError::NoName { path: path.into() })?
            .to_owned(),
    };
    let name = name
        .to_str()
        .ok_or_else(|| ScanError::NotUtf8 { path: path.into() })?
        .to_owned();
    validate_relative_path(&name).map_err(|source| ScanError::InvalidName {
        path: path.into(),
        source,
    })?;

    let mut walk = Walk::default();
    if metadata.is_file() {
        File::open(&absolute).map_err(io_err("open"))?;
        walk.push_file(&absolute, name.clone(), &metadata)?;
    } else if metadata.is_dir() {
        let children = read_sorted(&absolute).map_err(io_err("list"))?;
        walk.visit_children(&absolute, &name, children)?;
    } else {
        return Err(ScanError::NotAFile { path: path.into() });
    }

    let Walk {
        mut entries,
        mut skipped,
        ..
    } = walk;
    entries.sort_by(|a, b| a.meta.path.cmp(&b.meta.path));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    tracing::debug!(
        name = %name,
        entries = entries.len(),
        skipped = skipped.len(),
        "scanned for sending"
    );
    Ok(Outgoing {
        name,
        entries,
        skipped,
    })
}

/// The resume key of a file: the first 16 bytes of BLAKE3 over its relative path, size,
/// modification time (ns since the Unix epoch) and absolute source path, each length-prefixed or
/// fixed-size so no two different inputs hash the same bytes.
///
/// The same unchanged file offered again gets the same key, which is what lets the receiver find
/// its partial file; editing the file changes its time or size, and so the key. The source path
/// keeps two different files that happen to share a relative name, size and time apart.
pub fn resume_key(relative: &str, size: u64, modified_ns: i128, source: &Path) -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"tandem-files resume key v1\0");
    hasher.update(&(relative.len() as u64).to_le_bytes());
    hasher.update(relative.as_bytes());
    hasher.update(&size.to_le_bytes());
    hasher.update(&modified_ns.to_le_bytes());
    let source = source.as_os_str().as_encoded_bytes();
    hasher.update(&(source.len() as u64).to_le_bytes());
    hasher.update(source);
    let mut key = [0u8; 16];
    key.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    key
}

/// Modification time in ns since the Unix epoch (negative before it); 0 where the platform has
/// none, which only weakens change detection to the size.
fn modified_ns(metadata: &Metadata) -> i128 {
    match metadata.modified() {
        Ok(time) => match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        },
        Err(_) => 0,
    }
}

#[derive(Default)]
struct Walk {
    entries: Vec<SourceEntry>,
    skipped: Vec<Skipped>,
    visited: usize,
}

impl Walk {
    fn skip(&mut self, path: &str, reason: SkipReason) {
        self.skipped.push(Skipped {
            path: sanitize(path),
            reason,
        });
    }

    fn push_file(
        &mut self,
        source: &Path,
        relative: String,
        metadata: &Metadata,
    ) -> Result<(), ScanError> {
        let key = resume_key(&relative, metadata.len(), modified_ns(metadata), source);
        self.entries.push(SourceEntry {
            meta: EntryMeta {
                path: relative,
                size: metadata.len(),
                key,
            },
            source: source.to_owned(),
        });
        if self.entries.len() > MAX_ENTRIES {
            return Err(ScanError::TooManyFiles { max: MAX_ENTRIES });
        }
        Ok(())
    }

    /// Recursion is bounded: a folder deeper than `MAX_DEPTH` fails validation and is skipped
    /// rather than entered.
    fn visit_children(
        &mut self,
        dir: &Path,
        relative: &str,
        children: Vec<fs::DirEntry>,
    ) -> Result<(), ScanError> {
        for child in children {
            self.visited += 1;
            if self.visited > MAX_VISITED {
                return Err(ScanError::TooManyItems { max: MAX_VISITED });
            }
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                let shown = format!("{relative}/{}", name.to_string_lossy());
                self.skip(&shown, SkipReason::NotUtf8);
                continue;
            };
            let child_relative = format!("{relative}/{name}");
            if let Err(error) = validate_relative_path(&child_relative) {
                self.skip(&child_relative, SkipReason::InvalidName(error));
                continue;
            }
            let child_path = dir.join(name);
            // Not following links: the DirEntry's type is the link's own.
            let file_type = match child.file_type() {
                Ok(file_type) => file_type,
                Err(error) => {
                    self.skip(&child_relative, SkipReason::Unreadable(error.kind()));
                    continue;
                }
            };
            if file_type.is_symlink() {
                self.skip(&child_relative, SkipReason::Symlink);
            } else if file_type.is_dir() {
                match read_sorted(&child_path) {
                    Ok(grandchildren) => {
                        self.visit_children(&child_path, &child_relative, grandchildren)?
                    }
                    Err(error) => self.skip(&child_relative, SkipReason::Unreadable(error.kind())),
                }
            } else if file_type.is_file() {
                self.visit_file(&child_path, child_relative)?;
            } else {
                self.skip(&child_relative, SkipReason::Special);
            }
        }
        Ok(())
    }

    fn visit_file(&mut self, path: &Path, relative: String) -> Result<(), ScanError> {
        // symlink_metadata again, not metadata: the item may have been swapped for a link since
        // it was listed, and a link must still not be followed.
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                self.skip(&relative, SkipReason::Unreadable(error.kind()));
                return Ok(());
            }
        };
        if metadata.file_type().is_symlink() {
            self.skip(&relative, SkipReason::Symlink);
            return Ok(());
        }
        if !metadata.is_file() {
            self.skip(&relative, SkipReason::Special);
            return Ok(());
        }
        // Opening now tells the user before sending which files they lack permission for, rather
        // than failing in the middle of the transfer.
        if let Err(error) = File::open(path) {
            self.skip(&relative, SkipReason::Unreadable(error.kind()));
            return Ok(());
        }
        self.push_file(path, relative, &metadata)
    }
}

/// A folder's items in name order, so the walk (and which items hit a limit first) is the same
/// every time.
fn read_sorted(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    let mut children = Vec::new();
    for child in fs::read_dir(dir)? {
        children.push(child?);
        // Bounds the listing of one enormous folder before the walk counts it.
        if children.len() > MAX_VISITED {
            break;
        }
    }
    children.sort_by_cached_key(fs::DirEntry::file_name);
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, bytes).expect("write");
    }

    fn paths(outgoing: &Outgoing) -> Vec<&str> {
        outgoing
            .entries
            .iter()
            .map(|e| e.meta.path.as_str())
            .collect()
    }

    #[test]
    fn a_file_gives_one_entry_named_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("report.pdf");
        write(&file, b"hello");
        let outgoing = scan(&file).expect("scan");
        assert_eq!(outgoing.name, "report.pdf");
        assert_eq!(paths(&outgoing), ["report.pdf"]);
        assert_eq!(outgoing.entries[0].meta.size, 5);
        assert_eq!(outgoing.entries[0].source, file);
        assert_eq!(outgoing.total_bytes(), 5);
        assert!(outgoing.skipped.is_empty());
    }

    #[test]
    fn a_missing_path_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.txt");
        let err = scan(&missing).expect_err("missing");
        assert!(matches!(&err, ScanError::NotFound { path } if *path == missing));
        assert!(err.to_string().contains("nope.txt"), "{err}");
    }

    #[test]
    fn the_same_unchanged_file_keeps_its_key_and_a_change_gives_a_new_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.bin");
        write(&file, b"one");
        let first = scan(&file).expect("scan").entries[0].meta.key;
        assert_eq!(scan(&file).expect("scan").entries[0].meta.key, first);
        write(&file, b"one and more");
        assert_ne!(scan(&file).expect("scan").entries[0].meta.key, first);

        // Each input field matters, and the same relative name elsewhere is a different file.
        let base = resume_key("a", 1, 2, Path::new("/x/a"));
        assert_ne!(resume_key("b", 1, 2, Path::new("/x/a")), base);
        assert_ne!(resume_key("a", 9, 2, Path::new("/x/a")), base);
        assert_ne!(resume_key("a", 1, 3, Path::new("/x/a")), base);
        assert_ne!(resume_key("a", 1, 2, Path::new("/y/a")), base);
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_gives_its_regular_files_and_lists_what_it_skipped() {
        use std::os::unix::net::UnixListener;

        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("share");
        write(&root.join("b.txt"), b"bb");
        write(&root.join("a.txt"), b"a");
        write(&root.join("sub/deeper/c.bin"), &[7; 1000]);
        write(&root.join("sub/d"), b"");
        fs::create_dir_all(root.join("empty")).expect("mkdir");
        let outside = dir.path().join("secret");
        write(&outside, b"not to be sent");
        std::os::unix::fs::symlink(&outside, root.join("link-to-file")).expect("symlink");
        std::os::unix::fs::symlink(dir.path(), root.join("sub/link-to-dir")).expect("symlink");
        let _socket = UnixListener::bind(root.join("sock")).expect("socket");
        // std cannot make a FIFO. Not the mkfifo tool either: a child forked while another test
        // holds a locked partial file keeps the lock until it execs (receive's resume test saw
        // `InUse`).
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        write(&root.join("bad\u{202E}txt.exe"), b"x");
        write(&root.join("trailing."), b"x");

        let outgoing = scan(&root).expect("scan");
        assert_eq!(outgoing.name, "share");
        assert_eq!(
            paths(&outgoing),
            [
                "share/a.txt",
                "share/b.txt",
                "share/sub/d",
                "share/sub/deeper/c.bin"
            ]
        );
        assert_eq!(outgoing.total_bytes(), 1 + 2 + 1000);
        let c = &outgoing.entries[3];
        assert_eq!(c.source, root.join("sub/deeper/c.bin"));
        for entry in &outgoing.entries {
            assert!(validate_relative_path(&entry.meta.path).is_ok());
        }

        let expected = vec![
            ("share/bad\u{FFFD}txt.exe", "InvalidName"),
            ("share/fifo", "Special"),
            ("share/link-to-file", "Symlink"),
            ("share/sock", "Special"),
            ("share/sub/link-to-dir", "Symlink"),
            ("share/trailing.", "InvalidName"),
        ];
        let skipped: Vec<(&str, String)> = outgoing
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), format!("{:?}", s.reason)))
            .collect();
        assert_eq!(skipped.len(), expected.len(), "{skipped:?}");
        for ((path, reason), (want_path, want_reason)) in skipped.iter().zip(&expected) {
            assert_eq!(path, want_path);
            assert!(reason.starts_with(want_reason), "{path}: {reason}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_are_skipped() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;

        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("f");
        fs::create_dir(&root).expect("mkdir");
        let name = OsStr::from_bytes(b"caf\xe9.txt");
        if fs::write(root.join(name), b"x").is_err() {
            // Some file systems (and macOS) refuse such names outright: nothing to test there.
            return;
        }
        write(&root.join("ok.txt"), b"y");
        let outgoing = scan(&root).expect("scan");
        assert_eq!(paths(&outgoing), ["f/ok.txt"]);
        assert_eq!(outgoing.skipped.len(), 1);
        assert_eq!(outgoing.skipped[0].path, "f/caf\u{FFFD}.txt");
        assert_eq!(outgoing.skipped[0].reason, SkipReason::NotUtf8);
    }

    #[test]
    fn too_deep_folders_are_skipped_not_entered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut deep = dir.path().join("top");
        // "top" and 30 more: a file inside is at the maximum depth, a folder inside is entered, and a
        // file inside that is one too deep.
        for _ in 2..crate::MAX_DEPTH {
            deep.push("d");
        }
        write(&deep.join("ok"), b"1");
        write(&deep.join("d/too-deep"), b"2");
        let outgoing = scan(&dir.path().join("top")).expect("scan");
        assert_eq!(outgoing.entries.len(), 1);
        assert!(outgoing.entries[0].meta.path.ends_with("/d/ok"));
        assert_eq!(outgoing.skipped.len(), 1);
        assert!(matches!(
            outgoing.skipped[0].reason,
            SkipReason::InvalidName(PathError::TooDeep { .. })
        ));
    }

    #[test]
    fn more_than_max_entries_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("many");
        fs::create_dir(&root).expect("mkdir");
        for i in 0..=MAX_ENTRIES {
            File::create(root.join(i.to_string())).expect("create");
        }
        assert!(matches!(
            scan(&root),
            Err(ScanError::TooManyFiles { max: MAX_ENTRIES })
        ));
    }

    #[test]
    fn a_top_level_name_that_cannot_be_sent_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("notes.");
        write(&file, b"x");
        assert!(matches!(
            scan(&file),
            Err(ScanError::InvalidName {
                source: PathError::TrailingDotOrSpace { .. },
                ..
            })
        ));
    }
}
