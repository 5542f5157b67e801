//! A buildpack build: the source, the buildpacks, the config and Berth's runner script go into
//! a container of the stack image; the compiled `/app` comes out and is laid on the run image.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::buildpacks::{self, BUNDLED};
use super::release::default_process_types;
use super::BuildError;
use crate::names::AppName;
use crate::options::BuildLimits;
use crate::scheduler::{Assembly, BuildOutput, BuiltImage, CompileJob, ImageBuilder};

/// Runs the buildpacks inside the build container (see the script's header).
const RUNNER: &str = include_str!("builder.sh");

/// The run image's entrypoint: loads `.profile.d`, then runs the process's command.
const START: &str = "#!/bin/sh
# Starts a process of a buildpack-built app (written by Berth).
cd /app
export HOME=/app
for file in /app/.profile.d/*.sh; do
  if [ -r \"$file\" ]; then . \"$file\"; fi
done
exec \"$@\"
";

/// A line of runner output that carries the reason a build failed.
const ERROR_MARKER: &str = "berth-builder-error: ";

/// The named volume holding an app's build cache (`CACHE_DIR`); `repo:purge-cache` removes it.
pub fn cache_volume(app: &AppName) -> String {
    format!("berth-cache-{app}")
}

/// One buildpack build, as `prepare` asks for it.
pub struct BuildpackBuild<'a> {
    pub app: &'a AppName,
    /// The source as a tar file (the build directory of the pushed commit).
    pub context: &'a Path,
    /// The buildpacks to run in order; `None` detects one among the bundled buildpacks.
    pub buildpacks: Option<Vec<String>>,
    /// Config vars, given to buildpacks as `ENV_DIR`.
    pub env: &'a BTreeMap<String, String>,
    pub stack_image: String,
    pub run_image: String,
    pub tag: String,
    /// A directory Berth may use (and removes) for the build's files and git buildpacks.
    pub scratch: PathBuf,
    /// What the build container may use.
    pub limits: BuildLimits,
}

/// What a buildpack build made: the image and the process types its buildpacks declared.
pub struct Slug {
    pub image: BuiltImage,
    pub default_process_types: BTreeMap<String, String>,
}

/// Passes build output on, keeping back the runner's failure reason.
struct Watch<'a> {
    inner: &'a mut dyn BuildOutput,
    failure: Option<String>,
}

#[async_trait]
impl BuildOutput for Watch<'_> {
    async fn line(&mut self, text: &str) {
        match text.strip_prefix(ERROR_MARKER) {
            Some(reason) => self.failure = Some(reason.to_string()),
            None => self.inner.line(text).await,
        }
    }
}

pub async fn build_with_buildpacks(
    builder: &dyn ImageBuilder,
    job: BuildpackBuild<'_>,
    output: &mut dyn BuildOutput,
) -> Result<Slug, BuildError> {
    let detect = if job.buildpacks.is_some() {
        "all"
    } else {
        "first"
    };
    let refs: Vec<String> = job
        .buildpacks
        .clone()
        .unwrap_or_else(|| BUNDLED.iter().map(|s| s.to_string()).collect());
    let scratch = Scratch::create(&job.scratch)?;
    let files = scratch.file("files.tar");
    write_files(&job, &refs, &scratch, files.clone(), output).await?;
    let (app_tar, releases) = (scratch.file("app.tar"), scratch.file("release.tar"));
    let compile = CompileJob {
        app: job.app.clone(),
        image: job.stack_image.clone(),
        files,
        command: vec!["/bin/sh".into(), "/tmp/berth/builder".into()],
        env: vec![
            ("BERTH_DETECT".into(), detect.into()),
            ("STACK".into(), job.stack_image.clone()),
        ],
        cache_volume: cache_volume(job.app),
        cache_path: "/cache".into(),
        collect: vec![
            ("/app".into(), app_tar.clone()),
            ("/tmp/berth/release".into(), releases.clone()),
        ],
        limits: job.limits.clone(),
    };
    let mut watch = Watch {
        inner: output,
        failure: None,
    };
    let compiled = builder.compile(&compile, &mut watch).await?;
    if compiled.status != 0 {
        return Err(BuildError::Failed(watch.failure.unwrap_or_else(|| {
            format!("the buildpack build exited with status {}", compiled.status)
        })));
    }
    let releases = std::fs::File::open(&releases)
        .map_err(|err| BuildError::Internal(format!("reading bin/release: {err}")))?;
    let default_process_types = read_releases(std::io::BufReader::new(releases))?;
    let start = scratch.file("start.tar");
    let mut start_tar = tar::Builder::new(create(&start)?);
    append_file(&mut start_tar, "berth/start", START.as_bytes(), 0o755)?;
    finish(start_tar)?;
    let assembly = Assembly {
        app: job.app.clone(),
        base: job.run_image.clone(),
        layers: vec![app_tar, start],
        changes: vec![
            r#"ENTRYPOINT ["/bin/sh", "/berth/start"]"#.to_string(),
            "CMD []".to_string(),
            "WORKDIR /app".to_string(),
            "ENV HOME=/app".to_string(),
            format!("LABEL {}={}", crate::scheduler::LABEL_APP, job.app),
        ],
        tag: job.tag.clone(),
    };
    output.line(&format!("Making image {}", job.tag)).await;
    Ok(Slug {
        image: builder.assemble(&assembly).await?,
        default_process_types,
    })
}

/// A build's files on disk (what goes in, what comes out, git buildpacks' clones), in the
/// app's scratch directory: removed when the build ends, however it ends, and at start after
/// a daemon that stopped mid-build (`state::Store::open`). Nothing the size of the app is held
/// in memory.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn create(dir: &Path) -> Result<Scratch, BuildError> {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| {
                BuildError::Internal(format!("cannot create {}: {err}", dir.display()))
            })?;
        Ok(Scratch {
            dir: dir.to_path_buf(),
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, BuildError> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|err| BuildError::Internal(format!("cannot create {}: {err}", path.display())))
}

/// Writes the tar unpacked at `/` in the build container into `into`: the source under `app`,
/// the runner, the buildpacks (git ones cloned first) and the config as `ENV_DIR` files.
async fn write_files(
    job: &BuildpackBuild<'_>,
    refs: &[String],
    scratch: &Scratch,
    into: PathBuf,
    output: &mut dyn BuildOutput,
) -> Result<(), BuildError> {
    let mut fetched = Vec::new();
    for (index, raw) in refs.iter().enumerate() {
        if job.buildpacks.is_some() {
            output.line(&format!("Fetching buildpack {raw}")).await;
        }
        let name = format!("buildpack-{:02}", index + 1);
        fetched.push((
            raw.clone(),
            buildpacks::fetch(raw, &name, &scratch.dir).await?,
        ));
    }
    let source = job.context.to_path_buf();
    let env = job.env.clone();
    // Copying the source may take a while: off the async workers, which also serve the proxy.
    tokio::task::spawn_blocking(move || pack(&source, &fetched, &env, &into))
        .await
        .map_err(|err| BuildError::Internal(format!("packing the build: {err}")))?
}

fn pack(
    source: &Path,
    buildpacks: &[(String, buildpacks::Fetched)],
    env: &BTreeMap<String, String>,
    into: &Path,
) -> Result<(), BuildError> {
    let mut files = tar::Builder::new(create(into)?);
    let source = std::fs::File::open(source)
        .map_err(|err| BuildError::Internal(format!("reading the source: {err}")))?;
    reroot(std::io::BufReader::new(source), "app", &mut files)?;
    append_file(&mut files, "tmp/berth/builder", RUNNER.as_bytes(), 0o755)?;
    let mut order = String::new();
    for (index, (raw, fetched)) in buildpacks.iter().enumerate() {
        let dir = format!("tmp/berth/buildpacks/{:02}", index + 1);
        buildpacks::append(&mut files, &dir, fetched)
            .map_err(|err| BuildError::Internal(format!("packing buildpack {raw}: {err}")))?;
        order.push_str(&format!("/{dir}\t{raw}\n"));
    }
    append_file(&mut files, "tmp/berth/order", order.as_bytes(), 0o644)?;
    for (key, value) in env {
        append_file(
            &mut files,
            &format!("tmp/berth/env/{key}"),
            value.as_bytes(),
            0o600,
        )?;
    }
    finish(files)?;
    Ok(())
}

/// Copies the entries of `source` into `files` under `prefix`.
fn reroot(
    source: impl std::io::Read,
    prefix: &str,
    files: &mut tar::Builder<impl Write>,
) -> Result<(), BuildError> {
    let io_err = |err: std::io::Error| BuildError::Internal(format!("packing the source: {err}"));
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    files
        .append_data(&mut dir, prefix, std::io::empty())
        .map_err(io_err)?;
    let mut archive = tar::Archive::new(source);
    for entry in archive.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        let path = Path::new(prefix).join(entry.path().map_err(io_err)?);
        let mut header = entry.header().clone();
        match entry.link_name().map_err(io_err)? {
            Some(target) => files.append_link(&mut header, &path, &target),
            None => files.append_data(&mut header, &path, &mut entry),
        }
        .map_err(io_err)?;
    }
    Ok(())
}

fn append_file(
    files: &mut tar::Builder<impl Write>,
    path: &str,
    content: &[u8],
    mode: u32,
) -> Result<(), BuildError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    files
        .append_data(&mut header, path, content)
        .map_err(|err| BuildError::Internal(format!("packing {path}: {err}")))
}

/// Ends the tar and flushes it to its writer.
fn finish<W: Write>(files: tar::Builder<W>) -> Result<W, BuildError> {
    let err = |err: std::io::Error| BuildError::Internal(format!("packing the build: {err}"));
    let mut inner = files.into_inner().map_err(err)?;
    inner.flush().map_err(err)?;
    Ok(inner)
}

/// Merges the buildpacks' `bin/release` outputs (`release/<n>.yml`), later buildpacks winning.
fn read_releases(tar: impl std::io::Read) -> Result<BTreeMap<String, String>, BuildError> {
    let io_err = |err: std::io::Error| BuildError::Internal(format!("reading bin/release: {err}"));
    let mut outputs: Vec<(u32, String)> = Vec::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        let path = entry.path().map_err(io_err)?.into_owned();
        let number = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok());
        if let Some(number) = number {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).map_err(io_err)?;
            outputs.push((number, text));
        }
    }
    outputs.sort();
    let mut types = BTreeMap::new();
    for (_, text) in outputs {
        let declared =
            default_process_types(&text).map_err(|err| BuildError::Failed(err.to_string()))?;
        types.extend(declared);
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_outputs_merge_in_buildpack_order() {
        let mut tar = tar::Builder::new(Vec::new());
        let first = "default_process_types:\n  web: a\n  worker: w\n";
        let second = "default_process_types:\n  web: b\n";
        append_file(&mut tar, "release/2.yml", second.as_bytes(), 0o644).unwrap();
        append_file(&mut tar, "release/1.yml", first.as_bytes(), 0o644).unwrap();
        let types = read_releases(finish(tar).unwrap().as_slice()).unwrap();
        assert_eq!(types["web"], "b");
        assert_eq!(types["worker"], "w");
    }

    #[test]
    fn the_source_moves_under_app_with_links_kept() {
        let mut source = tar::Builder::new(Vec::new());
        append_file(&mut source, "bin/run", b"#!/bin/sh\n", 0o755).unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        source.append_link(&mut link, "current", "bin").unwrap();
        let mut files = tar::Builder::new(Vec::new());
        reroot(finish(source).unwrap().as_slice(), "app", &mut files).unwrap();
        let tar = finish(files).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, Option<String>)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let link = e.link_name().unwrap().map(|l| l.display().to_string());
                (e.path().unwrap().display().to_string(), link)
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("app".to_string(), None),
                ("app/bin/run".to_string(), None),
                ("app/current".to_string(), Some("bin".to_string())),
            ]
        );
    }
}
