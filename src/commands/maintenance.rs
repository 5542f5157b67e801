//! `maintenance:on|off|report <app>` (Heroku's and the Dokku maintenance plugin's names):
//! while on, the proxy answers every request for the app with a 503 maintenance page and
//! `Retry-After`, at once and across restarts; the app itself keeps running.

use super::argv::Argv;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    /// `Some(on)` to switch, `None` to report.
    pub switch: Option<bool>,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        let switch = match name {
            "maintenance:on" => Some(true),
            "maintenance:off" => Some(false),
            _ => None,
        };
        Ok(Args { app, switch })
    }

    pub fn command(&self) -> &'static str {
        match self.switch {
            Some(true) => "maintenance:on",
            Some(false) => "maintenance:off",
            None => "maintenance:report",
        }
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = &args.app;
    let Some(on) = args.switch else {
        let record = ctx.store.app(app)?;
        let rows = [("Maintenance enabled", record.maintenance.to_string())];
        return report(io, &format!("{app} maintenance information"), &rows).await;
    };
    ctx.store
        .update_app(app, |record| record.maintenance = on)?;
    ctx.refresh_policy(app);
    let line = match on {
        true => format!("Enabling maintenance mode for {app}: requests get a 503 page"),
        false => format!("Disabling maintenance mode for {app}"),
    };
    io.step(&line).await;
    Ok(())
}
