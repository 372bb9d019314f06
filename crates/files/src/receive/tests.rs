use super::*;
use crate::scan::scan;
use crate::send::EntryReader;

const C: u64 = CHUNK_LEN as u64;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

fn meta(path: &str, size: usize, key: u8) -> EntryMeta {
    EntryMeta {
        path: path.into(),
        size: size as u64,
        key: [key; 16],
    }
}

fn hash(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

fn setup() -> (tempfile::TempDir, Downloads) {
    let dir = tempfile::tempdir().expect("tempdir");
    let downloads = Downloads::open(dir.path().join("Tandem")).expect("open");
    (dir, downloads)
}

fn partial_path(downloads: &Downloads, key: u8) -> PathBuf {
    downloads
        .root()
        .join(PARTIAL_DIR)
        .join(format!("{}.part", key_hex(&[key; 16])))
}

/// Sends `data[from..]` in chunk-sized writes.
fn send_rest(incoming: &mut IncomingFile, data: &[u8]) {
    let mut offset = incoming.received();
    while offset < data.len() as u64 {
        let end = (offset + C).min(data.len() as u64);
        incoming
            .write(offset, &data[offset as usize..end as usize])
            .expect("write");
        offset = end;
    }
}

/// Every name under `dir`, relative, sorted; for checking nothing else appeared.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            out.push(
                path.strip_prefix(base)
                    .expect("prefix")
                    .display()
                    .to_string(),
            );
            if fs::symlink_metadata(&path).expect("meta").is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn open_creates_the_folder_and_the_default_is_named_tandem() {
    let (_dir, downloads) = setup();
    assert!(downloads.root().join(PARTIAL_DIR).is_dir());
    assert!(Downloads::default_dir().ends_with("Tandem"));
}

#[test]
fn a_whole_file_arrives_under_its_name_in_new_sub_folders() {
    let (_dir, downloads) = setup();
    let data = pattern(2 * CHUNK_LEN + 17, 1);
    let mut incoming = downloads
        .begin(&meta("share/sub/a.bin", data.len(), 1))
        .expect("begin");
    assert_eq!(incoming.resume_from(), 0);
    assert_eq!(incoming.size(), data.len() as u64);
    send_rest(&mut incoming, &data);
    assert_eq!(incoming.received(), data.len() as u64);
    let final_path = incoming.finish(hash(&data)).expect("finish");
    assert_eq!(final_path, downloads.root().join("share/sub/a.bin"));
    assert_eq!(fs::read(&final_path).expect("read"), data);
    // The partial is gone: only the final file and its folders remain.
    assert_eq!(
        listing(downloads.root()),
        [PARTIAL_DIR, "share", "share/sub", "share/sub/a.bin"]
    );
}

#[test]
fn nothing_appears_under_the_final_name_before_finish() {
    let (_dir, downloads) = setup();
    let data = pattern(CHUNK_LEN + 5, 2);
    let mut incoming = downloads
        .begin(&meta("a.txt", data.len(), 2))
        .expect("begin");
    incoming.write(0, &data[..CHUNK_LEN]).expect("write");
    assert!(!downloads.root().join("a.txt").exists());
    assert_eq!(
        fs::metadata(partial_path(&downloads, 2))
            .expect("partial")
            .len(),
        C
    );
    incoming.write(C, &data[CHUNK_LEN..]).expect("write");
    assert!(!downloads.root().join("a.txt").exists());
    incoming.finish(hash(&data)).expect("finish");
    assert!(downloads.root().join("a.txt").exists());
}

