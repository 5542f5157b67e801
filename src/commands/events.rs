//! `events [-n N] [-t] [--format stdout|json]`: the audit log's latest events, one per line
//! (`-t`: then new ones as they happen); a developer key sees only its apps' events. As JSON,
//! one array; with `-t`, JSON Lines (one object per event and line), so a follower can parse
//! each as it comes. Dokku's `events:on|off|list` are
//! accepted: the log is always on (an admin cannot switch off what records admins), and
//! `events:list` names what it records.

use super::access::{sight, Sight};
use super::argv::Argv;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::events::Event;

/// Events shown without `-n`.
const DEFAULT_LINES: usize = 20;

#[derive(Debug)]
pub enum Args {
    Show {
        lines: usize,
        follow: bool,
        json: bool,
    },
    On,
    Off,
    /// Whether as JSON.
    List(bool),
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let args = match name {
            "events:on" => Args::On,
            "events:off" => Args::Off,
            "events:list" => Args::List(argv.json_format("stdout")?),
            _ => {
                let follow = argv.flag("-t") | argv.flag("--tail");
                let json = argv.json_format("stdout")?;
                let lines = match argv.option("-n")?.or(argv.option("--num")?) {
                    None => DEFAULT_LINES,
                    Some(n) => n.parse().map_err(|_| {
                        CommandError::User(format!(
                            "-n takes a number of events, not \"{}\"",
                            crate::names::shown(&n)
                        ))
                    })?,
                };
                Args::Show {
                    lines,
                    follow,
                    json,
                }
            }
        };
        argv.finish()?;
        Ok(args)
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let (lines, follow, json) = match args {
        Args::Show {
            lines,
            follow,
            json,
        } => (lines, follow, json),
        Args::On => {
            io.step("Events are always recorded").await;
            return Ok(());
        }
        Args::Off => {
            return Err(CommandError::User(
                "The audit log cannot be turned off; it keeps itself bounded (events.log, 2 MiB at most)"
                    .into(),
            ))
        }
        Args::List(true) => return super::output::json(io, &["command", "push"]).await,
        Args::List(false) => {
            io.line("command").await;
            io.line("push").await;
            return Ok(());
        }
    };
    let sight = sight(ctx, caller)?;
    let keep = |event: &Event| match &sight {
        Sight::Every => true,
        Sight::Granted(..) => event.app.as_ref().is_some_and(|app| sight.sees(app)),
    };
    // Subscribed before reading, so nothing recorded in between is missed.
    let mut live = ctx.events.follow();
    let latest = ctx.events.latest(lines, keep);
    if json && !follow {
        return super::output::json(io, &latest).await;
    }
    for event in latest {
        show(io, &event, json).await?;
    }
    if !follow {
        return Ok(());
    }
    io.flush().await;
    let hangup = io.hangup.clone();
    loop {
        let event = tokio::select! {
            _ = hangup.cancelled() => return Ok(()),
            _ = ctx.shutdown.cancelled() => return Ok(()),
            event = live.recv() => event,
        };
        match event {
            Ok(event) if keep(&event) => {
                show(io, &event, json).await?;
                io.flush().await;
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

/// One event: its line, or its JSON object on one line.
async fn show(io: &mut Io, event: &Event, json: bool) -> Result<(), CommandError> {
    match json {
        true => super::output::json(io, event).await,
        false => {
            io.line(&event.to_string()).await;
            Ok(())
        }
    }
}
