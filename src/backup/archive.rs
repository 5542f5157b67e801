//! The archive's format, written and read as a stream (bounded memory either way).
//!
//! A gzip-compressed tar whose first entry is `berth-backup/FORMAT` (what wrote it, from where,
//! and which apps), then the files under `berth-backup/files/`, then `berth-backup/MANIFEST`
//! (each file's path, size and SHA-256, one JSON line each) and last `berth-backup/END` (the
//! manifest's SHA-256). A reader unpacks into a staging directory, hashing as it goes, and
//! accepts the archive only when the end is there and every file matches the manifest: a
//! truncated or altered archive is refused before anything is changed.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

/// The format this Berth writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

const FORMAT_ENTRY: &str = "berth-backup/FORMAT";
const MANIFEST_ENTRY: &str = "berth-backup/MANIFEST";
const END_ENTRY: &str = "berth-backup/END";
const FILES: &str = "berth-backup/files/";
/// How large the FORMAT and END entries may be, and the manifest.
const MAX_SMALL: u64 = 64 << 10;
const MAX_MANIFEST: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("The archive is incomplete ({0}); nothing was changed")]
    Truncated(String),
    #[error("The archive is corrupt ({0}); nothing was changed")]
    Corrupt(String),
    #[error("The archive was written by a newer Berth (backup format {0}; this one reads up to {FORMAT_VERSION}); nothing was changed")]
    Newer(u32),
    #[error("cannot write the archive: {0}")]
    Write(std::io::Error),
    #[error("cannot read {path}: {source}")]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the first entry says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    pub berth: String,
    /// Unix seconds.
    pub created: u64,
    /// The data dir it was made from (mounts of its `storage/` are moved to the new one's).
    pub data_dir: PathBuf,
    pub apps: Vec<String>,
    pub with_volumes: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestLine {
    path: String,
    size: u64,
    sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes an archive to `out` as files are added.
pub struct Writer<W: Write> {
    tar: tar::Builder<GzEncoder<W>>,
    manifest: Vec<u8>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, meta: &Meta) -> Result<Writer<W>, ArchiveError> {
        let gz = GzEncoder::new(out, flate2::Compression::fast());
        let mut writer = Writer {
            tar: tar::Builder::new(gz),
            manifest: Vec::new(),
        };
        let body = serde_json::to_vec_pretty(meta).map_err(|e| ArchiveError::Write(e.into()))?;
        writer.raw(FORMAT_ENTRY, 0o600, &body)?;
        Ok(writer)
    }

    fn raw(&mut self, path: &str, mode: u32, body: &[u8]) -> Result<(), ArchiveError> {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        self.tar
            .append_data(&mut header, path, body)
            .map_err(ArchiveError::Write)
    }

    /// Adds the file at `disk` as `files/<name>` (a relative path of normal components); a
    /// `disk` that is not a regular file (or is gone) is left out.
    pub fn add_file(&mut self, name: &str, disk: &Path) -> Result<(), ArchiveError> {
        let (Some(dir), Some(file)) = (disk.parent(), disk.file_name()) else {
            return Ok(());
        };
        self.add_beneath(name, dir, Path::new(file))
    }

    /// Adds `dir/rel` as `files/<name>`, opened without following a link (`open_beneath`).
    fn add_beneath(&mut self, name: &str, dir: &Path, rel: &Path) -> Result<(), ArchiveError> {
        use std::os::unix::fs::PermissionsExt;
        let disk = dir.join(rel);
        let local = |source| ArchiveError::Local {
            path: disk.clone(),
            source,
        };
        let Some(file) = open_beneath(dir, rel).map_err(local)? else {
            return Ok(());
        };
        let meta = file.metadata().map_err(local)?;
        let size = meta.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(meta.permissions().mode() & 0o755 | 0o600);
        header.set_entry_type(tar::EntryType::Regular);
        let mut hashing = Hashing::new(file.take(size));
        self.tar
            .append_data(&mut header, format!("{FILES}{name}"), &mut hashing)
            .map_err(ArchiveError::Write)?;
        if hashing.count != size {
            return Err(local(std::io::Error::other(
                "it shrank while it was being archived",
            )));
        }
        let line = ManifestLine {
            path: name.to_string(),
            size,
            sha256: hex(hashing.context.finish().as_ref()),
        };
        let json = serde_json::to_string(&line).map_err(|e| ArchiveError::Write(e.into()))?;
        self.manifest.extend_from_slice(json.as_bytes());
        self.manifest.push(b'\n');
        Ok(())
    }

    /// Adds every regular file under `dir` as `files/<name>/…`, those whose path relative to
    /// `dir` is in `first` before the rest; symlinks and special files are left out.
    pub fn add_tree(&mut self, name: &str, dir: &Path, first: &[&str]) -> Result<(), ArchiveError> {
        let mut files = Vec::new();
        walk(dir, Path::new(""), &mut files)?;
        let rank = |rel: &PathBuf| !first.iter().any(|f| rel.starts_with(f));
        files.sort_by_key(|rel| rank(rel));
        for rel in files {
            let Some(rel_text) = rel.to_str() else {
                continue;
            };
            self.add_beneath(&format!("{name}/{rel_text}"), dir, &rel)?;
        }
        Ok(())
    }

    /// Writes the manifest and the end, and returns the output.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        let manifest = std::mem::take(&mut self.manifest);
        self.raw(MANIFEST_ENTRY, 0o600, &manifest)?;
        let digest = ring::digest::digest(&SHA256, &manifest);
        self.raw(END_ENTRY, 0o600, hex(digest.as_ref()).as_bytes())?;
        let gz = self.tar.into_inner().map_err(ArchiveError::Write)?;
        gz.finish().map_err(ArchiveError::Write)
    }
}