/// (a) A partial of 2.5 chunks resumes from 2 chunks, and the resumed file verifies.
#[test]
fn a_partial_of_two_and_a_half_chunks_resumes_from_two() {
    let (_dir, downloads) = setup();
    let data = pattern(4 * CHUNK_LEN + 100, 3);
    fs::write(
        partial_path(&downloads, 3),
        &data[..2 * CHUNK_LEN + CHUNK_LEN / 2],
    )
    .expect("plant partial");
    // The peek agrees with begin, and changes nothing.
    assert_eq!(
        downloads
            .resume_offset(&meta("big.bin", data.len(), 3))
            .expect("peek"),
        2 * C
    );
    assert_eq!(
        downloads
            .resume_offset(&meta("other.bin", data.len(), 4))
            .expect("peek"),
        0
    );
    assert!(!partial_path(&downloads, 4).exists());
    let mut incoming = downloads
        .begin(&meta("big.bin", data.len(), 3))
        .expect("begin");
    assert_eq!(incoming.resume_from(), 2 * C);
    assert_eq!(incoming.received(), 2 * C);
    assert_eq!(
        fs::metadata(partial_path(&downloads, 3))
            .expect("partial")
            .len(),
        2 * C,
        "the torn half chunk is cut"
    );
    send_rest(&mut incoming, &data);
    let final_path = incoming.finish(hash(&data)).expect("finish");
    assert_eq!(fs::read(final_path).expect("read"), data);
}

/// (b) A partial longer than the announced size is not a prefix of this file: start over.
#[test]
fn a_partial_longer_than_the_size_restarts_from_zero() {
    let (_dir, downloads) = setup();
    let data = pattern(CHUNK_LEN + 10, 4);
    fs::write(partial_path(&downloads, 4), pattern(3 * CHUNK_LEN, 9)).expect("plant");
    let mut incoming = downloads.begin(&meta("f", data.len(), 4)).expect("begin");
    assert_eq!(incoming.resume_from(), 0);
    assert_eq!(
        fs::metadata(partial_path(&downloads, 4))
            .expect("partial")
            .len(),
        0
    );
    send_rest(&mut incoming, &data);
    let final_path = incoming.finish(hash(&data)).expect("finish");
    assert_eq!(fs::read(final_path).expect("read"), data);
}

/// (c) A stale or corrupt prefix is caught at the end: nothing is kept.
#[test]
fn a_wrong_hash_deletes_the_partial_and_creates_no_file() {
    let (_dir, downloads) = setup();
    let data = pattern(2 * CHUNK_LEN + 1, 5);
    // A prefix from an older version of the file.
    fs::write(partial_path(&downloads, 5), pattern(CHUNK_LEN, 99)).expect("plant");
    let mut incoming = downloads
        .begin(&meta("docs/r.txt", data.len(), 5))
        .expect("begin");
    assert_eq!(incoming.resume_from(), C);
    send_rest(&mut incoming, &data);
    let err = incoming.finish(hash(&data)).expect_err("mismatch");
    assert!(matches!(&err, ReceiveError::HashMismatch { path } if path == "docs/r.txt"));
    assert!(err.to_string().contains("send it again"), "{err}");
    assert_eq!(listing(downloads.root()), [PARTIAL_DIR]);
}

#[test]
fn finishing_early_is_a_size_mismatch_and_deletes_the_partial() {
    let (_dir, downloads) = setup();
    let data = pattern(CHUNK_LEN + 1, 6);
    let mut incoming = downloads.begin(&meta("x", data.len(), 6)).expect("begin");
    incoming.write(0, &data[..CHUNK_LEN]).expect("write");
    let err = incoming.finish(hash(&data)).expect_err("short");
    assert!(matches!(
        err,
        ReceiveError::SizeMismatch { expected, got, .. } if expected == C + 1 && got == C
    ));
    assert_eq!(listing(downloads.root()), [PARTIAL_DIR]);
}

/// (d) Never overwrite: the second file of one name gets a number.
#[test]
fn two_files_of_one_name_become_a_and_a_1() {
    let (_dir, downloads) = setup();
    let mut finals = Vec::new();
    for (key, body) in [(7u8, b"first".as_slice()), (8, b"second".as_slice())] {
        let mut incoming = downloads
            .begin(&meta("a.txt", body.len(), key))
            .expect("begin");
        incoming.write(0, body).expect("write");
        finals.push(incoming.finish(hash(body)).expect("finish"));
    }
    assert_eq!(
        finals,
        [
            downloads.root().join("a.txt"),
            downloads.root().join("a (1).txt")
        ]
    );
    assert_eq!(fs::read(&finals[0]).expect("read"), b"first");
    assert_eq!(fs::read(&finals[1]).expect("read"), b"second");
}

