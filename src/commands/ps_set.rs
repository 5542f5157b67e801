//! `ps:set <app> <property> [<value>]` (no value unsets), from the next deploy or `ps:restart`:
//! - `restart-policy`: what Docker does when an instance's process exits: `on-failure[:N]`
//!   (default, N=10), `always`, `unless-stopped` or `no`;
//! - `stop-timeout-seconds`: how long a retiring instance gets between SIGTERM and SIGKILL
//!   (default `[deploy] stop_timeout_secs`);
//! - `procfile-path`: the Procfile, relative to the build directory (default `Procfile`);
//! - `restore`: `false` keeps the daemon's start and `ps:restore` from starting the app again
//!   when its containers are gone (a reboot); `ps:start` still does.

use super::argv::{boolean, seconds, Argv};
use super::builder::relative_path;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::scheduler::RestartPolicy;

#[derive(Debug, PartialEq)]
pub enum Property {
    RestartPolicy(Option<RestartPolicy>),
    StopTimeout(Option<u64>),
    ProcfilePath(Option<String>),
    /// `None`: unset (restored).
    Restore(Option<bool>),
}

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub property: Property,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ps:set", words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let key = argv.required("property")?;
        let value = argv.optional()?.filter(|v| !v.is_empty());
        argv.finish()?;
        let property = match key.as_str() {
            "restart-policy" => Property::RestartPolicy(
                value
                    .map(|raw| {
                        RestartPolicy::parse(&raw).ok_or_else(|| {
                            CommandError::User(format!(
                                "Invalid restart-policy specified: \"{}\" (no, always, unless-stopped, on-failure[:N])",
                                shown(&raw)
                            ))
                        })
                    })
                    .transpose()?,
            ),
            "stop-timeout-seconds" => {
                Property::StopTimeout(seconds("stop-timeout-seconds", value)?)
            }
            "procfile-path" => Property::ProcfilePath(
                value
                    .map(|raw| relative_path("procfile-path", &raw, "deploy/Procfile"))
                    .transpose()?,
            ),
            "restore" => Property::Restore(boolean("restore", value)?),
            other => {
                return Err(CommandError::User(format!(
                    "Invalid property \"{}\": ps:set knows restart-policy, stop-timeout-seconds, procfile-path and restore",
                    shown(other)
                )))
            }
        };
        Ok(Args { app, property })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let (name, value, default) = match &args.property {
        Property::RestartPolicy(policy) => (
            "restart-policy",
            policy.map(|p| p.to_string()),
            "on-failure:10".to_string(),
        ),
        Property::StopTimeout(secs) => (
            "stop-timeout-seconds",
            secs.map(|s| s.to_string()),
            ctx.config.deploy.stop_timeout_secs.to_string(),
        ),
        Property::ProcfilePath(path) => ("procfile-path", path.clone(), "Procfile".to_string()),
        Property::Restore(on) => ("restore", on.map(|on| on.to_string()), "true".to_string()),
    };
    ctx.store
        .update_app(&args.app, |record| match &args.property {
            Property::RestartPolicy(_) => record.restart_policy = value.clone(),
            Property::StopTimeout(secs) => record.stop_timeout_secs = *secs,
            Property::ProcfilePath(path) => record.procfile_path = path.clone(),
            Property::Restore(on) => record.restore_disabled = *on == Some(false),
        })?;
    match value {
        Some(value) => io.step(&format!("Setting {name} to {value}")).await,
        None => {
            io.step(&format!("Unsetting {name} (back to {default})"))
                .await
        }
    }
    let when = match args.property {
        Property::Restore(_) => {
            "It applies the next time the app's containers are gone (a reboot)".to_string()
        }
        _ => format!("It applies from the next deploy: ps:restart {}", args.app),
    };
    io.detail(&when).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_every_property() {
        let parse = |line: &str| Args::parse(&words(line)).map(|a| a.property);
        assert_eq!(
            parse("shop restart-policy always").unwrap(),
            Property::RestartPolicy(Some(RestartPolicy::Always))
        );
        assert_eq!(
            parse("shop stop-timeout-seconds 120").unwrap(),
            Property::StopTimeout(Some(120))
        );
        assert_eq!(
            parse("shop restore false").unwrap(),
            Property::Restore(Some(false))
        );
        assert!(parse("shop restore maybe").is_err());
        assert_eq!(
            parse("shop procfile-path deploy/Procfile").unwrap(),
            Property::ProcfilePath(Some("deploy/Procfile".into()))
        );
        assert_eq!(
            parse("shop procfile-path").unwrap(),
            Property::ProcfilePath(None)
        );
        for bad in [
            "shop restart-policy sometimes",
            "shop stop-timeout-seconds soon",
            "shop procfile-path ../Procfile",
            "shop colour red",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
