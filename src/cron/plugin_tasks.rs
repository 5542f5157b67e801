//! Plugins' scheduled commands: an enabled plugin may keep a `cron` file in its data dir
//! (`BERTH_PLUGIN_DATA/cron`), one task a line: a schedule (five fields, or one `@daily`-style
//! word), then one of its own subcommands and its arguments, as words (never a shell). Each
//! minute the due ones run as `NAME:sub ARGS` through the plugin's program, as the server's CLI
//! would run them (`BERTH_KEY` is `berth-cron`), their output in the daemon log. A task whose
//! previous run has not ended is not started again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::runner::{Running, RunningTask};
use crate::context::Ctx;
use crate::crontab::Schedule;
use crate::plugins::Plugin;

/// How much of a plugin's `cron` file is read.
const MAX_FILE: u64 = 64 << 10;

/// One line of a plugin's `cron` file.
#[derive(Debug, PartialEq)]
pub struct PluginTask {
    pub schedule: String,
    pub sub: String,
    pub args: Vec<String>,
}

/// A line's task; `None` for blank lines, comments and lines without a subcommand.
pub fn parse_line(line: &str) -> Option<PluginTask> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first()?.starts_with('#') {
        return None;
    }
    let fields = if words[0].starts_with('@') { 1 } else { 5 };
    let (schedule, rest) = (words.get(..fields)?, words.get(fields..)?);
    let (sub, args) = rest.split_first()?;
    Some(PluginTask {
        schedule: schedule.join(" "),
        sub: sub.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    })
}

/// Every enabled plugin's tasks due in `minute`.
fn due(ctx: &Ctx, minute: &DateTime<Utc>) -> Vec<(Plugin, PluginTask)> {
    use std::io::Read;
    let mut due = Vec::new();
    for plugin in ctx.plugins.list().into_iter().filter(|p| p.enabled) {
        let path = ctx.plugins.data_dir(&plugin).join("cron");
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let mut text = String::new();
        if file.take(MAX_FILE).read_to_string(&mut text).is_err() {
            tracing::warn!(path = %path.display(), "cron: a plugin's cron file is not text");
            continue;
        }
        for task in text.lines().filter_map(parse_line) {
            match Schedule::parse(&task.schedule) {
                Ok(schedule) if schedule.matches(minute) => due.push((plugin.clone(), task)),
                Ok(_) => {}
                Err(err) => tracing::warn!(plugin = %plugin.name, error = %err, "cron: skipped"),
            }
        }
    }
    due
}

/// Starts every plugin task due in `minute`.
pub fn run_due(ctx: &Arc<Ctx>, minute: &DateTime<Utc>, running: &Running) {
    for (plugin, task) in due(ctx, minute) {
        let key = format!("{} {}", task.sub, task.args.join(" "));
        let Some(place) = RunningTask::start(running, &format!("plugin {}", plugin.name), &key)
        else {
            tracing::info!(plugin = %plugin.name, task = %key, "cron: still running from an earlier minute; not started again");
            continue;
        };
        let ctx = ctx.clone();
        ctx.tracker.clone().spawn(async move {
            let _place = place;
            run(&ctx, &plugin, &task).await;
        });
    }
}

async fn run(ctx: &Ctx, plugin: &Plugin, task: &PluginTask) {
    let command = format!("{}:{}", plugin.name, task.sub);
    let (stdout, out) = tokio::io::duplex(8192);
    let (stderr, err) = tokio::io::duplex(8192);
    let mut io = crate::io::Io {
        stdin: Box::new(tokio::io::empty()),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        tty: false,
        hangup: ctx.shutdown.child_token(),
        report: Default::default(),
    };
    for stream in [out, err] {
        let command = command.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(task = %command, "cron: {line}");
            }
        });
    }
    let env = [
        (
            "BERTH_DATA_DIR",
            ctx.store.layout().root().display().to_string(),
        ),
        ("BERTH_KEY", "berth-cron".to_string()),
    ];
    tracing::info!(task = %command, args = ?task.args, "cron: starting");
    let ran = crate::plugins::run_command(
        &ctx.plugins,
        plugin,
        &command,
        &task.sub,
        &task.args,
        &env,
        &mut io,
    )
    .await;
    match ran {
        Ok(Some(status)) => tracing::info!(task = %command, status, "cron: finished"),
        Ok(None) => tracing::error!(task = %command, "cron: the plugin has no such command"),
        Err(err) => tracing::error!(task = %command, error = %err, "cron: could not run"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_schedule_then_a_subcommand_and_its_words() {
        assert_eq!(
            parse_line("0 3 * * * backup db nightly 7"),
            Some(PluginTask {
                schedule: "0 3 * * *".into(),
                sub: "backup".into(),
                args: vec!["db".into(), "nightly".into(), "7".into()],
            })
        );
        let daily = parse_line("@daily prune").unwrap();
        assert_eq!(
            (daily.schedule.as_str(), daily.sub.as_str()),
            ("@daily", "prune")
        );
        for ignored in ["", "   ", "# 0 3 * * * backup", "0 3 * * *"] {
            assert_eq!(parse_line(ignored), None, "{ignored:?}");
        }
    }
}
