//! `enter <app> [<process>[.N]] [command...]`: runs a command (a shell by default) inside a
//! running container of the app, attached to the user's terminal when `ssh -t` gave one.

use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub dyno: String,
    pub command: Vec<String>,
}

impl Args {
    /// `enter shop`, `enter shop worker`, `enter shop web.2 ls -la`.
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let Some((app, rest)) = words.split_first() else {
            return Err(CommandError::Usage(
                "app name required; usage: enter <app> [process[.N]] [command...]".into(),
            ));
        };
        let (dyno, command) = match rest.split_first() {
            Some((dyno, command)) => {
                let dyno = if dyno.contains('.') {
                    dyno.clone()
                } else {
                    format!("{dyno}.1")
                };
                (dyno, command.to_vec())
            }
            None => ("web.1".to_string(), Vec::new()),
        };
        let command = if command.is_empty() {
            vec!["/bin/sh".to_string()]
        } else {
            command
        };
        Ok(Args {
            app: AppName::parse(app)?,
            dyno,
            command,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let engine = |err: crate::scheduler::SchedulerError| CommandError::Internal(err.to_string());
    let instance = ctx
        .scheduler
        .instances(Some(&args.app))
        .await
        .map_err(engine)?
        .into_iter()
        .filter(|i| i.running && Some(i.release) == record.current_release)
        .find(|i| i.dyno() == args.dyno)
        .ok_or_else(|| CommandError::User(format!("{} has no running {}", args.app, args.dyno)))?;
    let hangup = io.hangup.clone();
    let status = ctx
        .scheduler
        .exec_attached(
            &instance.id,
            &args.command,
            io.tty,
            &mut io.stdin,
            &mut io.stdout,
            &hangup,
        )
        .await
        .map_err(engine)?;
    CommandError::from_status(status)
}
