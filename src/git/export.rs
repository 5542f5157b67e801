//! Reads a pushed commit with git2 and writes its tree as a tar build context, to a file, so
//! a large commit is never held in memory whole (only its largest file is, as git2 reads it).

use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::{DeployBranch, GitError};

/// Where an app's code sits in its repository: the branch that deploys, the directory that is
/// the build context (`builder:set build-dir`) and the paths of the Dockerfile
/// (`builder-dockerfile:set dockerfile-path`) and the Procfile (`ps:set procfile-path`) in it.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub branch: DeployBranch,
    pub build_dir: Option<String>,
    pub dockerfile: String,
    pub procfile: String,
    /// The largest build context (bytes of files) Berth builds (`[build] max_context_size`).
    pub max_context: u64,
    /// Where build contexts are written (`state::Layout::contexts_dir`).
    pub contexts: PathBuf,
}

/// A build context: an uncompressed tar file, removed when dropped.
#[derive(Debug)]
pub struct BuildContext {
    path: PathBuf,
}

#[cfg(test)]
impl Checkout {
    /// A commit with an empty build context and a Dockerfile, for pipeline tests.
    pub fn for_tests(dir: &Path) -> Checkout {
        let (context, _) = BuildContext::create(dir).expect("a build context");
        Checkout {
            rev: "0123456789abcdef0123456789abcdef01234567".into(),
            context,
            dockerfile: Some("Dockerfile".into()),
            app_json: None,
            checks_file: None,
            procfile: None,
            buildpacks_file: None,
        }
    }
}

