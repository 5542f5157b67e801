//! `run <app> <command...>`: a one-off container of the current release, with the app's config
//! and mounts; its output streams back and its exit status becomes the command's.
//! `run:detached <app> <command...>` starts one that runs on its own (removed when it exits)
//! and prints its name (`run_list` lists, follows and stops them).
//! If the first word names a Procfile process type, that process's command runs (Dokku).
//! Standard input is attached; with `ssh -t` the container gets a terminal (`run app sh`)
//! unless `--no-tty`. `-e|--env KEY=VALUE` (before the app name) adds or overrides config vars
//! for this run only; `--ttl-seconds N` (a day by default) is how long it may run.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::config_common::valid_key;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::deploy::{expire_later, one_off_spec, with_ttl, RunSettings, DEFAULT_TTL};
use crate::names::AppName;
use crate::scheduler::InstanceSpec;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub command: Vec<String>,
    /// `-e KEY=VALUE`: over the app's config, for this run only.
    pub env: BTreeMap<String, String>,
    pub no_tty: bool,
    /// `run:detached`.
    pub detached: bool,
    /// `--ttl-seconds`: stopped after this long.
    pub ttl: Duration,
}

/// `KEY=VALUE` of `-e`: a valid key, the value as typed (`=` and spaces kept).
fn env_pair(word: &str) -> Result<(String, String), CommandError> {
    let Some((key, value)) = word.split_once('=') else {
        return Err(CommandError::User(format!(
            "-e takes KEY=VALUE, not \"{}\"",
            crate::names::shown(word)
        )));
    };
    valid_key(key)?;
    Ok((key.to_string(), value.to_string()))
}

/// `--ttl-seconds`' value: a whole number of seconds, at least one.
fn ttl_seconds(raw: Option<&str>) -> Result<Duration, CommandError> {
    match raw.map(str::parse::<u64>) {
        Some(Ok(secs)) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(CommandError::User(format!(
            "--ttl-seconds takes a number of seconds, not \"{}\"",
            crate::names::shown(raw.unwrap_or_default())
        ))),
    }
}

impl Args {
    /// Flags come before the app name; everything after it is the command, flags included,
    /// untouched.
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let usage = super::help::usage(name);
        let mut env = BTreeMap::new();
        let mut no_tty = false;
        let mut ttl = DEFAULT_TTL;
        let mut words = words;
        loop {
            match words.first().map(String::as_str) {
                Some("--no-tty") => no_tty = true,
                Some("-e" | "--env") => {
                    let Some(pair) = words.get(1) else {
                        return Err(CommandError::Usage(format!(
                            "-e takes KEY=VALUE; usage: {usage}"
                        )));
                    };
                    env.extend([env_pair(pair)?]);
                    words = &words[1..];
                }
                Some(word) if word.starts_with("--env=") => {
                    env.extend([env_pair(&word["--env=".len()..])?]);
                }
                Some("--ttl-seconds") => {
                    ttl = ttl_seconds(words.get(1).map(String::as_str))?;
                    words = &words[1..];
                }
                _ => break,
            }
            words = &words[1..];
        }
        let Some((app, command)) = words.split_first() else {
            return Err(CommandError::Usage(format!(
                "app name required; usage: {usage}"
            )));
        };
        if command.is_empty() {
            return Err(CommandError::Usage(format!(
                "a command is required; usage: {usage}"
            )));
        }
        Ok(Args {
            app: AppName::parse(app)?,
            command: command.to_vec(),
            env,
            no_tty,
            detached: name == "run:detached",
            ttl,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let Some(release) = record.current_with_config() else {
        return Err(CommandError::User(format!(
            "{} has not been deployed",
            args.app
        )));
    };
    // Detached runs get Heroku-style numbers (`run.4821`) to tell them apart.
    let index = match args.detached {
        true => rand::random_range(1000..10000),
        false => 1,
    };
    let mut spec = one_off_spec(
        &args.app,
        &release,
        "run",
        index,
        &RunSettings::new(ctx, &record)?,
    );
    spec.env.extend(args.env);
    spec.command = Some(match release.processes.get(&args.command[0]) {
        Some(procfile_command) => vec!["/bin/sh".into(), "-c".into(), procfile_command.clone()],
        None => args.command.clone(),
    });
    if args.detached {
        return start_detached(ctx, io, spec, args.ttl).await;
    }
    with_ttl(&mut spec, args.ttl);
    // The run stops when the client hangs up or its time to live ends, whichever comes first.
    let stop = io.hangup.child_token();
    let expired = CancellationToken::new();
    let timer = {
        let (stop, expired) = (stop.clone(), expired.clone());
        async move {
            tokio::time::sleep(args.ttl).await;
            expired.cancel();
            stop.cancel();
            std::future::pending::<std::convert::Infallible>().await
        }
    };
    let tty = io.tty && !args.no_tty;
    let attached = ctx
        .scheduler
        .run_attached(&spec, tty, &mut io.stdin, &mut io.stdout, &stop);
    let status = tokio::select! {
        status = attached => status,
        never = timer => match never {},
    }
    .map_err(|err| CommandError::Internal(err.to_string()))?;
    if expired.is_cancelled() {
        return Err(CommandError::User(format!(
            "The run was stopped: its time to live ({}s, --ttl-seconds) is up",
            args.ttl.as_secs()
        )));
    }
    CommandError::from_status(status)
}

/// Starts `spec` as a one-off on its own, to be stopped after `ttl`; prints its name.
pub async fn start_detached(
    ctx: &Ctx,
    io: &mut Io,
    mut spec: InstanceSpec,
    ttl: Duration,
) -> Result<(), CommandError> {
    with_ttl(&mut spec, ttl);
    let started = ctx
        .scheduler
        .run_detached(&spec)
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    io.line(&started.name).await;
    expire_later(ctx, started);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_keeps_its_flags() {
        let words: Vec<String> = ["shop", "ls", "-la", "--color=never"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let args = Args::parse("run", &words).unwrap();
        assert_eq!(args.command, vec!["ls", "-la", "--color=never"]);
        assert!(Args::parse("run", &words[..1]).is_err());
    }

    #[test]
    fn the_time_to_live_is_whole_seconds() {
        let words = crate::commands::argv::words("--ttl-seconds 90 shop true");
        assert_eq!(
            Args::parse("run:detached", &words).unwrap().ttl,
            Duration::from_secs(90)
        );
        let words = crate::commands::argv::words("shop true");
        assert_eq!(Args::parse("run", &words).unwrap().ttl, DEFAULT_TTL);
        for bad in [
            "--ttl-seconds 0 shop true",
            "--ttl-seconds soon shop true",
            "--ttl-seconds",
        ] {
            let words = crate::commands::argv::words(bad);
            assert!(Args::parse("run", &words).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_before_the_app_set_env_and_tty() {
        let words =
            crate::commands::argv::words("-e A=1 --no-tty --env=B=x=y shop env -e C=3 --no-tty");
        let args = Args::parse("run", &words).unwrap();
        assert_eq!(args.app.as_str(), "shop");
        assert!(args.no_tty);
        assert_eq!(
            args.env,
            BTreeMap::from([("A".into(), "1".into()), ("B".into(), "x=y".into())])
        );
        assert_eq!(args.command, ["env", "-e", "C=3", "--no-tty"]);
        for bad in ["-e shop ls", "-e 1A=b shop ls", "-e"] {
            let words = crate::commands::argv::words(bad);
            assert!(Args::parse("run", &words).is_err(), "{bad}");
        }
    }
}
