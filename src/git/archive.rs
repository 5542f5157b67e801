//! `git:from-archive`: an app's code as a tar, tar.gz or zip, committed to the app's repository
//! on its deploy branch, so it deploys, rebuilds and clones like a push.
//!
//! The commit is written first and the branch moved only after the deploy succeeded
//! (`advance_branch`), as a push's refs move only when its hook succeeds.

use std::io::Read;
use std::path::Path;

use git2::{Oid, Repository};

use super::{GitError, SourceSpec};

/// An archive larger than this, unpacked, is refused.
/// More files than this are refused.
const MAX_FILES: usize = 100_000;

/// What `--archive-type` names; `None` means: look at the bytes (gzip's and zip's magic
/// numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveType {
    Tar,
    TarGz,
    Zip,
}

impl ArchiveType {
    pub fn parse(raw: &str) -> Option<ArchiveType> {
        match raw {
            "tar" => Some(ArchiveType::Tar),
            "tar.gz" | "tgz" => Some(ArchiveType::TarGz),
            "zip" => Some(ArchiveType::Zip),
            _ => None,
        }
    }

    fn detect(bytes: &[u8]) -> ArchiveType {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            ArchiveType::TarGz
        } else if bytes.starts_with(b"PK\x03\x04") {
            ArchiveType::Zip
        } else {
            ArchiveType::Tar
        }
    }
}

/// Who the archive's commit names as author and committer.
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// A commit made from an archive (or fetched by `git:sync`), not yet on its branch.
#[derive(Debug, Clone)]
pub struct ArchiveCommit {
    pub rev: String,
    /// The branch it goes on (`refs/heads/…`).
    pub branch: String,
    /// The branch's head when the commit was made, if the branch existed.
    pub parent: Option<String>,
}

/// One file of the archive, already in the object database: its path in the tree, git mode,
/// blob and size.
struct File {
    path: String,
    mode: u32,
    id: Oid,
    size: u64,
}

/// Commits the archive's files (a single top-level directory, as GitHub's archives have, is
/// taken as the top) on top of the deploy branch's head; the branch itself does not move.
pub fn commit_archive(
    repo: &Path,
    archive: &[u8],
    kind: Option<ArchiveType>,
    spec: &SourceSpec,
    author: &Author,
) -> Result<ArchiveCommit, GitError> {
    let repository = Repository::open_bare(repo)?;
    let max = spec.max_context;
    let files = match kind.unwrap_or_else(|| ArchiveType::detect(archive)) {
        ArchiveType::Tar => read_tar(&repository, archive, max)?,
        ArchiveType::TarGz => read_tar(&repository, flate2::read::GzDecoder::new(archive), max)?,
        ArchiveType::Zip => read_zip(&repository, archive, max)?,
    };
    let files = without_common_top(files);
    if files.is_empty() {
        return Err(GitError::Archive("the archive holds no files".into()));
    }
    let mut index = git2::Index::new()?;
    for file in &files {
        index.add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: file.mode,
            uid: 0,
            gid: 0,
            file_size: u32::try_from(file.size).unwrap_or(u32::MAX),
            id: file.id,
            flags: 0,
            flags_extended: 0,
            path: file.path.as_bytes().to_vec(),
        })?;
    }
    let tree = repository.find_tree(index.write_tree_to(&repository)?)?;
    let refs = spec.branch.refs();
    let existing = refs.iter().find_map(|name| {
        repository
            .find_reference(name)
            .ok()?
            .target()
            .map(|oid| (name, oid))
    });
    let (branch, parent) = match existing {
        Some((name, oid)) => (name.clone(), Some(repository.find_commit(oid)?)),
        None => (refs[0].clone(), None),
    };
    let signature = git2::Signature::now(&author.name, &author.email)?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let oid = repository.commit(
        None,
        &signature,
        &signature,
        "Deploy from an archive (git:from-archive)",
        &tree,
        &parents,
    )?;
    Ok(ArchiveCommit {
        rev: oid.to_string(),
        branch,
        parent: parent.map(|p| p.id().to_string()),
    })
}

/// Moves the branch to the deployed commit, unless something else moved it since the commit was
/// made (a push that deployed meanwhile wins; its code is what runs).
pub fn advance_branch(
    repo: &Path,
    commit: &ArchiveCommit,
    message: &str,
) -> Result<bool, GitError> {
    let repository = Repository::open_bare(repo)?;
    let target = Oid::from_str(&commit.rev)?;
    let current = repository
        .find_reference(&commit.branch)
        .ok()
        .and_then(|r| r.target())
        .map(|oid| oid.to_string());
    if current != commit.parent {
        return Ok(false);
    }
    match current {
        Some(current) => {
            repository.reference_matching(
                &commit.branch,
                target,
                true,
                Oid::from_str(&current)?,
                message,
            )?;
        }
        None => {
            repository.reference(&commit.branch, target, false, message)?;
        }
    }
    Ok(true)
}

