//! Receiving entries into the download folder: partial files, resume, verification and placement
//! that never leaves the folder and never overwrites.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::path::{PathError, validate_relative_path};
use crate::{CHUNK_LEN, EntryMeta, MAX_COMPONENT_LEN, PARTIAL_DIR, human_bytes, key_hex};

/// How many numbered names (`name (1).ext` …) placement tries before giving up.
const MAX_NAME_SUFFIX: u32 = 9999;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReceiveError {
    #[error("the sender offered a file name that is not safe to save: {0}")]
    Path(#[from] PathError),
    #[error(
        "the disk is full: {} more are needed to save {path}; free some space, then send the file again",
        human_bytes(*.needed)
    )]
    DiskFull { path: PathBuf, needed: u64 },
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "{path} arrived damaged (its checksum does not match the sender's) and was deleted; send it again"
    )]
    HashMismatch { path: String },
    #[error(
        "{path} is incomplete: {got} of its {expected} bytes arrived, and the partial copy was deleted; send it again"
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        got: u64,
    },
    #[error(
        "the sender sent data at byte {got} where byte {expected} was due; the transfer was stopped"
    )]
    OutOfOrder { expected: u64, got: u64 },
    #[error(
        "the sender sent more than the {size} bytes it announced for {path}; the transfer was stopped"
    )]
    TooLong { path: String, size: u64 },
    #[error(
        "refusing to save through {path}: it is {kind}; move it out of the download folder and try again"
    )]
    Unsafe { path: PathBuf, kind: UnsafeKind },
    #[error("{path} is already being received by another transfer")]
    InUse { path: String },
    #[error("there are already {max} files named like {path}; rename some, then send it again")]
    NoFreeName { path: String, max: u32 },
}

/// What made a path inside the download folder unsafe to write through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeKind {
    /// It could point anywhere (`docs -> /etc`), so nothing is created through it.
    Symlink,
    /// A folder was needed there.
    NotAFolder,
    /// A regular file was needed there (a partial file that is something else).
    NotAFile,
}

impl std::fmt::Display for UnsafeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnsafeKind::Symlink => "a symbolic link",
            UnsafeKind::NotAFolder => "not a folder",
            UnsafeKind::NotAFile => "not a regular file",
        })
    }
}

/// The folder received files go to, and the partial files inside it.
#[derive(Debug, Clone)]
pub struct Downloads {
    root: PathBuf,
}