#[test]
fn a_file_named_like_an_existing_folder_gets_a_number() {
    let (_dir, downloads) = setup();
    fs::create_dir(downloads.root().join("notes")).expect("mkdir");
    let mut incoming = downloads.begin(&meta("notes", 2, 9)).expect("begin");
    incoming.write(0, b"hi").expect("write");
    let final_path = incoming.finish(hash(b"hi")).expect("finish");
    assert_eq!(final_path, downloads.root().join("notes (1)"));
}

#[test]
fn numbered_names() {
    assert_eq!(numbered_name("a.txt", 0), "a.txt");
    assert_eq!(numbered_name("a.txt", 1), "a (1).txt");
    assert_eq!(numbered_name("archive.tar.gz", 2), "archive.tar (2).gz");
    assert_eq!(numbered_name("README", 3), "README (3)");
    assert_eq!(numbered_name(".bashrc", 1), ".bashrc (1)");
    let long = format!("{}.txt", "é".repeat(125)); // 254 bytes
    let numbered = numbered_name(&long, 12);
    assert!(numbered.len() <= MAX_COMPONENT_LEN, "{}", numbered.len());
    assert!(numbered.ends_with(" (12).txt"));
    let long_extension = format!("a.{}", "x".repeat(250));
    let numbered = numbered_name(&long_extension, 9999);
    assert!(numbered.len() <= MAX_COMPONENT_LEN);
    assert!(numbered.ends_with(" (9999)"));
    // Numbered forms of valid names stay valid.
    for name in ["a.txt", ".bashrc", &long, &long_extension, "x"] {
        for n in [1, 10, 9999] {
            assert!(validate_relative_path(&numbered_name(name, n)).is_ok());
        }
    }
}

/// Where hard links are unsupported, a rename is used, still skipping every taken name
/// (a dangling link included).
#[cfg(unix)]
#[test]
fn without_hard_links_placement_renames_and_still_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partial = dir.path().join("p.part");
    fs::write(&partial, b"new").expect("write");
    fs::write(dir.path().join("a.txt"), b"old").expect("write");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("a (1).txt"))
        .expect("symlink");
    let unsupported = |_: &Path, _: &Path| Err(io::Error::from(io::ErrorKind::Unsupported));
    let placed = place(&partial, dir.path(), "a.txt", unsupported).expect("place");
    assert_eq!(placed, dir.path().join("a (2).txt"));
    assert_eq!(fs::read(&placed).expect("read"), b"new");
    assert_eq!(fs::read(dir.path().join("a.txt")).expect("read"), b"old");
    assert!(!partial.exists());
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn a_name_with_every_number_taken_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let always_taken = |_: &Path, _: &Path| Err(io::Error::from(io::ErrorKind::AlreadyExists));
    let err = place(Path::new("p"), dir.path(), "a.txt", always_taken).expect_err("full");
    assert!(matches!(err, ReceiveError::NoFreeName { max, .. } if max == MAX_NAME_SUFFIX));
}

/// (g) A link planted inside the root is never written through: not at begin, not at finish,
/// not as the final name, not as the partial folder.
#[cfg(unix)]
#[test]
fn planted_symlinks_inside_the_root_are_refused() {
    use std::os::unix::fs::symlink;

    let (dir, downloads) = setup();
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");

    // A folder link present before the transfer starts.
    symlink(&outside, downloads.root().join("docs")).expect("symlink");
    let err = downloads
        .begin(&meta("docs/passwd", 1, 10))
        .expect_err("link");
    assert!(matches!(
        &err,
        ReceiveError::Unsafe { path, kind: UnsafeKind::Symlink } if *path == downloads.root().join("docs")
    ));
    assert!(err.to_string().contains("symbolic link"), "{err}");

    // A deeper link planted while the data was arriving.
    let mut incoming = downloads.begin(&meta("deep/er/x", 1, 11)).expect("begin");
    incoming.write(0, b"x").expect("write");
    fs::create_dir(downloads.root().join("deep")).expect("mkdir");
    symlink(&outside, downloads.root().join("deep/er")).expect("symlink");
    assert!(matches!(
        incoming.finish(hash(b"x")),
        Err(ReceiveError::Unsafe {
            kind: UnsafeKind::Symlink,
            ..
        })
    ));
    assert!(listing(&outside).is_empty(), "nothing written outside");
    assert!(!partial_path(&downloads, 11).exists());

    // A link under the final name, dangling or not, is a taken name, never followed.
    let target = outside.join("target");
    symlink(&target, downloads.root().join("a.txt")).expect("symlink");
    let mut incoming = downloads.begin(&meta("a.txt", 3, 12)).expect("begin");
    incoming.write(0, b"new").expect("write");
    let placed = incoming.finish(hash(b"new")).expect("finish");
    assert_eq!(placed, downloads.root().join("a (1).txt"));
    assert!(!target.exists());

    // The partial folder replaced by a link.
    let partial_dir = downloads.root().join(PARTIAL_DIR);
    fs::remove_dir_all(&partial_dir).expect("rm");
    symlink(&outside, &partial_dir).expect("symlink");
    assert!(matches!(
        downloads.begin(&meta("b.txt", 1, 13)),
        Err(ReceiveError::Unsafe {
            kind: UnsafeKind::Symlink,
            ..
        })
    ));
    assert!(listing(&outside).is_empty(), "nothing written outside");
}

