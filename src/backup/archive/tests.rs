use super::*;

fn meta() -> Meta {
    Meta {
        format: FORMAT_VERSION,
        berth: "test".into(),
        created: 1,
        data_dir: "/var/lib/berth".into(),
        apps: vec!["shop".into()],
        with_volumes: false,
    }
}

/// An archive of a small tree: `app/app.toml`, `app/tls/server.key` and a symlink.
fn archive(tmp: &Path) -> Vec<u8> {
    let tree = tmp.join("tree");
    fs::create_dir_all(tree.join("tls")).unwrap();
    fs::write(tree.join("app.toml"), "name = \"shop\"\n").unwrap();
    fs::write(tree.join("tls/server.key"), vec![7u8; 100_000]).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", tree.join("link")).unwrap();
    // Text and noise in many files, as a repository's are: cuts fall inside deflate blocks.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..12 {
        let mut body = format!("file {i}\n").repeat(50).into_bytes();
        for _ in 0..200 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            body.extend_from_slice(&state.to_le_bytes());
        }
        fs::write(tree.join(format!("f{i}")), body).unwrap();
    }
    let mut writer = Writer::new(Vec::new(), &meta()).unwrap();
    writer.add_tree("apps/shop", &tree, &["tls"]).unwrap();
    writer.finish().unwrap()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn an_archive_unpacks_to_the_same_files_without_symlinks() {
    let dir = tmp();
    let bytes = archive(dir.path());
    let staging = dir.path().join("staging");
    fs::create_dir(&staging).unwrap();
    assert_eq!(unpack(bytes.as_slice(), &staging).unwrap(), meta());
    let shop = staging.join("apps/shop");
    assert_eq!(
        fs::read(shop.join("tls/server.key")).unwrap(),
        vec![7u8; 100_000]
    );
    assert_eq!(
        fs::read_to_string(shop.join("app.toml")).unwrap(),
        "name = \"shop\"\n"
    );
    assert!(!shop.join("link").exists());
}

/// A client's stream: the bytes a few at a time.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(1000);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_truncated_archive_is_refused() {
    let dir = tmp();
    let bytes = archive(dir.path());
    // Wherever it is cut, the decompressor's error included ("corrupt deflate stream" when the
    // cut falls inside a block), it reads as cut short.
    for cut in (1..bytes.len()).step_by(251) {
        let staging = dir.path().join(format!("staging-{cut}"));
        fs::create_dir(&staging).unwrap();
        let err = unpack(Trickle(&bytes[..cut]), &staging).unwrap_err();
        assert!(matches!(err, ArchiveError::Truncated(_)), "{cut}: {err}");
    }
}

#[test]
fn a_corrupted_archive_is_refused() {
    let dir = tmp();
    let bytes = archive(dir.path());
    for at in (10..bytes.len()).step_by(509) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x55;
        let staging = dir.path().join(format!("staging-{at}"));
        fs::create_dir(&staging).unwrap();
        let err = unpack(bad.as_slice(), &staging).unwrap_err();
        assert!(!err.to_string().contains('\n'), "{at}: one line, {err}");
    }
}

/// A raw archive: the FORMAT entry `meta`, then `entries`, then a manifest and end that list
/// `listed`.
fn raw(meta: &Meta, entries: &[(&str, &[u8])], listed: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut add = |path: &str, body: &[u8]| {
        // The name is set by hand: the tar crate itself refuses to write a `..`.
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o600);
        header.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        tar.append(&header, body).unwrap();
    };
    add(FORMAT_ENTRY, &serde_json::to_vec(meta).unwrap());
    for (path, body) in entries {
        add(path, body);
    }
    let mut manifest = Vec::new();
    for (path, body) in listed {
        let line = ManifestLine {
            path: path.to_string(),
            size: body.len() as u64,
            sha256: hex(ring::digest::digest(&SHA256, body).as_ref()),
        };
        manifest.extend(serde_json::to_vec(&line).unwrap());
        manifest.push(b'\n');
    }
    add(MANIFEST_ENTRY, &manifest);
    add(
        END_ENTRY,
        hex(ring::digest::digest(&SHA256, &manifest).as_ref()).as_bytes(),
    );
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn an_archive_from_a_newer_berth_is_refused() {
    let dir = tmp();
    let newer = Meta {
        format: FORMAT_VERSION + 1,
        ..meta()
    };
    let err = unpack(raw(&newer, &[], &[]).as_slice(), dir.path()).unwrap_err();
    assert!(matches!(err, ArchiveError::Newer(_)), "{err}");
}

#[test]
fn an_archive_entry_escaping_the_staging_directory_is_refused() {
    let dir = tmp();
    let staging = dir.path().join("staging");
    fs::create_dir(&staging).unwrap();
    for path in ["berth-backup/files/../../escaped", "berth-backup/other"] {
        let body: &[u8] = b"x";
        let bytes = raw(&meta(), &[(path, body)], &[]);
        let err = unpack(bytes.as_slice(), &staging).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt(_)), "{err}");
    }
    assert!(!dir.path().join("escaped").exists());
}

#[test]
fn an_archive_with_a_file_its_manifest_does_not_list_is_refused() {
    let dir = tmp();
    let body: &[u8] = b"x";
    let bytes = raw(&meta(), &[("berth-backup/files/extra", body)], &[]);
    assert!(unpack(bytes.as_slice(), dir.path()).is_err());
    let bytes = raw(&meta(), &[], &[("missing", body)]);
    let err = unpack(bytes.as_slice(), &dir.path().join("other")).unwrap_err();
    assert!(matches!(err, ArchiveError::Truncated(_)), "{err}");
}

#[test]
fn an_archive_whose_file_differs_from_its_manifest_is_refused() {
    let dir = tmp();
    let bytes = raw(
        &meta(),
        &[("berth-backup/files/app.toml", b"tampered")],
        &[("app.toml", b"original")],
    );
    let err = unpack(bytes.as_slice(), dir.path()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt(_)), "{err}");
}

#[test]
fn an_export_never_reads_through_a_link_or_waits_on_a_fifo_an_app_swaps_in() {
    let dir = tmp();
    let storage = dir.path().join("storage");
    fs::create_dir_all(storage.join("sub")).unwrap();
    fs::write(storage.join("sub/kept"), "mine").unwrap();
    fs::write(dir.path().join("secret"), "host only").unwrap();
    std::os::unix::fs::symlink(dir.path(), storage.join("linked-dir")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), storage.join("linked-file")).unwrap();
    let fifo = std::ffi::CString::new(storage.join("fifo").into_os_string().into_encoded_bytes());
    assert_eq!(unsafe { libc::mkfifo(fifo.unwrap().as_ptr(), 0o600) }, 0);
    let read = |rel: &str| {
        open_beneath(&storage, Path::new(rel))
            .unwrap()
            .map(|mut f| {
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                text
            })
    };
    assert_eq!(read("sub/kept").as_deref(), Some("mine"));
    assert_eq!(read("linked-dir/secret"), None);
    assert_eq!(read("linked-file"), None);
    assert_eq!(read("fifo"), None);
    assert_eq!(read("gone"), None);
}
