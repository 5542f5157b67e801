//! `cron:set (<app>|--global) maintenance [true|false]` and `cron:report [<app>]` (Dokku's
//! names): in maintenance the minute loop starts none of the app's (or, globally, any app's)
//! tasks, as during a migration; `cron:run` still runs one by hand. No value unsets.

use super::argv::{boolean, AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};

#[derive(Debug)]
pub struct Args {
    /// `None`: `--global`.
    pub app: Option<AppName>,
    /// `None`: unset.
    pub maintenance: Option<bool>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let (app, key, value) = Argv::new("cron:set", words).app_property()?;
        match key.as_str() {
            "maintenance" => {}
            "mailto" | "mailfrom" => {
                return Err(CommandError::User(format!(
                    "{key} is not supported: Berth sends no mail; task output is in the daemon log"
                )))
            }
            other => {
                return Err(CommandError::User(format!(
                    "Invalid property \"{}\": cron:set knows maintenance",
                    shown(other)
                )))
            }
        }
        let maintenance = boolean("maintenance", value)?;
        Ok(Args { app, maintenance })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let target = match &args.app {
        Some(app) => {
            ctx.store
                .update_app(app, |record| record.cron_maintenance = args.maintenance)?;
            app.to_string()
        }
        None => {
            ctx.store.update_global(|global| {
                global.cron_maintenance = args.maintenance.unwrap_or(false)
            })?;
            "--global".to_string()
        }
    };
    let line = match args.maintenance {
        Some(true) => format!("Cron tasks of {target} are in maintenance: none starts by itself"),
        Some(false) => format!("Cron tasks of {target} start on their schedule"),
        None => format!("Unsetting cron maintenance for {target}"),
    };
    io.step(&line).await;
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let global = ctx.store.global().cron_maintenance;
    let tasks = record.current().map_or(0, |r| r.cron.len());
    report(
        io,
        &format!("{} cron information", args.app),
        &[
            (
                "Cron computed maintenance",
                record.cron_maintenance.unwrap_or(global).to_string(),
            ),
            ("Cron global maintenance", global.to_string()),
            (
                "Cron maintenance",
                record
                    .cron_maintenance
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            ),
            ("Cron task count", tasks.to_string()),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_maintenance_and_refuses_mail() {
        let args = Args::parse(&words("shop maintenance true")).unwrap();
        assert_eq!(args.maintenance, Some(true));
        let args = Args::parse(&words("--global maintenance")).unwrap();
        assert!(args.app.is_none() && args.maintenance.is_none());
        for bad in [
            "shop maintenance maybe",
            "shop mailto ops@example.com",
            "shop colour red",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