#[test]
fn a_file_where_a_folder_is_needed_is_refused() {
    let (_dir, downloads) = setup();
    fs::write(downloads.root().join("docs"), b"a file").expect("write");
    assert!(matches!(
        downloads.begin(&meta("docs/a.txt", 1, 14)),
        Err(ReceiveError::Unsafe {
            kind: UnsafeKind::NotAFolder,
            ..
        })
    ));
}

#[test]
fn a_partial_that_is_not_a_file_is_refused() {
    let (_dir, downloads) = setup();
    fs::create_dir(partial_path(&downloads, 15)).expect("mkdir");
    assert!(matches!(
        downloads.begin(&meta("a", 1, 15)),
        Err(ReceiveError::Unsafe {
            kind: UnsafeKind::NotAFile,
            ..
        })
    ));
}

#[test]
fn hostile_paths_are_refused_before_anything_is_created() {
    let (_dir, downloads) = setup();
    for path in [
        "../escape",
        "/etc/passwd",
        "a\\..\\b",
        "C:x",
        "CON",
        ".tandem-partial/x.part",
    ] {
        assert!(
            matches!(
                downloads.begin(&meta(path, 1, 16)),
                Err(ReceiveError::Path(_))
            ),
            "{path}"
        );
    }
    assert_eq!(listing(downloads.root()), [PARTIAL_DIR]);
}

#[test]
fn chunks_out_of_order_or_past_the_size_are_refused() {
    let (_dir, downloads) = setup();
    let mut incoming = downloads.begin(&meta("a", 10, 17)).expect("begin");
    assert!(matches!(
        incoming.write(5, b"x"),
        Err(ReceiveError::OutOfOrder {
            expected: 0,
            got: 5
        })
    ));
    incoming.write(0, b"12345").expect("write");
    assert!(matches!(
        incoming.write(0, b"12345"),
        Err(ReceiveError::OutOfOrder {
            expected: 5,
            got: 0
        })
    ));
    assert!(matches!(
        incoming.write(5, b"123456"),
        Err(ReceiveError::TooLong { size: 10, .. })
    ));
    assert_eq!(incoming.received(), 5, "refused chunks change nothing");
    incoming.write(5, b"67890").expect("write");
    let placed = incoming.finish(hash(b"1234567890")).expect("finish");
    assert_eq!(fs::read(placed).expect("read"), b"1234567890");
}

#[test]
fn abandon_deletes_and_keep_for_resume_keeps() {
    let (_dir, downloads) = setup();
    let data = pattern(3 * CHUNK_LEN, 18);
    let mut incoming = downloads.begin(&meta("r", data.len(), 18)).expect("begin");
    incoming.write(0, &data[..CHUNK_LEN]).expect("write");
    incoming
        .write(C, &data[CHUNK_LEN..CHUNK_LEN + 10])
        .expect("write");
    incoming.keep_for_resume();
    assert!(partial_path(&downloads, 18).exists());

    let incoming = downloads.begin(&meta("r", data.len(), 18)).expect("begin");
    assert_eq!(incoming.resume_from(), C);
    incoming.abandon();
    assert!(!partial_path(&downloads, 18).exists());
    assert_eq!(listing(downloads.root()), [PARTIAL_DIR]);
}

