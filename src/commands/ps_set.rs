//! `ps:set <app> restart-policy <policy>`: what Docker does when an instance's process exits:
//! `on-failure[:N]` (default, N=10), `always`, `unless-stopped` or `no`; from the next deploy
//! or `ps:restart`.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::scheduler::RestartPolicy;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub policy: Option<RestartPolicy>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ps:set", words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let key = argv.required("property")?;
        if key != "restart-policy" {
            return Err(CommandError::User(format!(
                "Invalid property \"{shown}\": ps:set knows restart-policy",
                shown = crate::names::shown(&key)
            )));
        }
        let policy = match argv.optional()? {
            None => None,
            Some(raw) => Some(RestartPolicy::parse(&raw).ok_or_else(|| {
                CommandError::User(format!(
                    "Invalid restart-policy specified: \"{shown}\" (no, always, unless-stopped, on-failure[:N])"
                , shown = crate::names::shown(&raw)))
            })?),
        };
        argv.finish()?;
        Ok(Args { app, policy })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let stored = args.policy.map(|p| p.to_string());
    ctx.store
        .update_app(&args.app, |record| record.restart_policy = stored.clone())?;
    match stored {
        Some(policy) => {
            io.step(&format!("Setting restart-policy to {policy}"))
                .await
        }
        None => {
            io.step("Unsetting restart-policy (back to on-failure:10)")
                .await
        }
    }
    io.detail(&format!(
        "It applies from the next deploy: ps:restart {}",
        args.app
    ))
    .await;
    Ok(())
}
