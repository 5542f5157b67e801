//! `checks:set (<app>|--global) wait-to-retire [SECONDS]`: how long old instances keep serving
//! after a switch; `checks:set (<app>|--global) liveness-probe [true|false]`: whether web
//! instances without a declared liveness check get the default probe (any HTTP answer on the
//! port) continuously, as a liveness check (off unless set; Berth's addition). No value unsets
//! (back to the global value, then the default).

use super::argv::{boolean, seconds, Argv};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub enum Property {
    WaitToRetire(Option<u64>),
    LivenessProbe(Option<bool>),
}

#[derive(Debug)]
pub struct Args {
    /// `None` means `--global`.
    pub app: Option<AppName>,
    pub property: Property,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let (app, key, value) = Argv::new("checks:set", words).app_property()?;
        let property = match key.as_str() {
            "wait-to-retire" => Property::WaitToRetire(seconds("wait-to-retire", value)?),
            "liveness-probe" => Property::LivenessProbe(boolean("liveness-probe", value)?),
            other => {
                return Err(CommandError::User(format!(
                    "Invalid property \"{}\": checks:set knows wait-to-retire and liveness-probe",
                    crate::names::shown(other)
                )))
            }
        };
        Ok(Args { app, property })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match (&args.app, &args.property) {
        (Some(app), Property::WaitToRetire(value)) => {
            ctx.store
                .update_app(app, |record| record.checks.wait_to_retire = *value)?;
        }
        (Some(app), Property::LivenessProbe(value)) => {
            ctx.store
                .update_app(app, |record| record.checks.liveness_probe = *value)?;
        }
        (None, Property::WaitToRetire(value)) => ctx
            .store
            .update_global(|global| global.wait_to_retire = *value)?,
        (None, Property::LivenessProbe(value)) => ctx
            .store
            .update_global(|global| global.liveness_probe = *value)?,
    }
    let target = args
        .app
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "--global".to_string());
    let (name, value) = match args.property {
        Property::WaitToRetire(value) => ("wait-to-retire", value.map(|v| v.to_string())),
        Property::LivenessProbe(value) => ("liveness-probe", value.map(|v| v.to_string())),
    };
    match value {
        Some(value) => {
            io.step(&format!("Setting {name} to {value} for {target}"))
                .await
        }
        None => io.step(&format!("Unsetting {name} for {target}")).await,
    }
    Ok(())
}
