//! `proxy:enable|disable|build-config|clear-config [--parallel N] (--all|<app>)`,
//! `proxy:report [<app>]` and `proxy:set (<app>|--global) type [berth]`, under Dokku's names.
//! Berth has one proxy, built in. Disabling it for an app takes the app off it: none of its hosts
//! is routed and none of its port mappings is listened on, while its containers keep running
//! (a worker-only app, or one another front end reaches). Every change applies at once, so
//! there is no config to build or clear; those two are accepted for Dokku's scripts.

use super::argv::Argv;
use super::every_app::{Outcome, Target};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};

/// The one proxy type there is.
pub const TYPE: &str = "berth";

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    action: Action,
}

#[derive(Debug)]
enum Action {
    /// `proxy:enable` (true) or `proxy:disable` (false).
    Toggle {
        enable: bool,
        target: Target,
    },
    Report(AppName),
    /// `proxy:set`, whose only valid type is the one there is; `None`: `--global`.
    Set(Option<AppName>),
    /// `proxy:build-config` or `proxy:clear-config`.
    NoConfig(Target),
}

impl Args {
    /// The app it acts on; `None` for `--all` and `--global`.
    pub fn app(&self) -> Option<&AppName> {
        match &self.action {
            Action::Toggle { target, .. } | Action::NoConfig(target) => match target {
                Target::App(app) => Some(app),
                Target::All => None,
            },
            Action::Report(app) => Some(app),
            Action::Set(app) => app.as_ref(),
        }
    }
}

const COMMANDS: [&str; 6] = [
    "proxy:enable",
    "proxy:disable",
    "proxy:report",
    "proxy:set",
    "proxy:build-config",
    "proxy:clear-config",
];

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let command = super::argv::known(&COMMANDS, name)?;
        let mut argv = Argv::new(command, words);
        let action = match command {
            "proxy:enable" | "proxy:disable" => Action::Toggle {
                enable: command == "proxy:enable",
                target: Target::parse(&mut argv)?,
            },
            "proxy:report" => Action::Report(AppName::parse(&argv.required("app name")?)?),
            "proxy:set" => {
                let app = argv.app_or_global()?;
                check_type(&mut argv)?;
                Action::Set(app)
            }
            _ => Action::NoConfig(Target::parse(&mut argv)?),
        };
        argv.finish()?;
        Ok(Args { command, action })
    }
}

/// `type [<type>]`, or Dokku's older `<type>` alone: only `berth` (or nothing) is a type here.
fn check_type(argv: &mut Argv) -> Result<(), CommandError> {
    let first = argv.required("property")?;
    let value = match first.as_str() {
        "type" => argv.optional()?,
        legacy if legacy.contains(':') => {
            return Err(CommandError::User(format!(
                "Detected potential port mapping instead of proxy type: {}; use ports:add",
                shown(legacy)
            )))
        }
        legacy => Some(legacy.to_string()),
    };
    match value.as_deref() {
        None | Some("") | Some(TYPE) => Ok(()),
        Some(other) => Err(CommandError::User(format!(
            "Proxy type {} is not available: Berth's proxy is built in ({TYPE}); proxy:disable takes an app off it",
            shown(other)
        ))),
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args.action {
        Action::Toggle { enable, target } => {
            let mut outcome = Outcome::default();
            for app in apps(ctx, &target) {
                let result = toggle(ctx, io, &app, enable).await;
                outcome.record(&target, app, result, io).await?;
            }
            outcome.finish()
        }
        Action::Report(app) => report_app(ctx, io, &app).await,
        Action::Set(app) => {
            let target = match app {
                Some(app) => {
                    ctx.store.app(&app)?;
                    app.to_string()
                }
                None => "--global".to_string(),
            };
            io.step(&format!("Proxy type for {target} stays {TYPE}"))
                .await;
            Ok(())
        }
        Action::NoConfig(target) => {
            let which = match &target {
                Target::App(app) => {
                    ctx.store.app(app)?;
                    app.to_string()
                }
                Target::All => "any app".to_string(),
            };
            let verb = match args.command {
                "proxy:clear-config" => "clear",
                _ => "build",
            };
            io.step(&format!(
                "Berth's proxy applies every change at once: no config to {verb} for {which}"
            ))
            .await;
            Ok(())
        }
    }
}

/// The apps a target names: the one app, or every app (deployed or not).
fn apps(ctx: &Ctx, target: &Target) -> Vec<AppName> {
    match target {
        Target::App(app) => vec![app.clone()],
        Target::All => ctx.store.app_names(),
    }
}

/// Puts the app on the proxy or takes it off: its hosts, its extra listeners and the
/// certificates served for its hosts. Enabling fails, and the app stays off, when a port it
/// maps cannot be listened on.
async fn toggle(ctx: &Ctx, io: &mut Io, app: &AppName, enable: bool) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    let state = if enable { "enabled" } else { "disabled" };
    if record.proxy_disabled != enable {
        io.step(&format!("Proxy already {state} for {app}")).await;
        return Ok(());
    }
    ctx.store.update_app(app, |r| r.proxy_disabled = !enable)?;
    if let Err(err) = ctx.open_ports(&ctx.port_maps()) {
        ctx.store.update_app(app, |r| r.proxy_disabled = true)?;
        return Err(CommandError::User(format!(
            "Proxy stays disabled for {app}: {err}"
        )));
    }
    ctx.reroute_hosts(app);
    let doing = if enable { "Enabling" } else { "Disabling" };
    io.step(&format!("{doing} proxy for {app}")).await;
    Ok(())
}

async fn report_app(ctx: &Ctx, io: &mut Io, app: &AppName) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    report(
        io,
        &format!("{app} proxy information"),
        &[
            ("Proxy enabled", (!record.proxy_disabled).to_string()),
            ("Proxy computed type", TYPE.to_string()),
            ("Proxy global type", String::new()),
            ("Proxy type", String::new()),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    fn parse(line: &str) -> Result<Action, CommandError> {
        let mut words = words(line);
        let name = words.remove(0);
        Args::parse(&name, &words).map(|args| args.action)
    }

    #[test]
    fn parses_dokku_forms() {
        assert!(matches!(
            parse("proxy:disable --all --parallel 2").unwrap(),
            Action::Toggle {
                enable: false,
                target: Target::All
            }
        ));
        assert!(matches!(
            parse("proxy:enable shop").unwrap(),
            Action::Toggle { enable: true, .. }
        ));
        assert!(matches!(
            parse("proxy:report shop").unwrap(),
            Action::Report(_)
        ));
        assert!(matches!(
            parse("proxy:clear-config --all").unwrap(),
            Action::NoConfig(Target::All)
        ));
        for ok in [
            "proxy:set shop type berth",
            "proxy:set --global type",
            "proxy:set shop berth",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn only_the_built_in_type_is_a_type() {
        let message = |line: &str| match parse(line) {
            Err(CommandError::User(message)) => message,
            other => panic!("{line}: {other:?}"),
        };
        assert!(message("proxy:set shop type caddy").contains("Proxy type caddy is not available"));
        assert!(message("proxy:set shop nginx").contains("not available"));
        assert!(message("proxy:set shop http:80:80").contains("Detected potential port mapping"));
        assert!(parse("proxy:set shop").is_err());
        assert!(parse("proxy:enable").is_err());
        assert!(parse("proxy:reload shop").is_err());
    }
}
