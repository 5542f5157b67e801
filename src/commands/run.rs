//! `run <app> <command...>`: a one-off container of the current release, with the app's config
//! and mounts; its output streams back and its exit status becomes the command's.
//! If the first word names a Procfile process type, that process's command runs (Dokku).
//! Standard input is attached; with `ssh -t` the container gets a terminal (`run app sh`).

use super::{CommandError, Io};
use crate::context::Ctx;
use crate::deploy::{instance_spec, RunSettings};
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub command: Vec<String>,
}

impl Args {
    /// Everything after the app name is the command, flags included, untouched.
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let words: Vec<&String> = words.iter().filter(|w| *w != "--no-tty").collect();
        let Some((app, command)) = words.split_first() else {
            return Err(CommandError::Usage(
                "app name required; usage: run <app> <command...>".into(),
            ));
        };
        if command.is_empty() {
            return Err(CommandError::Usage(
                "a command is required; usage: run <app> <command...>".into(),
            ));
        }
        Ok(Args {
            app: AppName::parse(app)?,
            command: command.iter().map(|w| w.to_string()).collect(),
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let Some(release) = record.current() else {
        return Err(CommandError::User(format!(
            "{} has not been deployed",
            args.app
        )));
    };
    let mut spec = instance_spec(
        &args.app,
        release,
        "run",
        1,
        &RunSettings::new(ctx, &record),
    );
    spec.command = Some(match release.processes.get(&args.command[0]) {
        Some(procfile_command) => vec!["/bin/sh".into(), "-c".into(), procfile_command.clone()],
        None => args.command.clone(),
    });
    let hangup = io.hangup.clone();
    let status = ctx
        .scheduler
        .run_attached(&spec, io.tty, &mut io.stdin, &mut io.stdout, &hangup)
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    CommandError::from_status(status)
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
        let args = Args::parse(&words).unwrap();
        assert_eq!(args.command, vec!["ls", "-la", "--color=never"]);
        assert!(Args::parse(&words[..1]).is_err());
    }
}
