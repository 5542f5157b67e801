//! The deploy pipeline: prepare (build or find the image) → release → start → check → switch →
//! retire, for every kind of deploy: a push, a rebuild, a prebuilt image, a rollback.
//!
//! Invariant: a deploy that fails at any stage changes neither routes nor state; the release that
//! was serving keeps serving. State is saved only once the new instance passed its checks, and
//! the proxy is switched only after that save. Each stage is announced through `stage()`, the
//! point where plugin triggers will attach; the push shows the build, the release and the
//! start with its checks each ending with its elapsed time (`timed()`).

mod builds;
mod changes;
mod checks;
mod destroy;
mod expiry;
mod follow;
mod liveness;
mod locks;
mod networks;
mod pipeline;
mod prepare;
mod push;
mod restore;
mod retire;
mod scale;
mod triggers;
mod watch;

pub use builds::{BuildEntry, Builds};
pub use changes::code;
pub use checks::run_app_checks;
pub use destroy::destroy_app;
pub use expiry::{arm_expiries, expire_later, with_ttl, DEFAULT_TTL, ONE_OFF_STOP_GRACE};
pub use follow::follow_restarts;
pub use liveness::{run_loop as watch_liveness, HealthBoard, InstanceHealth};
pub use locks::{DeployLocks, Wait};
pub use pipeline::{
    deploy, instance_spec, one_off_spec, DeployRequest, IndentedOutput, RunSettings,
};
pub use prepare::Source;
pub use push::Registry;
pub use restore::{adopt_running, restore_apps, restore_idle_apps};
pub use retire::Retiring;
pub use scale::{scale, stop, Scaled};

use crate::git::GitError;
use crate::health::SpecError;
use crate::names::AppName;
use crate::proxy::Upstream;
use crate::scheduler::{Instance, SchedulerError};
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("App build failed: {0}")]
    Build(String),
    #[error(transparent)]
    Builder(crate::build::BuildError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Procfile(#[from] crate::procfile::ProcfileError),
    #[error(transparent)]
    AppJson(#[from] crate::appjson::AppJsonError),
    #[error("The {phase} script failed with exit status {status}")]
    Script { phase: &'static str, status: i64 },
    #[error("Could not start {process}: {reason}")]
    Check { process: String, reason: String },
    #[error("App {0} is being deployed right now; try again when it finishes (or leave out --no-wait to wait)")]
    Locked(AppName),
    #[error("Berth is handing over to a new process; deploy again in a moment")]
    HandingOver,
    #[error("The client went away; the deploy was cancelled before the switch")]
    Abandoned,
    #[error("The build was cancelled (builds:cancel)")]
    Cancelled,
    /// A rollback or rebuild that cannot happen; the message says why.
    #[error("{0}")]
    Refused(String),
    /// A plugin's `pre-*` or `check-deploy` trigger failed.
    #[error(transparent)]
    Trigger(crate::plugins::TriggerFailed),
    /// The release's image could not go to the app's registry (`registry:set`).
    #[error("Could not push the image: {0}")]
    Push(String),
    #[error("{0}")]
    Engine(String),
    #[error(transparent)]
    State(#[from] StateError),
}

impl DeployError {
    /// True when Berth or the host failed rather than the user or the pushed code.
    pub fn is_internal(&self) -> bool {
        match self {
            DeployError::Git(GitError::NoBuildDir(..) | GitError::TooLarge { .. }) => false,
            DeployError::Builder(err) => matches!(err, crate::build::BuildError::Internal(_)),
            DeployError::Git(_) | DeployError::Engine(_) => true,
            DeployError::State(
                StateError::AppMissing(_)
                | StateError::Broken { .. }
                | StateError::MountRefused { .. }
                | StateError::HandedOver,
            ) => false,
            DeployError::State(_) => true,
            DeployError::Build(_)
            | DeployError::Spec(_)
            | DeployError::Procfile(_)
            | DeployError::AppJson(_)
            | DeployError::Script { .. }
            | DeployError::Check { .. }
            | DeployError::Locked(_)
            | DeployError::HandingOver
            | DeployError::Abandoned
            | DeployError::Cancelled
            | DeployError::Refused(_)
            | DeployError::Push(_)
            | DeployError::Trigger(_) => false,
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

impl From<crate::build::BuildError> for DeployError {
    fn from(err: crate::build::BuildError) -> Self {
        use crate::build::BuildError;
        match err {
            BuildError::Engine(err) => err.into(),
            BuildError::Failed(message) => DeployError::Build(message),
            other => DeployError::Builder(other),
        }
    }
}

/// The stages of a deploy, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prepare,
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

/// A stage's end, with how long it took: `-----> Building shop (Dockerfile)… 3.2s`.
async fn timed(io: &mut crate::io::Io, what: &str, began: std::time::Instant) {
    io.step(&format!("{what}… {:.1}s", began.elapsed().as_secs_f64()))
        .await;
}

/// Where the proxy reaches `instance` of a release that listens on `port`, if it has an address.
fn upstream(instance: &Instance, port: u16) -> Option<Upstream> {
    instance.reach(port).map(|addr| Upstream {
        instance: instance.id.clone(),
        addr,
    })
}

#[cfg(test)]
mod tests;