impl BuildContext {
    /// A new, empty context file in `dir`, with a random name.
    fn create(dir: &Path) -> Result<(BuildContext, std::fs::File), GitError> {
        use rand::RngExt;
        let io_err = |source| GitError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let bytes: [u8; 8] = rand::rng().random();
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("context-{name}.tar"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err)?;
        Ok((BuildContext { path }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BuildContext {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A pushed commit, ready to build.
#[derive(Debug)]
pub struct Checkout {
    pub rev: String,
    /// The commit's tree (or its build directory) as an uncompressed tar.
    pub context: BuildContext,
    /// The Dockerfile's path in the build context, when the commit has it there.
    pub dockerfile: Option<String>,
    /// `app.json` at the top of the build directory, if any.
    pub app_json: Option<String>,
    /// The legacy `CHECKS` file at the top of the build directory, if any.
    pub checks_file: Option<String>,
    /// The Procfile (at its `procfile` path in the build directory), if any.
    pub procfile: Option<String>,
    /// The `.buildpacks` file at the top of the build directory, if any.
    pub buildpacks_file: Option<String>,
}

/// Exports `rev` from `repo`: the whole tree, or only the spec's build directory as if it were
/// the top. During a pre-receive hook the new objects still sit in a quarantine directory;
/// `extra_object_dirs` makes them visible.
pub fn export_commit(
    repo: &std::path::Path,
    rev: &str,
    extra_object_dirs: &[PathBuf],
    spec: &SourceSpec,
) -> Result<Checkout, GitError> {
    let repository = Repository::open_bare(repo)?;
    let odb = repository.odb()?;
    for dir in extra_object_dirs {
        odb.add_disk_alternate(&dir.to_string_lossy())?;
    }
    let commit = repository.find_commit(Oid::from_str(rev)?)?;
    let mut tree = commit.tree()?;
    if let Some(dir) = spec.build_dir.as_deref() {
        let missing = || GitError::NoBuildDir(dir.to_string(), short(rev));
        let entry = tree
            .get_path(std::path::Path::new(dir))
            .map_err(|_| missing())?;
        tree = repository.find_tree(entry.id()).map_err(|_| missing())?;
    }
    let files = tree_files(&odb, &tree)?;
    let size = files.iter().map(|file| file.size).sum();
    if size > spec.max_context {
        return Err(GitError::TooLarge {
            what: format!("The build context of {}", short(rev)),
            size,
            max: spec.max_context,
        });
    }
    let (context, file) = BuildContext::create(&spec.contexts)?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    for file in &files {
        append_blob(&repository, &odb, &mut builder, file)?;
    }
    let written = builder
        .into_inner()
        .and_then(|mut file| file.flush().map(|()| file));
    written.map_err(|source| GitError::Io {
        path: context.path().to_path_buf(),
        source,
    })?;
    let dockerfile = tree
        .get_path(std::path::Path::new(&spec.dockerfile))
        .is_ok_and(|entry| entry.kind() == Some(ObjectType::Blob))
        .then(|| spec.dockerfile.clone());
    let top_file = |name: &str| -> Result<Option<String>, GitError> {
        match tree.get_path(std::path::Path::new(name)).ok() {
            Some(entry) => {
                let blob = repository.find_blob(entry.id())?;
                Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
            }
            None => Ok(None),
        }
    };
    Ok(Checkout {
        rev: rev.to_string(),
        context,
        dockerfile,
        app_json: top_file("app.json")?,
        checks_file: top_file("CHECKS")?,
        procfile: top_file(&spec.procfile)?,
        buildpacks_file: top_file(".buildpacks")?,
    })
}

/// One file of a tree: its path, object, git mode and size (from the object's header).
struct TreeFile {
    path: String,
    id: Oid,
    mode: i32,
    size: u64,
}

/// Every file under `tree`, sized from the objects' headers (no file is read).
fn tree_files(odb: &git2::Odb<'_>, tree: &git2::Tree<'_>) -> Result<Vec<TreeFile>, GitError> {
    let mut files = Vec::new();
    let mut failure = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        match odb.read_header(entry.id()) {
            Ok((size, _)) => {
                files.push(TreeFile {
                    path: format!("{dir}{name}"),
                    id: entry.id(),
                    mode: entry.filemode(),
                    size: size as u64,
                });
                TreeWalkResult::Ok
            }
            Err(err) => {
                failure = Some(err);
                TreeWalkResult::Abort
            }
        }
    })?;
    match failure {
        Some(err) => Err(err.into()),
        None => Ok(files),
    }
}

/// Appends one file. A loose object (what a small push leaves: git unpacks packs of fewer than
/// 100 objects) is streamed from the object database; a packed one is read whole.
fn append_blob<W: Write>(
    repository: &Repository,
    odb: &git2::Odb<'_>,
    builder: &mut tar::Builder<W>,
    file: &TreeFile,
) -> Result<(), GitError> {
    let mut header = tar::Header::new_gnu();
    let io_err = |source| GitError::Io {
        path: PathBuf::from(&file.path),
        source,
    };
    match file.mode {
        0o120000 => {
            let blob = repository.find_blob(file.id)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            let target = String::from_utf8_lossy(blob.content()).to_string();
            builder
                .append_link(&mut header, &file.path, target)
                .map_err(io_err)
        }
        mode => {
            header.set_size(file.size);
            header.set_mode(if mode == 0o100755 { 0o755 } else { 0o644 });
            header.set_cksum();
            match odb.reader(file.id) {
                Ok((reader, _, _)) => builder.append_data(&mut header, &file.path, reader),
                Err(_) => {
                    let blob = repository.find_blob(file.id)?;
                    builder.append_data(&mut header, &file.path, blob.content())
                }
            }
            .map_err(io_err)
        }
    }
}

/// The commit the deploy branch points to (the first of `main`, `master` by default): what
/// `ps:rebuild` builds.
pub fn deploy_branch_head(
    repo: &std::path::Path,
    spec: &SourceSpec,
) -> Result<Option<String>, GitError> {
    if !repo.join("HEAD").exists() {
        return Ok(None);
    }
    let repository = Repository::open_bare(repo)?;
    for branch in spec.branch.refs() {
        if let Ok(reference) = repository.find_reference(&branch) {
            if let Some(oid) = reference.target() {
                return Ok(Some(oid.to_string()));
            }
        }
    }
    Ok(None)
}

pub fn short(rev: &str) -> String {
    rev.chars().take(7).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn commit_files(repo: &Repository, files: &[(&str, &[u8], i32)]) -> Oid {
        let mut index = repo.index().unwrap();
        for (path, content, mode) in files {
            let oid = repo.blob(content).unwrap();
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: *mode as u32,
                uid: 0,
                gid: 0,
                file_size: content.len() as u32,
                id: oid,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        let tree = repo.find_tree(index.write_tree_to(repo).unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        repo.commit(None, &sig, &sig, "c", &tree, &[]).unwrap()
    }

    fn spec(build_dir: Option<&str>, dockerfile: &str) -> SourceSpec {
        let none = crate::state::GitSettings::default();
        SourceSpec {
            branch: DeployBranch::of(&none, &none),
            build_dir: build_dir.map(String::from),
            dockerfile: dockerfile.to_string(),
            procfile: "Procfile".to_string(),
            max_context: 1 << 30,
            contexts: std::env::temp_dir().join("berth-test-contexts"),
        }
    }

    fn names(context: &BuildContext) -> Vec<(String, u32)> {
        let mut archive = tar::Archive::new(std::fs::File::open(context.path()).unwrap());
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn exports_the_tree_with_modes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let oid = commit_files(
            &repo,
            &[
                ("Dockerfile", b"FROM scratch\n", 0o100644),
                ("bin/start", b"#!/bin/sh\n", 0o100755),
                ("deploy/Dockerfile.prod", b"FROM scratch\n", 0o100644),
            ],
        );
        let rev = oid.to_string();
        let checkout = export_commit(dir.path(), &rev, &[], &spec(None, "Dockerfile")).unwrap();
        assert_eq!(checkout.app_json, None);
        assert_eq!(checkout.dockerfile.as_deref(), Some("Dockerfile"));
        let elsewhere = spec(None, "deploy/Dockerfile.prod");
        let checkout = export_commit(dir.path(), &rev, &[], &elsewhere).unwrap();
        assert_eq!(
            checkout.dockerfile.as_deref(),
            Some("deploy/Dockerfile.prod")
        );
        for missing in ["Dockerfile.dev", "deploy"] {
            let other = export_commit(dir.path(), &rev, &[], &spec(None, missing)).unwrap();
            assert_eq!(other.dockerfile, None, "{missing}");
        }
        let entries = names(&checkout.context);
        assert!(entries.contains(&("Dockerfile".to_string(), 0o644)));
        assert!(entries.contains(&("bin/start".to_string(), 0o755)));
    }

    #[test]
    fn a_build_dir_is_exported_as_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let oid = commit_files(
            &repo,
            &[
                ("README", b"top", 0o100644),
                ("web/Procfile", b"web: serve", 0o100644),
                ("web/index.html", b"hi", 0o100644),
            ],
        );
        let rev = oid.to_string();
        let checkout =
            export_commit(dir.path(), &rev, &[], &spec(Some("web"), "Dockerfile")).unwrap();
        assert_eq!(checkout.dockerfile, None);
        assert_eq!(checkout.procfile.as_deref(), Some("web: serve"));
        let entries: Vec<String> = names(&checkout.context).into_iter().map(|e| e.0).collect();
        assert_eq!(entries, ["Procfile", "index.html"]);
        let api = spec(Some("api"), "Dockerfile");
        let err = export_commit(Path::new(dir.path()), &rev, &[], &api).unwrap_err();
        assert!(matches!(err, GitError::NoBuildDir(..)));
    }

    #[test]
    fn a_context_over_the_limit_is_refused_before_its_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let big = vec![0u8; 3 << 20];
        let oid = commit_files(
            &repo,
            &[("zeros", &big, 0o100644), ("web/a", b"a", 0o100644)],
        );
        let rev = oid.to_string();
        let mut small = spec(None, "Dockerfile");
        small.max_context = 2 << 20;
        let err = export_commit(dir.path(), &rev, &[], &small).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("The build context of {} is 4 MiB, more than the 2 MiB Berth builds ([build] max_context_size)", short(&rev))
        );
        let mut web = spec(Some("web"), "Dockerfile");
        web.max_context = 2 << 20;
        assert!(export_commit(dir.path(), &rev, &[], &web).is_ok());
    }
}