impl Downloads {
    /// The platform's Downloads folder (else `$HOME/Downloads`, else the current folder) joined
    /// with "Tandem", so received files are easy to find and never mixed into the user's own.
    pub fn default_dir() -> PathBuf {
        dirs::download_dir()
            .or_else(|| dirs::home_dir().map(|home| home.join("Downloads")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("Tandem")
    }

    /// Uses `root` as the download folder, creating it and its partial-file folder if needed.
    ///
    /// `root` itself may be a symbolic link: it is the user's choice. Links *inside* it are never
    /// followed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ReceiveError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|source| ReceiveError::Io {
            action: "create the download folder",
            path: root.clone(),
            source,
        })?;
        let downloads = Downloads { root };
        downloads.partial_dir()?;
        Ok(downloads)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts (or resumes) receiving one entry.
    ///
    /// Validates the path, checks that the folders it names that already exist are real folders
    /// (so a transfer that would be refused at the end is refused before any data moves), then
    /// opens the partial file `<root>/.tandem-partial/<hex key>.part` and locks it against a second
    /// transfer of the same key. If the partial file exists with a length at most `meta.size`,
    /// receiving resumes from that length rounded down to a multiple of [`CHUNK_LEN`] (the tail
    /// past it is cut, since a torn write may have left it half-written) and the kept prefix is
    /// re-hashed; otherwise it starts from 0 with an empty file.
    pub fn begin(&self, meta: &EntryMeta) -> Result<IncomingFile, ReceiveError> {
        let components = validate_relative_path(&meta.path)?;
        let folders = &components[..components.len() - 1];
        secure_folders(&self.root, folders, false)?;

        let partial = self
            .partial_dir()?
            .join(format!("{}.part", key_hex(&meta.key)));
        let destination = self.root.join(&meta.path);
        let io_err = |action, source| io_error(action, &partial, &destination, meta.size, source);
        match fs::symlink_metadata(&partial) {
            Ok(existing) if !existing.is_file() => {
                return Err(unsafe_error(
                    partial.clone(),
                    &existing,
                    UnsafeKind::NotAFile,
                ));
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_err("check the partial file", error)),
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&partial)
            .map_err(|error| io_err("create the partial file", error))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(ReceiveError::InUse {
                    path: meta.path.clone(),
                });
            }
            // Some file systems (network mounts) have no locks; receiving still works there, only
            // without the guard against two transfers of one key at once.
            Err(TryLockError::Error(error)) if error.kind() == io::ErrorKind::Unsupported => {}
            Err(TryLockError::Error(error)) => {
                return Err(io_err("lock the partial file", error));
            }
        }

        let existing = file
            .metadata()
            .map_err(|error| io_err("check the partial file", error))?
            .len();
        let resume_from = if existing <= meta.size {
            existing - existing % CHUNK_LEN as u64
        } else {
            0
        };
        if existing != resume_from {
            file.set_len(resume_from)
                .map_err(|error| io_err("cut the partial file", error))?;
        }
        let hasher = hash_prefix(&mut file, resume_from)
            .map_err(|error| io_err("read the partial file", error))?;
        tracing::debug!(
            path = %meta.path,
            size = meta.size,
            resume_from,
            "receiving"
        );
        Ok(IncomingFile {
            file,
            partial,
            root: self.root.clone(),
            path: meta.path.clone(),
            size: meta.size,
            resume_from,
            received: resume_from,
            hasher,
        })
    }

    /// The partial-file folder, created if missing (the user may have deleted it), and refused if
    /// something planted a link or a file in its place.
    /// Where [`begin`](Self::begin) would resume `meta` from, without creating or changing anything:
    /// what a receiver answers an offer with before any data arrives. The path is validated as by
    /// `begin`.
    pub fn resume_offset(&self, meta: &EntryMeta) -> Result<u64, ReceiveError> {
        validate_relative_path(&meta.path)?;
        let partial = self
            .root
            .join(PARTIAL_DIR)
            .join(format!("{}.part", key_hex(&meta.key)));
        match fs::symlink_metadata(&partial) {
            Ok(existing) if existing.is_file() && existing.len() <= meta.size => {
                Ok(existing.len() - existing.len() % CHUNK_LEN as u64)
            }
            // Not a file (begin refuses it), or longer than the file: starts over.
            Ok(_) => Ok(0),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(io_error(
                "check the partial file",
                &partial,
                &self.root.join(&meta.path),
                meta.size,
                error,
            )),
        }
    }

    fn partial_dir(&self) -> Result<PathBuf, ReceiveError> {
        secure_folders(&self.root, &[PARTIAL_DIR], true)
    }
}

/// One entry being received. Dropping it without [`finish`](Self::finish) or
/// [`abandon`](Self::abandon) keeps the partial file, like [`keep_for_resume`](Self::keep_for_resume).
#[derive(Debug)]
pub struct IncomingFile {
    file: File,
    partial: PathBuf,
    root: PathBuf,
    /// The validated relative path.
    path: String,
    size: u64,
    resume_from: u64,
    received: u64,
    /// Over `[0, received)`.
    hasher: blake3::Hasher,
}

