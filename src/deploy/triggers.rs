//! Plugin triggers fired by the pipeline, with the environment every one of them gets: the
//! app, the release, its image and commit, and who deploys.

use super::DeployError;
use crate::context::Ctx;
use crate::io::Io;
use crate::plugins::Trigger;
use crate::state::Release;

/// `BERTH_APP`, `BERTH_RELEASE`, `BERTH_IMAGE`, `BERTH_REV` (when the release has a commit)
/// and `BERTH_KEY` (who deploys: a key's name, `local` or `watch`) for `release`.
pub fn env(release: &Release, app: &str) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("BERTH_APP", app.to_string()),
        ("BERTH_RELEASE", release.number.to_string()),
        ("BERTH_IMAGE", release.image.clone()),
        ("BERTH_KEY", release.created_by.clone()),
    ];
    if let Some(rev) = &release.git_rev {
        env.push(("BERTH_REV", rev.clone()));
    }
    env
}

/// `BERTH_DEPLOY_DURATION_MS`: the milliseconds since the deploy `started` (for `post-deploy`
/// and `deploy-failed`).
pub fn duration(started: std::time::Instant) -> (&'static str, String) {
    let ms = started.elapsed().as_millis();
    ("BERTH_DEPLOY_DURATION_MS", ms.to_string())
}

/// Fires `name` with `args`; an aborting trigger's failure becomes the deploy's.
pub async fn fire(
    ctx: &Ctx,
    name: &'static str,
    args: &[String],
    env: &[(&'static str, String)],
    io: &mut Io,
) -> Result<(), DeployError> {
    let trigger = Trigger { name, args, env };
    crate::plugins::fire(&ctx.plugins, &trigger, ctx.store.layout().root(), io)
        .await
        .map_err(DeployError::Trigger)
}
