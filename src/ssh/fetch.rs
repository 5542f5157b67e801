//! A fetch over SSH (`git clone ssh://berth@host:2222/shop`, `git fetch`): relays the client to
//! the real `git upload-pack` of the app's repository, for keys that may use the app, so the
//! last pushed source can always be had back from the server. The repository path is made from
//! the checked app name only.

use std::process::Stdio;
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio_util::task::TaskTracker;

use super::run::Client;
use crate::commands::access::{self, Need};
use crate::context::Ctx;
use crate::events::{Event, Kind};
use crate::git::{point_head, DeployBranch};
use crate::names::AppName;

/// A fetch that sends nothing for this long is ended (`git upload-pack --timeout`).
const IDLE_SECS: u32 = 300;

/// Runs the fetch and records it in the audit log.
pub async fn run(ctx: &Ctx, tracker: &TaskTracker, app: AppName, client: Client) -> i32 {
    let started = Instant::now();
    let (key, source) = (client.caller.to_string(), client.source.clone());
    let status = fetch(ctx, tracker, &app, client).await;
    ctx.events.record(Event {
        time: crate::clock::now_unix(),
        kind: Kind::Command,
        key,
        source,
        command: "git-upload-pack".into(),
        app: Some(app),
        status,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        commit: None,
    });
    status
}

async fn fetch(ctx: &Ctx, tracker: &TaskTracker, app: &AppName, client: Client) -> i32 {
    let Client {
        caller,
        stdin,
        stdout,
        mut stderr,
        hangup,
        ..
    } = client;
    let refused = match access::check(ctx, &caller, &Need::App(app.clone())) {
        Err(err) => Some(err.to_string()),
        Ok(()) if !ctx.store.app_exists(app) => Some(format!("App {app} does not exist")),
        Ok(()) => None,
    };
    let repo = ctx.store.layout().repo_dir(app);
    let refused = refused.or_else(|| {
        (!repo.join("HEAD").is_file()).then(|| format!("{app} has no pushed code to fetch"))
    });
    if let Some(message) = refused {
        let _ = stderr
            .write_all(format!(" !     {message}\n").as_bytes())
            .await;
        return 1;
    }
    // A clone checks out what `HEAD` names: the branch that deploys.
    if let Ok(record) = ctx.store.app(app) {
        let branch = DeployBranch::of(&record.git, &ctx.store.global().git);
        if let Err(err) = point_head(&repo, &branch.refs()) {
            tracing::warn!(app = %app, error = %err, "cannot point the repository's HEAD at the deploy branch");
        }
    }
    let child = tokio::process::Command::new("git")
        .arg("upload-pack")
        .arg("--strict")
        .arg(format!("--timeout={IDLE_SECS}"))
        .arg(&repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(err) => {
            tracing::error!(error = %err, "cannot start git upload-pack");
            let _ = stderr
                .write_all(b" !     cannot start git on the server\n")
                .await;
            return 1;
        }
    };
    let streams = (stdin, stdout, stderr);
    match super::run::relay_child(tracker, child, streams, &hangup).await {
        Ok(status) => status.code().unwrap_or(1),
        Err(err) => {
            tracing::error!(error = %err, "git upload-pack failed");
            1
        }
    }
}