impl IncomingFile {
    /// Where the sender must start: a multiple of [`CHUNK_LEN`], at most the size.
    pub fn resume_from(&self) -> u64 {
        self.resume_from
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk to the partial file. `offset` must equal [`received`](Self::received), and
    /// the data must not go past the announced size.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), ReceiveError> {
        if offset != self.received {
            return Err(ReceiveError::OutOfOrder {
                expected: self.received,
                got: offset,
            });
        }
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|end| *end <= self.size)
            .ok_or_else(|| ReceiveError::TooLong {
                path: self.path.clone(),
                size: self.size,
            })?;
        // Seeking every time makes the file position follow `received` even after a failed write
        // that wrote part of its data.
        let result = self
            .file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(data));
        if let Err(error) = result {
            return Err(self.io_error("write", self.size - offset, error));
        }
        self.hasher.update(data);
        self.received = end;
        tracing::trace!(offset, len = data.len(), "wrote chunk");
        Ok(())
    }

    /// All bytes arrived: checks the length and the hash, syncs the data to disk, then gives the
    /// file its final place under the root (creating sub-folders, never through a link) without
    /// overwriting anything: `name.ext`, else `name (1).ext`, `name (2).ext`, …
    ///
    /// Returns the final path. On any error the partial file is deleted and no final file exists.
    pub fn finish(self, expected_blake3: [u8; 32]) -> Result<PathBuf, ReceiveError> {
        let IncomingFile {
            file,
            partial,
            root,
            path,
            size,
            resume_from,
            received,
            hasher,
        } = self;
        let result = (|| {
            if received != size {
                return Err(ReceiveError::SizeMismatch {
                    path: path.clone(),
                    expected: size,
                    got: received,
                });
            }
            if *hasher.finalize().as_bytes() != expected_blake3 {
                return Err(ReceiveError::HashMismatch { path: path.clone() });
            }
            // On disk before the final name exists, so even a crash cannot leave a truncated file
            // under it.
            file.sync_all().map_err(|error| {
                io_error(
                    "save",
                    &partial,
                    &root.join(&path),
                    size - resume_from,
                    error,
                )
            })?;
            let components: Vec<&str> = path.split('/').collect();
            let (name, folders) = components
                .split_last()
                .ok_or(ReceiveError::Path(PathError::Empty))?;
            let parent = secure_folders(&root, folders, true)?;
            place(&partial, &parent, name, |from, to| fs::hard_link(from, to))
        })();
        // The lock is held until here, so no second transfer of the key opens the partial file
        // while it is being placed.
        drop(file);
        remove_partial(&partial);
        match &result {
            Ok(final_path) => {
                tracing::info!(path = %final_path.display(), size, "received");
            }
            Err(error) => tracing::warn!(path = %path, %error, "receiving failed"),
        }
        result
    }

    /// Cancelled or failed for good: deletes the partial file.
    pub fn abandon(self) {
        let IncomingFile {
            file,
            partial,
            path,
            ..
        } = self;
        drop(file);
        remove_partial(&partial);
        tracing::debug!(path = %path, "abandoned");
    }

    /// The link dropped: keeps the partial file so a later offer of the same entry resumes.
    pub fn keep_for_resume(self) {
        tracing::debug!(path = %self.path, received = self.received, "kept for resume");
    }

    fn io_error(&self, action: &'static str, needed: u64, source: io::Error) -> ReceiveError {
        io_error(
            action,
            &self.partial,
            &self.root.join(&self.path),
            needed,
            source,
        )
    }
}

/// Walks `folders` under `root`, each existing one of which must be a real folder: a symbolic
/// link (`docs -> /etc`) or anything else is [`ReceiveError::Unsafe`]. With `create`, missing
/// folders are created; without, the walk stops at the first missing one. Returns the last path.
///
/// This checks what exists when it runs; a local process racing to swap a folder for a link
/// in between is beyond what std's path-based calls can prevent (that needs `openat` with
/// `O_NOFOLLOW`), and such a process can already write in the folder anyway.
fn secure_folders(root: &Path, folders: &[&str], create: bool) -> Result<PathBuf, ReceiveError> {
    let mut path = root.to_path_buf();
    for folder in folders {
        path.push(folder);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_dir() => continue,
            Ok(metadata) => return Err(unsafe_error(path, &metadata, UnsafeKind::NotAFolder)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(ReceiveError::Io {
                    action: "check the folder",
                    path,
                    source: error,
                });
            }
        }
        if !create {
            break;
        }
        match fs::create_dir(&path) {
            Ok(()) => {}
            // Created meanwhile by someone else: it must pass the same check.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                match fs::symlink_metadata(&path) {
                    Ok(metadata) if metadata.is_dir() => {}
                    Ok(metadata) => {
                        return Err(unsafe_error(path, &metadata, UnsafeKind::NotAFolder));
                    }
                    Err(source) => {
                        return Err(ReceiveError::Io {
                            action: "check the folder",
                            path,
                            source,
                        });
                    }
                }
            }
            Err(error) => {
                let destination = path.clone();
                return Err(io_error("create the folder", &path, &destination, 0, error));
            }
        }
    }
    Ok(path)
}

/// `otherwise` is what was wanted there, for anything that is not a link.
fn unsafe_error(path: PathBuf, metadata: &fs::Metadata, otherwise: UnsafeKind) -> ReceiveError {
    let kind = if metadata.file_type().is_symlink() {
        UnsafeKind::Symlink
    } else {
        otherwise
    };
    ReceiveError::Unsafe { path, kind }
}

