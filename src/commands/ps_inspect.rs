//! `ps:inspect <app>`: `docker inspect` of the app's containers, with config values hidden.

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::context::Ctx;

/// Replaces every `KEY=value` of a container's environment with `KEY=<hidden>`.
fn hide_env(mut inspect: serde_json::Value) -> serde_json::Value {
    if let Some(env) = inspect
        .pointer_mut("/Config/Env")
        .and_then(|e| e.as_array_mut())
    {
        for entry in env.iter_mut() {
            if let Some(key) = entry
                .as_str()
                .and_then(|e| e.split_once('='))
                .map(|(k, _)| k)
            {
                *entry = format!("{key}=<hidden>").into();
            }
        }
    }
    inspect
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    let engine = |err: crate::scheduler::SchedulerError| CommandError::Internal(err.to_string());
    let mut described = Vec::new();
    for instance in ctx
        .scheduler
        .instances(Some(&args.app))
        .await
        .map_err(engine)?
    {
        described.push(hide_env(
            ctx.scheduler.inspect(&instance.id).await.map_err(engine)?,
        ));
    }
    let text = serde_json::to_string_pretty(&described)
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    io.line(&text).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_hidden() {
        let inspect = serde_json::json!({"Config": {"Env": ["SECRET=hunter2", "PORT=5000"]}});
        assert_eq!(
            hide_env(inspect)["Config"]["Env"],
            serde_json::json!(["SECRET=<hidden>", "PORT=<hidden>"])
        );
    }
}
