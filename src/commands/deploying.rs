//! Running a deploy from a command (or a push) and reporting its failure the same way.

use super::{CommandError, Io};
use crate::context::Ctx;
use crate::deploy::{deploy, DeployRequest};

/// Deploys; on failure says that the running release keeps serving.
pub async fn run_deploy(
    ctx: &Ctx,
    request: DeployRequest,
    io: &mut Io,
) -> Result<u32, CommandError> {
    let app = request.app.clone();
    match deploy(ctx, request, io).await {
        Ok(number) => Ok(number),
        Err(err) => {
            if err.is_internal() {
                tracing::error!(app = %app, error = %err, "deploy failed");
            } else {
                tracing::warn!(app = %app, error = %err, "deploy failed");
            }
            io.warn(&err.to_string()).await;
            Err(CommandError::User(format!(
                "Deploy of {app} failed; the running release keeps serving"
            )))
        }
    }
}

/// `--no-wait` → refuse when another deploy of the app runs.
pub fn wait_flag(no_wait: bool) -> crate::deploy::Wait {
    if no_wait {
        crate::deploy::Wait::NoWait
    } else {
        crate::deploy::Wait::Wait
    }
}
