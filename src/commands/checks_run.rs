//! `checks:run <app>`: runs the current release's checks against its running instances now.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::deploy::run_app_checks;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("checks:run", words);
        let app = AppName::parse(&argv.required("app name")?)?;
        if let Some(process) = argv.optional()? {
            if process != "web" && process != "web.1" {
                return Err(CommandError::User(format!(
                    "{} has no checks: only the web process runs for now",
                    crate::names::shown(&process)
                )));
            }
        }
        argv.finish()?;
        Ok(Args { app })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    run_app_checks(ctx, &args.app, io).await?;
    Ok(())
}
