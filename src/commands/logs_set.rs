//! `logs:set (<app>|--global) max-size [<size>|unlimited]` and `logs:report [<app>]`: how large
//! a container's log may grow before Docker rotates it (Dokku's property and default, 10m), so a
//! chatty app cannot fill the server's disk. Applies to containers started from then on.

use super::argv::{AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::size::Size;
use crate::state::UNLIMITED;

#[derive(Debug)]
pub struct Args {
    /// `None`: `--global`.
    pub app: Option<AppName>,
    /// `None`: unset.
    pub max_size: Option<String>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let (app, key, value) = Argv::new("logs:set", words).app_property()?;
        match key.as_str() {
            "max-size" => {}
            "vector-sink" | "vector-cron-sink" => {
                return Err(CommandError::User(format!(
                    "{key} is not supported: Berth runs no vector; logs stay in Docker's log files, for any agent to ship"
                )))
            }
            other => {
                return Err(CommandError::User(format!(
                    "Invalid property \"{}\": logs:set knows max-size",
                    shown(other)
                )))
            }
        }
        if let Some(size) = value.as_deref().filter(|v| !valid_size(v)) {
            return Err(CommandError::User(format!(
                "Invalid max-size \"{}\": a size such as 10m, 500k or 1g, or unlimited",
                shown(size)
            )));
        }
        Ok(Args {
            app,
            max_size: value,
        })
    }
}

/// `unlimited`, or a size more than none (Docker's `max-size` reads every spelling `Size` does).
fn valid_size(raw: &str) -> bool {
    raw == UNLIMITED || Size::parse(raw).is_some_and(|size| size.bytes() > 0)
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let value = args.max_size.clone();
    let target = match &args.app {
        Some(app) => {
            ctx.store
                .update_app(app, |record| record.logs_max_size = value.clone())?;
            app.to_string()
        }
        None => {
            ctx.store
                .update_global(|global| global.logs_max_size = value.clone())?;
            "--global".to_string()
        }
    };
    match &args.max_size {
        Some(size) => {
            io.step(&format!("Setting max-size to {size} for {target}"))
                .await
        }
        None => io.step(&format!("Unsetting max-size for {target}")).await,
    }
    io.detail("It applies to containers started from now on (ps:restart)")
        .await;
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let global = ctx.store.global();
    let computed = global
        .log_max_size(record.logs_max_size.as_deref())
        .unwrap_or_else(|| UNLIMITED.to_string());
    report(
        io,
        &format!("{} logs information", args.app),
        &[
            ("Logs computed max size", computed),
            (
                "Logs global max size",
                global.logs_max_size.clone().unwrap_or_default(),
            ),
            (
                "Logs max size",
                record.logs_max_size.clone().unwrap_or_default(),
            ),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_sizes_and_refuses_the_rest() {
        let args = Args::parse(&words("shop max-size 20m")).unwrap();
        assert_eq!(args.max_size.as_deref(), Some("20m"));
        let args = Args::parse(&words("--global max-size unlimited")).unwrap();
        assert!(args.app.is_none());
        assert_eq!(args.max_size.as_deref(), Some("unlimited"));
        assert!(Args::parse(&words("shop max-size"))
            .unwrap()
            .max_size
            .is_none());
        for bad in [
            "shop max-size 0m",
            "shop max-size 10mm",
            "shop max-size lots",
            "shop max-size -1m",
            "shop vector-sink console://",
            "shop colour red",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
        assert!(Args::parse(&words("shop max-size 10")).is_ok(), "bytes");
    }
}
