//! Buildpack references (`buildpacks:add`, `.buildpacks`, `BUILDPACK_URL`) and fetching them
//! into the build container's files. Fetching only copies files; buildpacks run in the container.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::BuildError;

/// The buildpacks compiled into the binary, in the order auto-detection tries them.
pub const BUNDLED: [&str; 4] = ["python", "nodejs", "static", "procfile"];

/// The bundled buildpacks as one tar (`<name>/bin/detect`, …), made by `build.rs`.
static BUNDLED_TAR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/buildpacks.tar"));

/// Where a buildpack comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildpackRef {
    Bundled(String),
    /// A directory on the Berth host.
    Local(PathBuf),
    /// A git repository, cloned at build time; `reference` is the part after `#`.
    Git {
        url: String,
        reference: Option<String>,
    },
}

impl BuildpackRef {
    /// Parses a bundled name, an absolute directory, `heroku/<name>` or a git URL (`#ref`).
    pub fn parse(raw: &str) -> Result<BuildpackRef, BuildError> {
        let bad = |why: &str| {
            BuildError::Refused(format!(
                "Invalid buildpack \"{shown}\": {why}",
                shown = crate::names::shown(raw)
            ))
        };
        if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it must be one word"));
        }
        if BUNDLED.contains(&raw) {
            return Ok(BuildpackRef::Bundled(raw.to_string()));
        }
        if raw.starts_with('/') {
            return Ok(BuildpackRef::Local(PathBuf::from(raw)));
        }
        if let Some(name) = raw.strip_prefix("heroku/") {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(bad("heroku/<name> takes a buildpack name"));
            }
            return Ok(BuildpackRef::Git {
                url: format!("https://github.com/heroku/heroku-buildpack-{name}.git"),
                reference: None,
            });
        }
        let (url, reference) = match raw.split_once('#') {
            Some((url, reference)) => (url, Some(reference)),
            None => (raw, None),
        };
        let remote = ["https://", "http://", "git://", "ssh://", "file://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
            || (url.starts_with("git@") && url.contains(':'));
        if !remote || url.starts_with('-') {
            return Err(bad(&format!(
                "use a bundled name ({}), an absolute directory or a git URL",
                BUNDLED.join(", ")
            )));
        }
        if let Some(reference) = reference {
            let fine = !reference.is_empty()
                && !reference.starts_with('-')
                && reference
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
            if !fine {
                return Err(bad("the part after # must be a branch, tag or commit"));
            }
        }
        Ok(BuildpackRef::Git {
            url: url.to_string(),
            reference: reference.map(str::to_string),
        })
    }

    /// Whether the reference reads files of the Berth host: only the host's own user (the local
    /// CLI) may choose such buildpacks, never a push or a remote key.
    pub fn reads_host_files(&self) -> bool {
        match self {
            BuildpackRef::Local(_) => true,
            BuildpackRef::Git { url, .. } => url.starts_with("file://"),
            BuildpackRef::Bundled(_) => false,
        }
    }
}

/// A buildpack ready to pack: one of the bundled ones, or a directory on this host (a local
/// buildpack, or a clone of a git one).
pub enum Fetched {
    Bundled(String),
    Dir(PathBuf),
}

/// Finds buildpack `raw`, cloning a git buildpack into `scratch/<name>`.
pub async fn fetch(raw: &str, name: &str, scratch: &Path) -> Result<Fetched, BuildError> {
    match BuildpackRef::parse(raw)? {
        BuildpackRef::Bundled(name) => Ok(Fetched::Bundled(name)),
        BuildpackRef::Local(dir) => {
            if !dir.join("bin").is_dir() {
                return Err(BuildError::Refused(format!(
                    "Buildpack {raw} is not a directory with bin/detect and bin/compile"
                )));
            }
            Ok(Fetched::Dir(dir))
        }
        BuildpackRef::Git { url, reference } => {
            let dir = scratch.join(name);
            clone(&url, reference.as_deref(), &dir).await?;
            Ok(Fetched::Dir(dir))
        }
    }
}

