//! `proxy:build-config [--parallel N] [--all|<app>]`: Dokku rebuilds and reloads nginx's
//! config here. Berth's proxy applies every change at once, so there is nothing to build; the
//! command is accepted, so Dokku habits and scripts keep working.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    /// `None`: `--all`.
    pub app: Option<AppName>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("proxy:build-config", words);
        argv.option("--parallel")?;
        let app = match argv.flag("--all") {
            true => None,
            false => Some(AppName::parse(&argv.required("app name or --all")?)?),
        };
        argv.finish()?;
        Ok(Args { app })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let which = match &args.app {
        Some(app) => {
            ctx.store.app(app)?;
            app.to_string()
        }
        None => "any app".to_string(),
    };
    io.step(&format!(
        "Berth's proxy applies every change at once: no config to build for {which}"
    ))
    .await;
    Ok(())
}
