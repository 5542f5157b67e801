//! `logs:failed (<app>|--all)`: what the instance that failed the app's last failed deploy (or
//! scale-up) printed, and why it failed, kept from the moment it failed.

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
        let mut argv = Argv::new("logs:failed", words);
        let app = match argv.flag("--all") {
            true => None,
            false => Some(AppName::parse(&argv.required("app name")?)?),
        };
        argv.finish()?;
        Ok(Args { app })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let apps = match args.app {
        Some(app) => vec![app],
        None => {
            let mut apps = ctx.store.app_names();
            apps.sort();
            apps
        }
    };
    let every = apps.len() != 1;
    for app in apps {
        match ctx.store.failed_output(&app) {
            Ok(Some(text)) => {
                io.header(&format!("{app} failed deploy output")).await;
                for line in text.lines() {
                    io.line(line).await;
                }
            }
            Ok(None) if !every => {
                io.step(&format!("No failed deploy of {app} recorded"))
                    .await
            }
            Ok(None) => {}
            // Destroyed since the list was taken.
            Err(crate::state::StateError::AppMissing(_)) if every => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}