/// An archive that unpacks to more than `max` (a lower bound of its size, `so_far`).
fn too_large(so_far: u64, max: u64) -> GitError {
    GitError::TooLarge {
        what: "Unpacked, the archive".to_string(),
        size: so_far,
        max,
    }
}

/// Writes one file's `size` bytes into the object database as they are read (a loose object
/// streams to disk), so an archive's files are never held in memory. Fewer bytes than `size`
/// fail.
fn write_blob(
    odb: &git2::Odb<'_>,
    size: u64,
    content: impl Read,
    bad: impl Fn(std::io::Error) -> GitError,
) -> Result<Oid, GitError> {
    let length =
        usize::try_from(size).map_err(|_| GitError::Archive("a file is too large".into()))?;
    let mut writer = odb.writer(length, git2::ObjectType::Blob)?;
    let copied = std::io::copy(&mut content.take(size), &mut writer).map_err(&bad)?;
    if copied != size {
        return Err(bad(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(writer.finalize()?)
}

fn read_tar(repository: &Repository, source: impl Read, max: u64) -> Result<Vec<File>, GitError> {
    let bad = |err: std::io::Error| GitError::Archive(format!("cannot read it as a tar: {err}"));
    let odb = repository.odb()?;
    let mut archive = tar::Archive::new(source);
    let mut files = Vec::new();
    let mut unpacked = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw_path = entry.path().map_err(bad)?.into_owned();
        let kind = entry.header().entry_type();
        let (mode, id, size) = if kind.is_file() {
            let executable = entry.header().mode().unwrap_or(0) & 0o111 != 0;
            let size = entry.size();
            unpacked += size;
            if unpacked > max {
                return Err(too_large(unpacked, max));
            }
            let id = write_blob(&odb, size, &mut entry, bad)?;
            (if executable { 0o100755 } else { 0o100644 }, id, size)
        } else if kind.is_symlink() {
            let target = entry.link_name().map_err(bad)?.unwrap_or_default();
            let target = target.to_string_lossy().into_owned();
            let id = repository.blob(target.as_bytes())?;
            (0o120000, id, target.len() as u64)
        } else {
            // Directories are implied by their files; devices, fifos and hard links have no
            // place in a repository.
            continue;
        };
        files.push(File {
            path: tree_path(&raw_path)?,
            mode,
            id,
            size,
        });
        if files.len() > MAX_FILES {
            return Err(GitError::Archive(format!(
                "it holds more than {MAX_FILES} files"
            )));
        }
    }
    Ok(files)
}

fn read_zip(repository: &Repository, bytes: &[u8], max: u64) -> Result<Vec<File>, GitError> {
    let bad =
        |err: zip::result::ZipError| GitError::Archive(format!("cannot read it as a zip: {err}"));
    let odb = repository.odb()?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    if archive.len() > MAX_FILES {
        return Err(GitError::Archive(format!(
            "it holds more than {MAX_FILES} files"
        )));
    }
    let mut files = Vec::new();
    let mut unpacked = 0u64;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let mode = match (
            entry.is_symlink(),
            entry.unix_mode().unwrap_or(0) & 0o111 != 0,
        ) {
            (true, _) => 0o120000,
            (false, true) => 0o100755,
            (false, false) => 0o100644,
        };
        let path = tree_path(Path::new(entry.name()))?;
        // The declared size; the zip reader fails an entry whose data does not match it.
        let size = entry.size();
        unpacked += size;
        if unpacked > max {
            return Err(too_large(unpacked, max));
        }
        let id = write_blob(&odb, size, entry, |err| {
            GitError::Archive(format!("cannot read it as a zip: {err}"))
        })?;
        files.push(File {
            path,
            mode,
            id,
            size,
        });
    }
    Ok(files)
}

/// A path inside the tree: relative, without `..`, and not inside a `.git` directory.
fn tree_path(raw: &Path) -> Result<String, GitError> {
    crate::names::contained_path(raw)
        .filter(|path| !path.split('/').any(|part| part == ".git"))
        .ok_or_else(|| {
            GitError::Archive(format!(
                "it holds a path Berth will not write: {}",
                crate::names::shown(&raw.to_string_lossy())
            ))
        })
}

/// Drops a directory every file sits in (`shop-1a2b3c4/…`).
fn without_common_top(mut files: Vec<File>) -> Vec<File> {
    let top = |path: &str| path.split_once('/').map(|(top, _)| top.to_string());
    let Some(first) = files.first().and_then(|f| top(&f.path)) else {
        return files;
    };
    if files
        .iter()
        .all(|f| top(&f.path).as_deref() == Some(first.as_str()))
    {
        for file in &mut files {
            file.path = file.path[first.len() + 1..].to_string();
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::DeployBranch;

    fn tar_of(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data, mode) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(*mode);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn spec() -> SourceSpec {
        let none = crate::state::GitSettings::default();
        SourceSpec {
            branch: DeployBranch::of(&none, &none),
            build_dir: None,
            dockerfile: "Dockerfile".into(),
            procfile: "Procfile".into(),
            max_context: 1 << 30,
            contexts: std::env::temp_dir().join("berth-test-contexts"),
        }
    }

    fn author() -> Author {
        Author {
            name: "Berth".into(),
            email: "berth@localhost".into(),
        }
    }

    #[test]
    fn a_gzipped_archive_becomes_a_commit_on_the_deploy_branch_once_advanced() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let tar = tar_of(&[
            ("shop-main/Dockerfile", b"FROM scratch\n", 0o644),
            ("shop-main/bin/start", b"#!/bin/sh\n", 0o755),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let archive = gz.finish().unwrap();

        let commit = commit_archive(dir.path(), &archive, None, &spec(), &author()).unwrap();
        assert_eq!(commit.branch, "refs/heads/main");
        assert!(commit.parent.is_none());
        assert!(
            repo.find_reference("refs/heads/main").is_err(),
            "not moved yet"
        );
        let tree = repo
            .find_commit(Oid::from_str(&commit.rev).unwrap())
            .unwrap()
            .tree()
            .unwrap();
        let start = tree.get_path(Path::new("bin/start")).unwrap();
        assert_eq!(start.filemode(), 0o100755);
        assert!(tree.get_path(Path::new("Dockerfile")).is_ok());

        assert!(advance_branch(dir.path(), &commit, "test").unwrap());
        let next =
            commit_archive(dir.path(), &tar, Some(ArchiveType::Tar), &spec(), &author()).unwrap();
        assert_eq!(next.parent.as_deref(), Some(commit.rev.as_str()));
        let stale = ArchiveCommit {
            parent: None,
            ..next.clone()
        };
        assert!(
            !advance_branch(dir.path(), &stale, "test").unwrap(),
            "the branch moved"
        );
    }

    #[test]
    fn unsafe_or_empty_archives_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        Repository::init_bare(dir.path()).unwrap();
        let commit = |archive: &[u8]| {
            commit_archive(dir.path(), archive, None, &spec(), &author())
                .unwrap_err()
                .to_string()
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        let mut raw = tar::Builder::new(Vec::new());
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        header.set_cksum();
        raw.append(&header, &b"x"[..]).unwrap();
        assert!(commit(&raw.into_inner().unwrap()).contains("a path Berth will not write"));
        assert!(commit(&tar_of(&[(".git/config", b"x", 0o644)])).contains("will not write"));
        assert!(commit(&tar_of(&[])).contains("holds no files"));
        assert!(commit(b"\x1f\x8bnot gzip at all").contains("cannot read it as a tar"));
        assert!(commit(b"PK\x03\x04 not a zip").contains("cannot read it as a zip"));
    }

    #[test]
    fn a_zip_archive_keeps_modes_and_drops_its_top_directory() {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let plain = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        zip.add_directory("shop-main/", plain).unwrap();
        zip.start_file("shop-main/Dockerfile", plain).unwrap();
        zip.write_all(b"FROM scratch\n").unwrap();
        zip.start_file("shop-main/bin/start", plain.unix_permissions(0o755))
            .unwrap();
        zip.write_all(b"#!/bin/sh\n").unwrap();
        let archive = zip.finish().unwrap().into_inner();

        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let commit = commit_archive(dir.path(), &archive, None, &spec(), &author()).unwrap();
        let tree = repo
            .find_commit(Oid::from_str(&commit.rev).unwrap())
            .unwrap()
            .tree()
            .unwrap();
        assert_eq!(
            tree.get_path(Path::new("bin/start")).unwrap().filemode(),
            0o100755
        );
        assert_eq!(
            tree.get_path(Path::new("Dockerfile")).unwrap().filemode(),
            0o100644
        );
    }
}