/// Appends a fetched buildpack's files under `prefix` in `files`.
pub fn append(
    files: &mut tar::Builder<impl Write>,
    prefix: &str,
    fetched: &Fetched,
) -> std::io::Result<()> {
    match fetched {
        Fetched::Bundled(name) => append_bundled(files, prefix, name),
        Fetched::Dir(dir) => append_dir(files, prefix, dir),
    }
}

fn append_bundled(
    files: &mut tar::Builder<impl Write>,
    prefix: &str,
    name: &str,
) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(BUNDLED_TAR);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Ok(inside) = path.strip_prefix(name) else {
            continue;
        };
        if inside.as_os_str().is_empty() {
            continue;
        }
        let mut header = entry.header().clone();
        files.append_data(&mut header, Path::new(prefix).join(inside), &mut entry)?;
    }
    Ok(())
}

/// Appends a directory's files (not its `.git`) under `prefix`, keeping modes and symlinks.
fn append_dir(
    files: &mut tar::Builder<impl Write>,
    prefix: &str,
    dir: &Path,
) -> std::io::Result<()> {
    files.follow_symlinks(false);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            let inside = Path::new(prefix).join(path.strip_prefix(dir).unwrap_or(&path));
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                files.append_path_with_name(&path, inside)?;
            }
        }
    }
    Ok(())
}

/// `git clone` (the real git, never a shell), then a checkout of `reference` when given.
async fn clone(url: &str, reference: Option<&str>, dir: &Path) -> Result<(), BuildError> {
    crate::fetch::clone(url, reference, dir)
        .await
        .map_err(|err| match err {
            crate::fetch::CloneError::Spawn(_) => BuildError::Internal(err.to_string()),
            crate::fetch::CloneError::Failed(why) => {
                BuildError::Failed(format!("cannot fetch buildpack {url}: {why}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            BuildpackRef::parse("python").unwrap(),
            BuildpackRef::Bundled("python".into())
        );
        assert_eq!(
            BuildpackRef::parse("/srv/bp").unwrap(),
            BuildpackRef::Local("/srv/bp".into())
        );
        assert_eq!(
            BuildpackRef::parse("heroku/nodejs").unwrap(),
            BuildpackRef::Git {
                url: "https://github.com/heroku/heroku-buildpack-nodejs.git".into(),
                reference: None
            }
        );
        assert_eq!(
            BuildpackRef::parse("https://example.com/bp.git#v1.2").unwrap(),
            BuildpackRef::Git {
                url: "https://example.com/bp.git".into(),
                reference: Some("v1.2".into())
            }
        );
        assert!(BuildpackRef::parse("git@github.com:me/bp.git").is_ok());
        for bad in [
            "",
            "ruby",
            "a b",
            "heroku/",
            "https://x#",
            "https://x#-f",
            "-x",
            "ftp://x",
        ] {
            assert!(BuildpackRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_files_are_flagged() {
        let reads = |raw| BuildpackRef::parse(raw).unwrap().reads_host_files();
        assert!(reads("/srv/bp"));
        assert!(reads("file:///srv/bp.git#v1"));
        assert!(!reads("https://example.com/bp.git"));
        assert!(!reads("static"));
    }

    #[test]
    fn every_bundled_buildpack_is_packed_with_its_scripts() {
        for name in BUNDLED {
            let mut files = tar::Builder::new(Vec::new());
            append_bundled(&mut files, "bp/01", name).unwrap();
            let tar = files.into_inner().unwrap();
            let mut archive = tar::Archive::new(tar.as_slice());
            let paths: Vec<(String, u32)> = archive
                .entries()
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.path().unwrap().display().to_string(),
                        e.header().mode().unwrap(),
                    )
                })
                .collect();
            for script in ["bin/detect", "bin/compile"] {
                let path = format!("bp/01/{script}");
                let mode = paths.iter().find(|p| p.0 == path).map(|p| p.1);
                assert_eq!(
                    mode.map(|m| m & 0o111 != 0),
                    Some(true),
                    "{name}: {paths:?}"
                );
            }
            assert!(!paths.iter().any(|p| p.0.contains("/test/")), "{name}");
        }
    }
}
