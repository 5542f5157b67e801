//! Triggers: each enabled plugin's executable named after the trigger, run in plugin name
//! order with the trigger's arguments as argv and its environment, its output streamed to the
//! user line by line as it comes, and bounded in time (killed at the plugin's timeout). A
//! failing `pre-*` or `check-deploy` trigger stops the operation; a failing `post-*` one is
//! only reported.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::{is_executable, Plugin, Registry};
use crate::io::Io;

/// Every trigger Berth fires.
pub const TRIGGERS: &[&str] = &[
    "post-create",
    "pre-delete",
    "post-delete",
    "post-app-rename",
    "post-config-update",
    "post-domains-update",
    "post-proxy-ports-update",
    "post-certs-update",
    "post-certs-remove",
    "pre-restart",
    "post-stop",
    "pre-receive",
    "pre-build",
    "post-build",
    "post-release",
    "pre-deploy",
    "check-deploy",
    "post-deploy",
    "deploy-failed",
    "backup-export",
    "backup-import",
];

/// How long a trigger may run unless its plugin.toml says (`[timeouts]`, in seconds).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest line of a trigger's output passed on; the rest of it is cut.
const MAX_LINE: usize = 4096;

/// One firing: the trigger's name, its arguments and environment.
pub struct Trigger<'a> {
    pub name: &'static str,
    pub args: &'a [String],
    pub env: &'a [(&'static str, String)],
}

impl Trigger<'_> {
    /// Whether a failure stops what fired it (`pre-*`, `check-deploy`, and a backup's).
    pub fn aborts(&self) -> bool {
        self.name.starts_with("pre-")
            || ["check-deploy", "backup-export", "backup-import"].contains(&self.name)
    }
}

/// Why a trigger failed, in one line.
#[derive(Debug, thiserror::Error)]
#[error("The {trigger} trigger of plugin {plugin} {why}")]
pub struct TriggerFailed {
    pub trigger: &'static str,
    pub plugin: String,
    pub why: String,
}

/// Runs `trigger` in every enabled plugin that has it, streaming their output to `io` as
/// indented lines. A failure of an aborting trigger stops there and is returned; a failure of
/// another is reported on `io` and the next plugin runs.
pub async fn fire(
    registry: &Registry,
    trigger: &Trigger<'_>,
    data_dir: &Path,
    io: &mut Io,
) -> Result<(), TriggerFailed> {
    for plugin in registry.list().into_iter().filter(|p| p.enabled) {
        if let Err(failed) = fire_in(registry, &plugin, trigger, data_dir, io).await {
            if trigger.aborts() {
                return Err(failed);
            }
            io.warn(&failed.to_string()).await;
        }
    }
    Ok(())
}

/// Runs `trigger` in `plugin` if it has it (enabled or not).
pub async fn fire_in(
    registry: &Registry,
    plugin: &Plugin,
    trigger: &Trigger<'_>,
    data_dir: &Path,
    io: &mut Io,
) -> Result<(), TriggerFailed> {
    let program = plugin.dir.join(trigger.name);
    if !is_executable(&program) {
        return Ok(());
    }
    let limit = plugin
        .manifest
        .timeouts
        .get(trigger.name)
        .map_or(DEFAULT_TIMEOUT, |secs| Duration::from_secs(*secs));
    tracing::info!(plugin = %plugin.name, trigger = trigger.name, "trigger");
    let process = registry.process(&program, plugin);
    run(process, trigger, data_dir, limit, io)
        .await
        .map_err(|why| TriggerFailed {
            trigger: trigger.name,
            plugin: plugin.name.clone(),
            why,
        })
}

/// Runs one trigger program; `Err` says how it failed.
async fn run(
    mut process: tokio::process::Command,
    trigger: &Trigger<'_>,
    data_dir: &Path,
    limit: Duration,
    io: &mut Io,
) -> Result<(), String> {
    let mut child = process
        .args(trigger.args)
        .envs(trigger.env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("BERTH_DATA_DIR", data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not start: {err}"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("has no output pipes".into());
    };
    let mut out = BufReader::new(stdout).lines();
    let mut err = BufReader::new(stderr).lines();
    let (mut out_open, mut err_open) = (true, true);
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    loop {
        let (from_out, line) = tokio::select! {
            _ = &mut deadline => {
                let _ = child.kill().await;
                return Err(format!("took longer than {}s and was stopped", limit.as_secs()));
            }
            _ = io.hangup.cancelled() => {
                let _ = child.kill().await;
                return Err("was stopped: the client went away".into());
            }
            line = out.next_line(), if out_open => (true, line),
            line = err.next_line(), if err_open => (false, line),
            status = child.wait(), if !out_open && !err_open => {
                return match status {
                    Ok(status) if status.success() => Ok(()),
                    Ok(status) => Err(match status.code() {
                        Some(code) => format!("failed with exit status {code}"),
                        None => "was killed by a signal".into(),
                    }),
                    Err(err) => Err(format!("could not be waited for: {err}")),
                };
            }
        };
        match line {
            Ok(Some(mut text)) => {
                if text.len() > MAX_LINE {
                    let mut cut = MAX_LINE;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                }
                io.line(&format!("       {text}")).await;
            }
            // A stream ended (or is not text): the other, then the exit status.
            Ok(None) | Err(_) if from_out => out_open = false,
            Ok(None) | Err(_) => err_open = false,
        }
    }
}
