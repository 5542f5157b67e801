//! `ps:inspect <app>`: `docker inspect` of the app's containers, with config values hidden.

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::context::Ctx;

/// Replaces every `KEY=value` of a container's environment (or of a Swarm task's container
/// spec, for a task on another node) with `KEY=<hidden>`.
fn hide_env(mut inspect: serde_json::Value) -> serde_json::Value {
    for pointer in ["/Config/Env", "/Spec/ContainerSpec/Env"] {
        let Some(env) = inspect.pointer_mut(pointer).and_then(|e| e.as_array_mut()) else {
            continue;
        };
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

    #[test]
    fn a_task_on_another_node_shows_no_config_values_either() {
        let task = serde_json::json!({"Spec": {"ContainerSpec": {"Env": ["SECRET=hunter2"]}}});
        assert_eq!(
            hide_env(task)["Spec"]["ContainerSpec"]["Env"],
            serde_json::json!(["SECRET=<hidden>"])
        );
    }
}
