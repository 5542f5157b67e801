//! The deploy pipeline: build → release → start → check → switch → retire.
//!
//! Invariant: a deploy that fails at any stage changes neither routes nor state; the release that
//! was serving keeps serving. State is saved only once the new instance answers, and the proxy
//! is switched only after that save. Each stage is announced through `stage()`, the point where
//! plugin triggers will attach.

mod locks;
mod pipeline;
mod restore;

pub use locks::DeployLocks;
pub use pipeline::{deploy_checkout, destroy_app};
pub use restore::adopt_running;

use crate::git::GitError;
use crate::scheduler::SchedulerError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("App build failed: {0}")]
    Build(String),
    #[error("Could not start {process}: {reason}")]
    Check { process: String, reason: String },
    #[error("{0}")]
    Engine(String),
    #[error(transparent)]
    State(#[from] StateError),
}

impl DeployError {
    /// True when Berth or the host failed rather than the pushed code.
    pub fn is_internal(&self) -> bool {
        match self {
            DeployError::Git(GitError::NoDockerfile(_)) => false,
            DeployError::Git(_) | DeployError::Engine(_) => true,
            DeployError::State(StateError::AppMissing(_)) => false,
            DeployError::State(_) => true,
            DeployError::Build(_) | DeployError::Check { .. } => false,
        }
    }
}

impl From<SchedulerError> for DeployError {
    fn from(err: SchedulerError) -> Self {
        match err {
            SchedulerError::BuildFailed(message) => DeployError::Build(message),
            SchedulerError::Engine(message) => DeployError::Engine(message),
        }
    }
}

/// The stages of a deploy, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Build,
    Release,
    Start,
    Check,
    Switch,
    Retire,
}

/// Marks the start of a stage. Plugin triggers (`pre-build`, `post-deploy`, …) attach here.
fn stage(stage: Stage) {
    tracing::info!(stage = ?stage, "deploy stage");
}
