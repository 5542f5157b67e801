//! Running a deploy from a command (or a push) and reporting its failure the same way.

use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{deploy, DeployError, DeployRequest, Source, Wait};
use crate::names::AppName;

/// Deploys; on failure says why, and that the running release keeps serving when there is
/// one. A deploy refused before it started (a rollback to a release that does not exist) is
/// only refused.
pub async fn run_deploy(
    ctx: &Ctx,
    request: DeployRequest,
    io: &mut Io,
) -> Result<u32, CommandError> {
    let app = request.app.clone();
    match deploy(ctx, request, io).await {
        Ok(number) => Ok(number),
        Err(DeployError::Refused(why)) => Err(CommandError::User(why)),
        Err(err) => {
            if err.is_internal() {
                tracing::error!(app = %app, error = %err, "deploy failed");
            } else {
                tracing::warn!(app = %app, error = %err, "deploy failed");
            }
            io.warn(&err.to_string()).await;
            let serving = ctx
                .store
                .app(&app)
                .is_ok_and(|record| record.current_release.is_some());
            Err(CommandError::User(match serving {
                true => format!("Deploy of {app} failed; the running release keeps serving"),
                false => format!("Deploy of {app} failed; nothing of it was running before"),
            }))
        }
    }
}

/// Deploys `app`'s current release again (after a change to its settings), waiting for a
/// deploy of it that runs; a failure says what `after_failure` says happens next.
pub async fn redeploy(
    ctx: &Ctx,
    caller: &Caller,
    app: &AppName,
    source: Source,
    after_failure: &str,
    io: &mut Io,
) -> Result<(), CommandError> {
    let request = DeployRequest {
        app: app.clone(),
        caller: caller.clone(),
        source,
        wait: Wait::Wait,
    };
    run_deploy(ctx, request, io)
        .await
        .map(|_| ())
        .map_err(|err| CommandError::User(format!("{err}; {after_failure}")))
}

/// `--no-wait` → refuse when another deploy of the app runs.
pub fn wait_flag(no_wait: bool) -> crate::deploy::Wait {
    if no_wait {
        crate::deploy::Wait::NoWait
    } else {
        crate::deploy::Wait::Wait
    }
}