/// Gives the verified partial file a final name in `parent` that did not exist: `link` (a hard
/// link in real use) fails with `AlreadyExists` instead of replacing a file, so even a file
/// appearing at the same moment is never overwritten; that name is then skipped for the next
/// numbered one. Where hard links are unsupported (FAT, some network shares) it falls back to a
/// rename right after checking the name is free. The caller removes the partial file.
fn place(
    partial: &Path,
    parent: &Path,
    name: &str,
    link: impl Fn(&Path, &Path) -> io::Result<()>,
) -> Result<PathBuf, ReceiveError> {
    for n in 0..=MAX_NAME_SUFFIX {
        let candidate = parent.join(numbered_name(name, n));
        match link(partial, &candidate) {
            Ok(()) => {
                sync_folder(parent);
                return Ok(candidate);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) if hard_links_unsupported(&error) => {
                // symlink_metadata so a dangling link counts as taken too.
                match fs::symlink_metadata(&candidate) {
                    Ok(_) => continue,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(ReceiveError::Io {
                            action: "check",
                            path: candidate,
                            source,
                        });
                    }
                }
                fs::rename(partial, &candidate).map_err(|source| ReceiveError::Io {
                    action: "save",
                    path: candidate.clone(),
                    source,
                })?;
                sync_folder(parent);
                return Ok(candidate);
            }
            Err(source) => {
                return Err(ReceiveError::Io {
                    action: "save",
                    path: candidate,
                    source,
                });
            }
        }
    }
    Err(ReceiveError::NoFreeName {
        path: parent.join(name).display().to_string(),
        max: MAX_NAME_SUFFIX,
    })
}

/// `name.ext` → `name (n).ext` (`n` = 0 is the name itself), cutting the stem so the result
/// stays within [`MAX_COMPONENT_LEN`] bytes. A leading dot is not an extension: `.bashrc (1)`.
fn numbered_name(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let suffix = format!(" ({n})");
    let (mut stem, mut extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    if extension.len() + suffix.len() >= MAX_COMPONENT_LEN {
        (stem, extension) = (name, "");
    }
    let room = MAX_COMPONENT_LEN - suffix.len() - extension.len();
    if stem.len() > room {
        let mut cut = room;
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem = &stem[..cut];
    }
    format!("{stem}{suffix}{extension}")
}

fn hard_links_unsupported(error: &io::Error) -> bool {
    // FAT and exFAT answer link() with EPERM, which std reports as PermissionDenied; if the folder
    // is really not writable, the rename fails too and reports it.
    if matches!(
        error.kind(),
        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
    ) {
        return true;
    }
    #[cfg(target_os = "linux")]
    const EOPNOTSUPP: &[i32] = &[95];
    #[cfg(target_os = "macos")]
    const EOPNOTSUPP: &[i32] = &[45, 102];
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    const EOPNOTSUPP: &[i32] = &[];
    error
        .raw_os_error()
        .is_some_and(|code| EOPNOTSUPP.contains(&code))
}

/// Makes the new directory entry durable too. Best effort: not every platform can open a folder
/// as a file, and the data itself is already synced.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(folder) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

fn remove_partial(partial: &Path) {
    match fs::remove_file(partial) {
        Ok(()) => {}
        // Already moved (the rename fallback) or removed.
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            tracing::warn!(path = %partial.display(), %error, "could not delete a partial file");
        }
    }
}

/// Hashes the first `len` bytes of `file`, one chunk at a time, and leaves the position after them.
fn hash_prefix(file: &mut File, len: u64) -> io::Result<blake3::Hasher> {
    let mut hasher = blake3::Hasher::new();
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; CHUNK_LEN];
    let mut left = len;
    while left > 0 {
        let want = left.min(CHUNK_LEN as u64) as usize;
        file.read_exact(&mut buf[..want])?;
        hasher.update(&buf[..want]);
        left -= want as u64;
    }
    Ok(hasher)
}

/// Whether an I/O error means the disk (or the user's quota on it) is full.
fn is_disk_full(error: &io::Error) -> bool {
    if matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) {
        return true;
    }
    // By number as well, for errors built from a raw code std does not classify on this platform.
    #[cfg(target_os = "linux")]
    const CODES: &[i32] = &[28, 122]; // ENOSPC, EDQUOT
    #[cfg(target_os = "macos")]
    const CODES: &[i32] = &[28, 69]; // ENOSPC, EDQUOT
    #[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
    const CODES: &[i32] = &[28]; // ENOSPC
    #[cfg(not(unix))]
    const CODES: &[i32] = &[];
    error
        .raw_os_error()
        .is_some_and(|code| CODES.contains(&code))
}

/// An I/O error as the user should see it: a full disk says so and how much room the file needs
/// (`needed`), naming where it was going (`destination`); anything else names the file acted on.
fn io_error(
    action: &'static str,
    path: &Path,
    destination: &Path,
    needed: u64,
    source: io::Error,
) -> ReceiveError {
    if is_disk_full(&source) {
        ReceiveError::DiskFull {
            path: destination.to_owned(),
            needed,
        }
    } else {
        ReceiveError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
