//! `nginx:access-logs <app> [-t]` and `nginx:error-logs <app> [-t]`: the app's latest proxy
//! access lines or error lines, then with `-t` new ones until the client goes away, under the
//! names Dokku's nginx plugin gives them. Both start over when the daemon restarts.

use tokio::sync::broadcast::{error::RecvError, Receiver};

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

/// Lines shown before following.
const LINES: usize = 100;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    /// `-t`: follow.
    pub follow: bool,
    /// `nginx:error-logs` rather than `nginx:access-logs`.
    pub errors: bool,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let follow = argv.flag("-t") | argv.flag("--tail");
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(Args {
            app,
            follow,
            errors: name == "nginx:error-logs",
        })
    }

    pub fn command(&self) -> &'static str {
        match self.errors {
            true => "nginx:error-logs",
            false => "nginx:access-logs",
        }
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = &args.app;
    ctx.store.app(app)?;
    if args.errors {
        // An app that was never routed has had no errors.
        let Some(route) = ctx.routes.route(app) else {
            return Ok(());
        };
        if route.policy.error_log_off {
            return Err(off(app, "error"));
        }
        let (kept, feed) = route.errors.tail(LINES, args.follow);
        return show(io, kept, feed, |line, out| out.push(line.to_string())).await;
    }
    if !ctx.access_logs.enabled() {
        return Err(CommandError::User(
            "The access log is off ([proxy] access_log, or RUST_LOG without berth::access)".into(),
        ));
    }
    if ctx
        .routes
        .route(app)
        .is_some_and(|route| route.policy.access_log_off)
    {
        return Err(off(app, "access"));
    }
    // The kept batches hold every app's lines (the latest 4 MiB), as they were written.
    let (kept, feed) = ctx.access_logs.tail(app.as_str(), LINES, args.follow);
    show(io, kept, feed, |batch, out| {
        out.extend(batch.lines_of(app.as_str()).map(str::to_string))
    })
    .await
}

/// The refusal for an app whose `kind` log is off.
fn off(app: &AppName, kind: &str) -> CommandError {
    CommandError::User(format!(
        "The {kind} log is off for {app}; nginx:set {app} {kind}-log-path (no value) turns it on"
    ))
}

/// Prints `kept`, then the lines `ours` picks out of each later item on `feed`.
async fn show<K: std::fmt::Display, T: Clone>(
    io: &mut Io,
    kept: Vec<K>,
    feed: Option<Receiver<T>>,
    ours: impl Fn(&T, &mut Vec<String>),
) -> Result<(), CommandError> {
    for line in kept {
        io.out(&format!("{line}\n")).await;
    }
    let Some(mut feed) = feed else {
        return Ok(());
    };
    let hangup = io.hangup.clone();
    let mut lines = Vec::new();
    loop {
        tokio::select! {
            _ = hangup.cancelled() => return Ok(()),
            next = feed.recv() => match next {
                Ok(item) => {
                    ours(&item, &mut lines);
                    for line in lines.drain(..) {
                        io.out(&format!("{line}\n")).await;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}
