//! `releases:rollback <app> [vN] [--no-wait]`: a new release with vN's image and config (the
//! previous release by default), deployed through the same checked cutover.

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::releases::parse_version;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source};
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub version: Option<u32>,
    pub no_wait: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("releases:rollback", words);
        let no_wait = argv.flag("--no-wait");
        let app = AppName::parse(&argv.required("app name")?)?;
        let version = argv.optional()?.map(|v| parse_version(&v)).transpose()?;
        argv.finish()?;
        Ok(Args {
            app,
            version,
            no_wait,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let target = match args.version {
        Some(version) => version,
        None => match record.previous() {
            Some(previous) => previous.number,
            None => {
                return Err(CommandError::User(format!(
                    "{} has no earlier release to roll back to",
                    args.app
                )))
            }
        },
    };
    let request = DeployRequest {
        app: args.app,
        caller: caller.clone(),
        source: Source::Rollback {
            target,
            reason: None,
        },
        wait: wait_flag(args.no_wait),
    };
    run_deploy(ctx, request, io).await.map(|_| ())
}
