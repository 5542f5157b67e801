//! `enter <app> [<process>[.N]|--container-id ID] [command...]`: runs a command (a shell by
//! default) inside a running container of the app, attached to the user's terminal when `ssh -t`
//! gave one.

use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

/// Which container `enter` runs in.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// `web.1`, `worker.2`.
    Dyno(String),
    /// `--container-id ID`: a container id or a prefix of one, as `docker ps` shows it.
    Container(String),
}

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub target: Target,
    pub command: Vec<String>,
}

impl Args {
    /// `enter shop`, `enter shop worker`, `enter shop web.2 ls -la`.
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let Some((app, rest)) = words.split_first() else {
            return Err(CommandError::Usage(format!(
                "app name required; usage: {}",
                super::usage("enter")
            )));
        };
        let (target, command) = match rest {
            [flag, id, command @ ..] if flag == "--container-id" => {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(CommandError::User(format!(
                        "Invalid container id \"{}\"",
                        crate::names::shown(id)
                    )));
                }
                (Target::Container(id.to_ascii_lowercase()), command.to_vec())
            }
            [flag] if flag == "--container-id" => {
                return Err(CommandError::Usage("--container-id needs a value".into()))
            }
            [dyno, command @ ..] => {
                let dyno = if dyno.contains('.') {
                    dyno.clone()
                } else {
                    format!("{dyno}.1")
                };
                (Target::Dyno(dyno), command.to_vec())
            }
            [] => (Target::Dyno("web.1".to_string()), Vec::new()),
        };
        let command = if command.is_empty() {
            vec!["/bin/sh".to_string()]
        } else {
            command
        };
        Ok(Args {
            app: AppName::parse(app)?,
            target,
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
        .find(|i| match &args.target {
            Target::Dyno(dyno) => i.dyno() == *dyno,
            Target::Container(id) => i.id.starts_with(id.as_str()),
        })
        .ok_or_else(|| match &args.target {
            Target::Dyno(dyno) => CommandError::User(format!("{} has no running {dyno}", args.app)),
            Target::Container(id) => {
                CommandError::User(format!("{} has no running container {id}", args.app))
            }
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn targets_a_dyno_or_a_container_id() {
        let args = Args::parse(&words("shop")).unwrap();
        assert_eq!(
            (args.target, args.command),
            (Target::Dyno("web.1".into()), vec!["/bin/sh".to_string()])
        );
        let args = Args::parse(&words("shop worker ls -la")).unwrap();
        assert_eq!(args.target, Target::Dyno("worker.1".into()));
        assert_eq!(args.command, ["ls", "-la"]);
        let args = Args::parse(&words("shop --container-id 3F2A ls")).unwrap();
        assert_eq!(args.target, Target::Container("3f2a".into()));
        assert!(Args::parse(&words("shop --container-id")).is_err());
        assert!(Args::parse(&words("shop --container-id ../x")).is_err());
    }
}
