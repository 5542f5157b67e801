//! The app repositories: bare repos a user pushes to, the pre-receive hook that turns a push into
//! a deploy, and exporting a pushed commit as a build context.
//!
//! `git receive-pack` (the real git) speaks the wire protocol; Berth never builds a shell string
//! for it. The hook is this same binary, reached through a symlink, so no script is involved.

mod archive;
mod branch;
mod export;
mod push;
mod remote;
mod sync;

pub use archive::{advance_branch, commit_archive, ArchiveCommit, ArchiveType, Author};
pub use branch::{is_branch_name, rev_env_var, DeployBranch};
pub use export::{deploy_branch_head, export_commit, short, BuildContext, Checkout, SourceSpec};
pub use push::{
    deploy_target, hook_env, not_deployed, receive_pack_command, PushContext, PushRegistry,
    RefUpdate, ENV_CONTROL_SOCKET, ENV_PUSH_ID,
};
pub use remote::{check_public, valid_allowed_host, Pinned};
pub use sync::{check_remote, fetch as sync_fetch, valid_ref as valid_sync_ref};

use std::path::{Path, PathBuf};

use crate::names::AppName;
use crate::state::Layout;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git: {0}")]
    Repo(#[from] git2::Error),
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("The build directory {0} is not a directory in commit {1}; fix it: builder:set <app> build-dir")]
    NoBuildDir(String, String),
    #[error("{what} is {}, more than the {} Berth builds ([build] max_context_size)", mebibytes(*.size), mebibytes(*.max))]
    TooLarge { what: String, size: u64, max: u64 },
    /// A `git:from-archive` archive Berth will not commit; the message says why.
    #[error("Cannot deploy the archive: {0}")]
    Archive(String),
    /// A `git:sync` that could not fetch or find what it was asked for.
    #[error("Cannot sync: {0}")]
    Sync(String),
}

/// `1536 MiB`, for messages about sizes.
fn mebibytes(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1 << 20))
}

/// Makes sure the app's bare repository exists.
pub fn ensure_repo(layout: &Layout, app: &AppName) -> Result<PathBuf, GitError> {
    let path = layout.repo_dir(app);
    if !path.join("HEAD").exists() {
        git2::Repository::init_bare(&path)?;
    }
    Ok(path)
}

/// Points the repository's `HEAD` at the first of `refs` it has (the deploy branch), so that a
/// clone checks that branch out.
pub fn point_head(repo: &Path, refs: &[String]) -> Result<(), GitError> {
    let repo = git2::Repository::open_bare(repo)?;
    let Some(name) = refs.iter().find(|r| repo.find_reference(r).is_ok()) else {
        return Ok(());
    };
    let now = repo.find_reference("HEAD")?;
    if now.symbolic_target().ok().flatten() != Some(name.as_str()) {
        repo.set_head(name)?;
    }
    Ok(())
}

/// Points `<hooks_dir>/pre-receive` at this binary (replacing a stale link after an upgrade).
pub fn install_hook(layout: &Layout, exe: &Path) -> Result<(), GitError> {
    let hook = layout.hooks_dir().join("pre-receive");
    crate::state::link_atomic(exe, &hook).map_err(|source| GitError::Io { path: hook, source })
}
