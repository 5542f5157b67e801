//! A push's pre-receive hook, daemon side: find the push, export the commit, deploy it.
//! A non-zero status makes git refuse the push, so a failed deploy also leaves the ref unchanged.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::commands::run_deploy;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source, Wait};
use crate::git::{deploy_target, export_commit, not_deployed, RefUpdate};
use crate::io::Io;

pub async fn run(
    ctx: &Ctx,
    push_id: &str,
    updates: &[RefUpdate],
    object_dirs: Vec<PathBuf>,
    io: &mut Io,
) -> i32 {
    let Some(push) = ctx.pushes.get(push_id) else {
        io.warn("This push is not known to the Berth daemon; push through Berth's SSH server")
            .await;
        return 1;
    };
    let spec = match ctx.source_spec(&push.app) {
        Ok(spec) => spec,
        Err(err) => {
            io.warn(&err.to_string()).await;
            return 1;
        }
    };
    let Some(target) = deploy_target(updates, &spec.branch) else {
        for update in updates {
            io.warn(&not_deployed(update, &push.app, &spec.branch))
                .await;
        }
        return 0;
    };
    ctx.pushes.set_commit(push_id, &target.new);
    let app = Some(&push.app);
    if push.created {
        let args = [push.app.to_string()];
        let _ = ctx
            .trigger("post-create", &args, app, &push.caller, io)
            .await;
    }
    let args = [
        push.app.to_string(),
        target.new.clone(),
        target.refname.clone(),
    ];
    if let Err(err) = ctx
        .trigger("pre-receive", &args, app, &push.caller, io)
        .await
    {
        io.warn(&err.to_string()).await;
        return 1;
    }
    let repo = ctx.store.layout().repo_dir(&push.app);
    let rev = target.new.clone();
    let exported =
        tokio::task::spawn_blocking(move || export_commit(&repo, &rev, &object_dirs, &spec)).await;
    let checkout = match exported {
        Ok(Ok(checkout)) => checkout,
        Ok(Err(err)) => {
            io.warn(&err.to_string()).await;
            return 1;
        }
        Err(err) => {
            tracing::error!(error = %err, "export task failed");
            io.warn("Berth could not read the pushed commit").await;
            return 1;
        }
    };
    // The deploy stops (before its switch) if either the pusher or the hook process goes away.
    // The push's token ends when the push does, so this task never outlives it.
    let either = CancellationToken::new();
    let (hook_gone, pusher_gone, gone) = (io.hangup.clone(), push.hangup.clone(), either.clone());
    ctx.tracker.spawn(async move {
        tokio::select! {
            _ = hook_gone.cancelled() => {}
            _ = pusher_gone.cancelled() => {}
        }
        gone.cancel();
    });
    io.hangup = either;
    let request = DeployRequest {
        app: push.app.clone(),
        caller: push.caller.clone(),
        source: Source::Push(checkout),
        wait: Wait::Wait,
    };
    match run_deploy(ctx, request, io).await {
        Ok(_) => 0,
        Err(err) => {
            io.warn(&err.to_string()).await;
            err.exit_code()
        }
    }
}
