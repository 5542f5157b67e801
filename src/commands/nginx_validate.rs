//! `nginx:validate-config [<app>] [--clean]`, `nginx:reload`, `nginx:start` and `nginx:stop`:
//! the commands Dokku's nginx plugin has for nginx itself, kept so scripts that call them work.
//! Berth has no nginx and no config file to test. What could be wrong instead is a stored
//! `nginx:set` value the proxy cannot read (a state file edited by hand, a value an older Berth
//! accepted): the proxy ignores it and applies the next level's, so `validate-config` names
//! each one, for the app or for every app and `--global`, and `--clean` unsets them. `reload`
//! and `start` have nothing to do; `stop` is refused, since the proxy stops only with the daemon.

use super::argv::Argv;
use super::nginx::Property;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::state::ProxyLimits;

#[derive(Debug)]
pub enum Args {
    /// `None`: every app, and the global values.
    Validate(Option<AppName>, bool),
    Reload,
    Start,
    Stop,
}

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let args = match name {
            "nginx:validate-config" => {
                let mut argv = Argv::new("nginx:validate-config", words);
                let clean = argv.flag("--clean");
                let app = argv.optional()?.map(|a| AppName::parse(&a)).transpose()?;
                argv.finish()?;
                return Ok(Args::Validate(app, clean));
            }
            "nginx:reload" => Args::Reload,
            "nginx:start" => Args::Start,
            "nginx:stop" => Args::Stop,
            other => return Err(CommandError::Unknown(other.to_string())),
        };
        Argv::new(args.command(), words).finish()?;
        Ok(args)
    }

    pub fn command(&self) -> &'static str {
        match self {
            Args::Validate(..) => "nginx:validate-config",
            Args::Reload => "nginx:reload",
            Args::Start => "nginx:start",
            Args::Stop => "nginx:stop",
        }
    }
}

/// The stored values the proxy cannot read: (property, value, what it takes).
fn unreadable(limits: &ProxyLimits) -> Vec<(Property, String, &'static str)> {
    Property::ALL
        .into_iter()
        .filter_map(|property| {
            let value = property.get(limits)?;
            match property.check(&value) {
                (true, _) => None,
                (false, hint) => Some((property, value, hint)),
            }
        })
        .collect()
}

/// Unsets `bad`'s properties in `limits`.
fn clean(limits: &mut ProxyLimits, bad: &[(Property, String, &'static str)]) {
    for (property, ..) in bad {
        *property.slot(limits) = None;
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let (target, cleaning) = match args {
        Args::Validate(target, clean) => (target, clean),
        Args::Reload => {
            io.step("Berth's proxy applies every change at once: nothing to reload")
                .await;
            return Ok(());
        }
        Args::Start => {
            io.step("Berth's proxy runs with the daemon: already serving")
                .await;
            return Ok(());
        }
        Args::Stop => return Err(CommandError::User(
            "Berth's proxy stops only with the daemon; proxy:disable <app> takes one app off it"
                .into(),
        )),
    };
    // The proxy already applies the next level's value in place of one it cannot read, so
    // unsetting such a value changes no live policy: nothing to refresh.
    let mut found = Vec::new();
    let apps = match &target {
        Some(app) => vec![app.clone()],
        None => {
            let global = unreadable(&ctx.store.global().proxy);
            if cleaning && !global.is_empty() {
                ctx.store.update_global(|g| clean(&mut g.proxy, &global))?;
            }
            found.extend(global.into_iter().map(|bad| ("--global".to_string(), bad)));
            ctx.store.app_names()
        }
    };
    for app in &apps {
        let bad = unreadable(&ctx.store.app(app)?.proxy);
        if cleaning && !bad.is_empty() {
            ctx.store
                .update_app(app, |record| clean(&mut record.proxy, &bad))?;
        }
        found.extend(bad.into_iter().map(|bad| (app.to_string(), bad)));
    }
    let which = target.map_or("every app".to_string(), |app| app.to_string());
    if found.is_empty() {
        io.step(&format!("Proxy settings of {which} are valid"))
            .await;
        return Ok(());
    }
    for (owner, (property, value, hint)) in &found {
        let name = property.name();
        let value = shown(value);
        match cleaning {
            true => {
                io.step(&format!("Unset {name} \"{value}\" for {owner}"))
                    .await
            }
            false => {
                io.warn(&format!(
                    "{owner}: {name} \"{value}\" is not valid ({hint}); the proxy ignores it"
                ))
                .await
            }
        }
    }
    match cleaning {
        true => Ok(()),
        false => Err(CommandError::User(format!(
            "{} invalid proxy setting(s) for {which}: nginx:validate-config --clean unsets them",
            found.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_the_proxy_cannot_read_are_unreadable() {
        let mut limits = ProxyLimits {
            proxy_read_timeout: Some("2m".into()),
            send_timeout: Some("soon".into()),
            x_forwarded_ssl: Some("on".into()),
            underscore_in_headers: Some("yes".into()),
            ..ProxyLimits::default()
        };
        let bad = unreadable(&limits);
        let names: Vec<&str> = bad.iter().map(|(p, ..)| p.name()).collect();
        assert_eq!(names, ["send-timeout", "underscore-in-headers"]);
        assert_eq!(bad[0].1, "soon");
        clean(&mut limits, &bad);
        assert!(unreadable(&limits).is_empty());
        assert_eq!(limits.proxy_read_timeout.as_deref(), Some("2m"));
        assert_eq!(limits.send_timeout, None);
    }

    #[test]
    fn reload_start_and_stop_take_no_arguments() {
        let words = |line: &str| super::super::argv::words(line);
        assert!(matches!(
            Args::parse("nginx:validate-config", &words("--clean shop")),
            Ok(Args::Validate(Some(_), true))
        ));
        assert!(matches!(
            Args::parse("nginx:validate-config", &[]),
            Ok(Args::Validate(None, false))
        ));
        assert!(Args::parse("nginx:reload", &words("shop")).is_err());
        assert!(matches!(Args::parse("nginx:stop", &[]), Ok(Args::Stop)));
    }
}
