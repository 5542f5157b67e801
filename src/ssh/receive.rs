//! A push over SSH: relays the channel to the real `git receive-pack`, whose pre-receive hook
//! (this binary again) asks the daemon to deploy. The app is created on its first push.

use std::process::Stdio;

use russh::ChannelReadHalf;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::caller::Caller;
use crate::commands::access;
use crate::context::Ctx;
use crate::git::{ensure_repo, receive_pack_command, PushContext};
use crate::names::AppName;

pub async fn run<O, E>(
    ctx: &Ctx,
    tracker: &TaskTracker,
    caller: Caller,
    app: AppName,
    read_half: ChannelReadHalf,
    mut stdout: O,
    mut stderr: E,
) -> i32
where
    O: AsyncWrite + Unpin + Send + 'static,
    E: AsyncWrite + Unpin + Send + 'static,
{
    let fail = |message: String| format!(" !     {message}\n");
    if let Err(err) = access::check_push(ctx, &caller, &app) {
        let _ = stderr.write_all(fail(err.to_string()).as_bytes()).await;
        return 1;
    }
    let created = !ctx.store.app_exists(&app);
    if created {
        if ctx.store.global().disable_autocreation {
            let refused = format!("App {app} does not exist; create it first: apps:create {app}");
            let _ = stderr.write_all(fail(refused).as_bytes()).await;
            return 1;
        }
        let _ = stderr
            .write_all(format!("-----> Creating {app}...\n").as_bytes())
            .await;
        let made = ctx.create_app(&app).map_err(|err| err.to_string());
        let granted = made
            .and_then(|_| access::grant_creator(ctx, &caller, &app).map_err(|err| err.to_string()));
        if let Err(err) = granted {
            let _ = stderr.write_all(fail(err).as_bytes()).await;
            return 1;
        }
    }
    let layout = ctx.store.layout();
    let repo = match ensure_repo(layout, &app) {
        Ok(repo) => repo,
        Err(err) => {
            tracing::error!(app = %app, error = %err, "cannot prepare repository");
            let _ = stderr
                .write_all(fail(format!("cannot prepare the repository of {app}")).as_bytes())
                .await;
            return 1;
        }
    };
    let _turn = match ctx.pushes.try_turn(&app) {
        Some(turn) => turn,
        None => {
            let waiting = format!("-----> Waiting for the push to {app} in progress to finish\n");
            let _ = stderr.write_all(waiting.as_bytes()).await;
            tokio::select! {
                turn = ctx.pushes.wait_turn(&app) => turn,
                _ = ctx.shutdown.cancelled() => return 1,
            }
        }
    };
    let hangup = CancellationToken::new();
    let ticket = ctx.pushes.register(PushContext {
        app: app.clone(),
        caller,
        hangup: hangup.clone(),
        created,
    });
    let mut command = receive_pack_command(
        layout,
        &repo,
        &ticket.id,
        &ctx.config.control_socket(),
        ctx.config.build.max_push_size.bytes(),
    );
    command.stdin(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            tracing::error!(error = %err, "cannot start git receive-pack");
            let _ = stderr
                .write_all(fail("cannot start git on the server".into()).as_bytes())
                .await;
            return 1;
        }
    };
    let (Some(child_in), Some(mut child_out), Some(mut child_err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return 1;
    };
    let stdin_pump = tracker.spawn(super::channel_to_writer(
        read_half,
        child_in,
        hangup.clone(),
    ));
    let out_pump = tracker.spawn(async move { tokio::io::copy(&mut child_out, &mut stdout).await });
    let err_pump = tracker.spawn(async move { tokio::io::copy(&mut child_err, &mut stderr).await });
    // A client that hangs up mid-push takes git (and so the hook and its deploy) down with it.
    let status = tokio::select! {
        status = child.wait() => status,
        _ = hangup.cancelled() => {
            let _ = child.kill().await;
            child.wait().await
        }
    };
    let _ = out_pump.await;
    let _ = err_pump.await;
    stdin_pump.abort();
    drop(ticket);
    match status {
        Ok(status) => status.code().unwrap_or(1),
        Err(err) => {
            tracing::error!(error = %err, "git receive-pack failed");
            1
        }
    }
}
