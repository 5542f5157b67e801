//! `checks:set (<app>|--global) wait-to-retire [SECONDS]`: how long old instances keep serving
//! after a switch. No value unsets it (back to the global value, then the config file's).

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    /// `None` means `--global`.
    pub app: Option<AppName>,
    pub seconds: Option<u64>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("checks:set", words);
        let app = argv.app_or_global()?;
        let key = argv.required("property")?;
        if key != "wait-to-retire" {
            return Err(CommandError::User(format!(
                "Invalid property \"{shown}\": checks:set only knows wait-to-retire",
                shown = crate::names::shown(&key)
            )));
        }
        let seconds = super::argv::seconds("wait-to-retire", argv.optional()?)?;
        argv.finish()?;
        Ok(Args { app, seconds })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match &args.app {
        Some(app) => {
            ctx.store
                .update_app(app, |record| record.checks.wait_to_retire = args.seconds)?;
        }
        None => ctx
            .store
            .update_global(|global| global.wait_to_retire = args.seconds)?,
    }
    let target = args
        .app
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "--global".to_string());
    match args.seconds {
        Some(seconds) => {
            io.step(&format!("Setting wait-to-retire to {seconds} for {target}"))
                .await
        }
        None => {
            io.step(&format!("Unsetting wait-to-retire for {target}"))
                .await
        }
    }
    Ok(())
}
