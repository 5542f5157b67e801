//! A push over SSH: relays the client to the real `git receive-pack`, whose pre-receive hook
//! (this binary again) asks the daemon to deploy. The app is created on its first push.

use std::process::Stdio;
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio_util::task::TaskTracker;

use super::run::Client;
use crate::commands::access;
use crate::context::Ctx;
use crate::events::{Event, Kind};
use crate::git::{ensure_repo, receive_pack_command, PushContext};
use crate::names::AppName;

/// Runs the push and records it in the audit log (the deployed commit is the hook's to say).
pub async fn run(ctx: &Ctx, tracker: &TaskTracker, app: AppName, pusher: Client) -> i32 {
    let started = Instant::now();
    let (key, source) = (pusher.caller.to_string(), pusher.source.clone());
    let (status, commit) = push(ctx, tracker, app.clone(), pusher).await;
    ctx.events.record(Event {
        time: crate::clock::now_unix(),
        kind: Kind::Push,
        key,
        source,
        command: "git-receive-pack".into(),
        app: Some(app),
        status,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        commit,
    });
    status
}

/// The push's exit status and the commit its hook deployed.
async fn push(
    ctx: &Ctx,
    tracker: &TaskTracker,
    app: AppName,
    pusher: Client,
) -> (i32, Option<String>) {
    let Client {
        caller,
        source: _,
        tty: _,
        stdin,
        stdout,
        mut stderr,
        hangup,
    } = pusher;
    let fail = |message: String| format!(" !     {message}\n");
    if let Err(err) = access::check_push(ctx, &caller, &app) {
        let _ = stderr.write_all(fail(err.to_string()).as_bytes()).await;
        return (1, None);
    }
    let created = !ctx.store.app_exists(&app);
    if created {
        if ctx.store.global().disable_autocreation {
            let refused = format!("App {app} does not exist; create it first: apps:create {app}");
            let _ = stderr.write_all(fail(refused).as_bytes()).await;
            return (1, None);
        }
        let _ = stderr
            .write_all(format!("-----> Creating {app}...\n").as_bytes())
            .await;
        let made = ctx.create_app(&app).map_err(|err| err.to_string());
        let granted = made
            .and_then(|_| access::grant_creator(ctx, &caller, &app).map_err(|err| err.to_string()));
        if let Err(err) = granted {
            let _ = stderr.write_all(fail(err).as_bytes()).await;
            return (1, None);
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
            return (1, None);
        }
    };
    let _turn = match ctx.pushes.try_turn(&app) {
        Some(turn) => turn,
        None => {
            let waiting = format!("-----> Waiting for the push to {app} in progress to finish\n");
            let _ = stderr.write_all(waiting.as_bytes()).await;
            tokio::select! {
                turn = ctx.pushes.wait_turn(&app) => turn,
                _ = ctx.shutdown.cancelled() => return (1, None),
            }
        }
    };
    let ticket = ctx.pushes.register(PushContext {
        app: app.clone(),
        caller,
        hangup: hangup.clone(),
        created,
        commit: None,
    });
    let mut command = receive_pack_command(
        layout,
        &repo,
        &ticket.id,
        &ctx.config.control_socket(),
        ctx.config.build.max_push_size.bytes(),
    );
    command.stdin(Stdio::piped());
    let child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            tracing::error!(error = %err, "cannot start git receive-pack");
            let _ = stderr
                .write_all(fail("cannot start git on the server".into()).as_bytes())
                .await;
            return (1, None);
        }
    };
    // A client that hangs up mid-push takes git (and so the hook and its deploy) down with it.
    let streams = (stdin, stdout, stderr);
    let status = super::run::relay_child(tracker, child, streams, &hangup).await;
    let commit = ctx.pushes.deployed(&ticket.id);
    drop(ticket);
    match status {
        Ok(status) => (status.code().unwrap_or(1), commit),
        Err(err) => {
            tracing::error!(error = %err, "git receive-pack failed");
            (1, commit)
        }
    }
}