/// Opens `dir/rel` to read without following a symlink at or below `dir` and without waiting on
/// a FIFO: an app can swap a file or directory of its storage for a link (to `/etc/shadow`, say)
/// between the listing and the read, and the export runs as root. `None` when the path is no
/// longer a regular file reached through directories only.
fn open_beneath(dir: &Path, rel: &Path) -> std::io::Result<Option<fs::File>> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let open = |at: libc::c_int, name: &std::ffi::OsStr, flags: libc::c_int| {
        let name = std::ffi::CString::new(name.as_bytes())?;
        let flags = flags | libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: `name` is NUL-terminated and outlives the call; a descriptor returned is ours.
        match unsafe { libc::openat(at, name.as_ptr(), flags) } {
            fd if fd < 0 => Err(std::io::Error::last_os_error()),
            fd => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        }
    };
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect::<Option<_>>()
        .unwrap_or_default();
    let Some((last, parents)) = parts.split_last() else {
        return Ok(None);
    };
    let moved = |err: std::io::Error| match err.raw_os_error() {
        Some(libc::ELOOP | libc::ENOTDIR | libc::ENOENT) => Ok(None),
        _ => Err(err),
    };
    let mut at = match open(libc::AT_FDCWD, dir.as_os_str(), libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(err) => return moved(err),
    };
    for part in parents {
        at = match open(at.as_raw_fd(), part, libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(err) => return moved(err),
        };
    }
    let file = match open(at.as_raw_fd(), last, libc::O_NONBLOCK) {
        Ok(fd) => fs::File::from(fd),
        Err(err) => return moved(err),
    };
    Ok(file.metadata()?.is_file().then_some(file))
}