#[test]
fn one_key_cannot_be_received_twice_at_once() {
    let (_dir, downloads) = setup();
    let first = downloads.begin(&meta("a", 1, 19)).expect("begin");
    assert!(matches!(
        downloads.begin(&meta("a", 1, 19)),
        Err(ReceiveError::InUse { .. })
    ));
    first.keep_for_resume();
    downloads.begin(&meta("a", 1, 19)).expect("free again");
}

/// (e, across both ends) The sender resumes where the receiver's partial ends; both agree on
/// the whole file's hash.
#[test]
fn sender_and_receiver_resume_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("video.mkv");
    let data = pattern(5 * CHUNK_LEN + 333, 20);
    fs::write(&source, &data).expect("write");
    let offer = scan(&source).expect("scan");
    let entry = &offer.entries[0];
    let downloads = Downloads::open(dir.path().join("in")).expect("open");

    // First attempt: the link drops after two chunks and part of the third.
    let mut incoming = downloads.begin(&entry.meta).expect("begin");
    assert_eq!(incoming.resume_from(), 0);
    let mut reader = EntryReader::open(entry, 0).expect("reader");
    let mut buf = Vec::new();
    for _ in 0..2 {
        let offset = reader.next_chunk(&mut buf).expect("chunk").expect("data");
        incoming.write(offset, &buf).expect("write");
    }
    let offset = reader.next_chunk(&mut buf).expect("chunk").expect("data");
    incoming.write(offset, &buf[..1000]).expect("write");
    drop(reader);
    incoming.keep_for_resume();

    // Second attempt: a fresh scan of the unchanged file gives the same key, so it resumes.
    let offer = scan(&source).expect("scan");
    let entry = &offer.entries[0];
    let mut incoming = downloads.begin(&entry.meta).expect("begin");
    assert_eq!(incoming.resume_from(), 2 * C);
    let mut reader = EntryReader::open(entry, incoming.resume_from()).expect("reader");
    assert_eq!(reader.next_chunk(&mut buf).expect("chunk"), Some(2 * C));
    incoming.write(2 * C, &buf).expect("write");
    while let Some(offset) = reader.next_chunk(&mut buf).expect("chunk") {
        incoming.write(offset, &buf).expect("write");
    }
    let sender_hash = reader.finish().expect("sender hash");
    assert_eq!(sender_hash, hash(&data));
    let placed = incoming.finish(sender_hash).expect("finish");
    assert_eq!(placed, downloads.root().join("video.mkv"));
    assert_eq!(fs::read(placed).expect("read"), data);
}

#[test]
fn a_full_disk_or_quota_is_a_disk_full_error() {
    let path = Path::new("/d/.tandem-partial/k.part");
    let destination = Path::new("/d/movie.mkv");
    let mut full = vec![
        io::Error::from(io::ErrorKind::StorageFull),
        io::Error::from(io::ErrorKind::QuotaExceeded),
    ];
    #[cfg(unix)]
    full.push(io::Error::from_raw_os_error(28)); // ENOSPC
    #[cfg(target_os = "linux")]
    full.push(io::Error::from_raw_os_error(122)); // EDQUOT
    #[cfg(target_os = "macos")]
    full.push(io::Error::from_raw_os_error(69)); // EDQUOT
    for error in full {
        let shown = error.to_string();
        let mapped = io_error("write", path, destination, 3 << 30, error);
        assert!(
            matches!(&mapped, ReceiveError::DiskFull { path, needed } if path == destination && *needed == 3 << 30),
            "{shown}: {mapped:?}"
        );
        let text = mapped.to_string();
        assert!(text.contains("disk is full"), "{text}");
        assert!(text.contains("3.0 GiB"), "{text}");
        assert!(text.contains("movie.mkv"), "{text}");
    }
    let other = io_error(
        "write",
        path,
        destination,
        1,
        io::Error::from(io::ErrorKind::PermissionDenied),
    );
    assert!(matches!(other, ReceiveError::Io { action: "write", path: p, .. } if p == path));
}