/// The regular files under `dir` (relative to it, with `rel` before them), never following a
/// symlink.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), ArchiveError> {
    let here = dir.join(rel);
    let local = |source| ArchiveError::Local {
        path: here.clone(),
        source,
    };
    let mut entries: Vec<_> = fs::read_dir(&here)
        .map_err(local)?
        .collect::<Result<_, _>>()
        .map_err(local)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().map_err(local)?;
        let path = rel.join(entry.file_name());
        if kind.is_dir() {
            walk(dir, &path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    context: Context,
    count: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            context: Context::new(&SHA256),
            count: 0,
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.context.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Reads an archive from `input` into `staging` (an empty directory: its files land in
/// `staging/<name>`), checking it whole. Returns what its first entry says.
pub fn unpack(input: impl Read, staging: &Path) -> Result<Meta, ArchiveError> {
    let ended = Rc::new(Cell::new(false));
    let read_error = |err: std::io::Error| read_error(&ended, err);
    let tracked = Tracked {
        inner: input,
        ended: ended.clone(),
    };
    let mut archive = tar::Archive::new(GzDecoder::new(tracked));
    let entries = archive.entries().map_err(read_error)?;
    let mut meta: Option<Meta> = None;
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut manifest: Option<Vec<u8>> = None;
    let mut end: Option<Vec<u8>> = None;
    for entry in entries {
        let mut entry = entry.map_err(read_error)?;
        if end.is_some() {
            return Err(ArchiveError::Corrupt("an entry follows its end".into()));
        }
        let path = entry
            .path()
            .map_err(read_error)?
            .to_string_lossy()
            .into_owned();
        if meta.is_none() && path != FORMAT_ENTRY {
            return Err(ArchiveError::Corrupt(
                "it does not start as a Berth backup".into(),
            ));
        }
        match path.as_str() {
            FORMAT_ENTRY if meta.is_none() => {
                let body = small(&mut entry, MAX_SMALL, &read_error)?;
                let found: Meta = serde_json::from_slice(&body)
                    .map_err(|e| ArchiveError::Corrupt(format!("its FORMAT entry: {e}")))?;
                if found.format > FORMAT_VERSION {
                    return Err(ArchiveError::Newer(found.format));
                }
                meta = Some(found);
            }
            MANIFEST_ENTRY if manifest.is_none() => {
                manifest = Some(small(&mut entry, MAX_MANIFEST, &read_error)?);
            }
            END_ENTRY => end = Some(small(&mut entry, MAX_SMALL, &read_error)?),
            _ => {
                let Some(name) = path.strip_prefix(FILES).filter(|n| safe_name(n)) else {
                    return Err(ArchiveError::Corrupt(format!(
                        "it holds an unexpected entry {}",
                        crate::names::shown(&path)
                    )));
                };
                if entry.header().entry_type() != tar::EntryType::Regular {
                    return Err(ArchiveError::Corrupt(format!("{name} is not a file")));
                }
                if seen.contains_key(name) {
                    return Err(ArchiveError::Corrupt(format!("{name} is in it twice")));
                }
                let mode = entry.header().mode().unwrap_or(0o600) & 0o755 | 0o600;
                let declared = entry.header().size().map_err(read_error)?;
                let (size, sha) = unpack_file(&mut entry, &staging.join(name), mode, &read_error)?;
                if size != declared {
                    return Err(ArchiveError::Truncated("it ends in the middle".into()));
                }
                seen.insert(name.to_string(), (size, sha));
            }
        }
    }
    let (Some(meta), Some(manifest), Some(end)) = (meta, manifest, end) else {
        return Err(ArchiveError::Truncated(
            "it ends before its manifest".into(),
        ));
    };
    if hex(ring::digest::digest(&SHA256, &manifest).as_ref()).as_bytes() != end.as_slice() {
        return Err(ArchiveError::Corrupt(
            "its manifest does not match its checksum".into(),
        ));
    }
    let mut listed = 0;
    for line in manifest.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let line: ManifestLine = serde_json::from_slice(line)
            .map_err(|e| ArchiveError::Corrupt(format!("its manifest: {e}")))?;
        match seen.get(&line.path) {
            Some((size, sha)) if *size == line.size && *sha == line.sha256 => listed += 1,
            Some(_) => {
                return Err(ArchiveError::Corrupt(format!(
                    "{} does not match its checksum",
                    line.path
                )))
            }
            None => {
                return Err(ArchiveError::Truncated(format!("{} is missing", line.path)));
            }
        }
    }
    if listed != seen.len() {
        return Err(ArchiveError::Corrupt(
            "it holds files its manifest does not list".into(),
        ));
    }
    Ok(meta)
}

/// The client's stream, noting when it has ended.
struct Tracked<R> {
    inner: R,
    ended: Rc<Cell<bool>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended.set(true);
        }
        Ok(n)
    }
}

/// Why reading the archive failed: the stream ended before the archive did (whatever the
/// decompressor makes of a cut-off stream), or it is not what it should be.
fn read_error(ended: &Cell<bool>, err: std::io::Error) -> ArchiveError {
    if ended.get() || err.kind() == std::io::ErrorKind::UnexpectedEof {
        ArchiveError::Truncated("it ends in the middle".into())
    } else {
        // What a damaged header makes the tar reader say may hold anything, line breaks too.
        ArchiveError::Corrupt(crate::names::shown(&err.to_string()))
    }
}

fn small(
    entry: &mut impl Read,
    limit: u64,
    read_error: &dyn Fn(std::io::Error) -> ArchiveError,
) -> Result<Vec<u8>, ArchiveError> {
    let mut body = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(read_error)?;
    if body.len() as u64 > limit {
        return Err(ArchiveError::Corrupt("an entry is too large".into()));
    }
    Ok(body)
}

/// A relative path of normal components only, each valid UTF-8 without control characters.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.chars().any(char::is_control)
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Writes one file into the staging directory (which holds only what this reader made, so no
/// symlink is followed), hashing it on the way.
fn unpack_file(
    entry: &mut impl Read,
    to: &Path,
    mode: u32,
    read_error: &dyn Fn(std::io::Error) -> ArchiveError,
) -> Result<(u64, String), ArchiveError> {
    use std::os::unix::fs::OpenOptionsExt;
    let local = |source| ArchiveError::Local {
        path: to.to_path_buf(),
        source,
    };
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(local)?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)
        .map_err(local)?;
    let mut hashing = Hashing::new(entry);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match hashing.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(read_error(err)),
        };
        file.write_all(&buf[..n]).map_err(local)?;
    }
    Ok((hashing.count, hex(hashing.context.finish().as_ref())))
}

#[cfg(test)]
mod tests;
