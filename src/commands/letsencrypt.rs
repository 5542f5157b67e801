//! `letsencrypt:enable|disable|active|revoke <app>`, `letsencrypt:auto-renew [<app>]`,
//! `letsencrypt:list [--format stdout|json]` and `letsencrypt:set (<app>|--global) email|server|graceperiod [value]`,
//! as the dokku-letsencrypt plugin names them; its `letsencrypt:cron-job --add` and
//! `letsencrypt:cleanup <app>` are accepted so its setup scripts run, with nothing to do. Certificates come by ACME with http-01 answered
//! by Berth's own proxy, and the daemon renews them (see `crate::acme`).

use super::argv::Argv;
use super::output::utc;
use super::{CommandError, Io};
use crate::acme::{current, obtain, renew_due, revoke, RenewError, Settings};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::AppName;
use crate::state::AcmeProps;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Enable(AppName),
    Disable(AppName),
    Active(AppName),
    Revoke(AppName),
    AutoRenew(Option<AppName>),
    /// Whether as JSON.
    List(bool),
    /// `--add` (true) or `--remove`.
    CronJob(bool),
    Cleanup(AppName),
    /// `None` target: `--global`.
    Set(Option<AppName>, Property),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    Email(Option<String>),
    Server(Option<String>),
    Graceperiod(Option<u64>),
}

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    pub action: Action,
}

const COMMANDS: [&str; 9] = [
    "letsencrypt:cron-job",
    "letsencrypt:cleanup",
    "letsencrypt:enable",
    "letsencrypt:disable",
    "letsencrypt:active",
    "letsencrypt:revoke",
    "letsencrypt:auto-renew",
    "letsencrypt:list",
    "letsencrypt:set",
];

fn app(argv: &mut Argv) -> Result<AppName, CommandError> {
    Ok(AppName::parse(&argv.required("app name")?)?)
}

fn email(raw: String) -> Result<String, CommandError> {
    let fine = raw.len() <= 254
        && raw.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.contains('@')
        })
        && raw.chars().all(|c| c.is_ascii_graphic());
    match fine {
        true => Ok(raw),
        false => Err(CommandError::User(format!(
            "Invalid email \"{shown}\": use an address like ops@example.com",
            shown = crate::names::shown(&raw)
        ))),
    }
}

fn server(raw: String) -> Result<String, CommandError> {
    let fine = matches!(raw.as_str(), "production" | "staging")
        || (raw.starts_with("https://") && raw.chars().all(|c| c.is_ascii_graphic()));
    match fine {
        true => Ok(raw),
        false => Err(CommandError::User(format!(
            "Invalid server \"{shown}\": use production, staging or an https:// ACME directory URL",
            shown = crate::names::shown(&raw)
        ))),
    }
}

fn property(key: &str, value: Option<String>) -> Result<Property, CommandError> {
    Ok(match key {
        "email" => Property::Email(value.map(email).transpose()?),
        "server" => Property::Server(value.map(server).transpose()?),
        "graceperiod" => Property::Graceperiod(super::argv::seconds("graceperiod", value)?),
        other => {
            return Err(CommandError::User(format!(
                "Invalid property \"{shown}\": letsencrypt:set knows email, server and graceperiod",
                shown = crate::names::shown(other)
            )))
        }
    })
}

impl Action {
    /// What it needs: the app's own actions are its developers', the rest an admin's.
    pub fn need(&self) -> super::access::Need {
        use super::access::Need;
        match self {
            // Any other ACME directory than Let's Encrypt's makes the server fetch that URL.
            Action::Set(Some(_), Property::Server(Some(url))) if url.starts_with("https://") => {
                Need::Admin("ACME directories other than Let's Encrypt's (the server fetches them)")
            }
            Action::Enable(app)
            | Action::Disable(app)
            | Action::Active(app)
            | Action::Revoke(app)
            | Action::Cleanup(app)
            | Action::AutoRenew(Some(app))
            | Action::Set(Some(app), _) => Need::App(app.clone()),
            Action::AutoRenew(None)
            | Action::List(_)
            | Action::CronJob(_)
            | Action::Set(None, _) => Need::Admin("global settings (--global, --all)"),
        }
    }
}

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let command = super::argv::known(&COMMANDS, name)?;
        let mut argv = Argv::new(command, words);
        let action = match command {
            "letsencrypt:enable" => Action::Enable(app(&mut argv)?),
            "letsencrypt:disable" => Action::Disable(app(&mut argv)?),
            "letsencrypt:active" => Action::Active(app(&mut argv)?),
            "letsencrypt:revoke" => Action::Revoke(app(&mut argv)?),
            "letsencrypt:auto-renew" => Action::AutoRenew(
                argv.optional()?
                    .map(|raw| AppName::parse(&raw))
                    .transpose()?,
            ),
            "letsencrypt:list" => Action::List(argv.json_format("stdout")?),
            "letsencrypt:cleanup" => Action::Cleanup(app(&mut argv)?),
            "letsencrypt:cron-job" => match (argv.flag("--add"), argv.flag("--remove")) {
                (true, false) => Action::CronJob(true),
                (false, true) => Action::CronJob(false),
                _ => {
                    return Err(CommandError::Usage(format!(
                        "usage: {}",
                        super::usage("letsencrypt:cron-job")
                    )))
                }
            },
            _ => {
                let target = match argv.flag("--global") {
                    true => None,
                    false => Some(app(&mut argv)?),
                };
                let key = argv.required("property")?;
                Action::Set(target, property(&key, argv.optional()?)?)
            }
        };
        argv.finish()?;
        Ok(Args { command, action })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args.action {
        Action::Enable(app) => enable(ctx, caller, io, &app).await,
        Action::Disable(app) => {
            let record = ctx.store.app(&app)?;
            if !record.letsencrypt.enabled {
                return Err(CommandError::User(format!(
                    "Let's Encrypt is not enabled for {app}"
                )));
            }
            ctx.store
                .update_app(&app, |r| r.letsencrypt.enabled = false)?;
            ctx.store.remove_cert(&app)?;
            ctx.refresh_tls(&app);
            io.step(&format!(
                "Disabled Let's Encrypt for {app} and removed its certificate"
            ))
            .await;
            Ok(())
        }
        Action::Active(app) => {
            let record = ctx.store.app(&app)?;
            let active = record.letsencrypt.enabled && current(ctx, &app).is_some();
            io.line(&active.to_string()).await;
            Ok(())
        }
        Action::Revoke(app) => {
            if !ctx.store.app(&app)?.letsencrypt.enabled {
                return Err(CommandError::User(format!(
                    "Let's Encrypt is not enabled for {app}"
                )));
            }
            revoke(ctx, &app).await.map_err(|err| match err {
                RenewError::State(err) => err.into(),
                other => CommandError::User(format!(
                    "Could not revoke the certificate of {app}: {other}; it keeps serving"
                )),
            })?;
            io.step(&format!(
                "Revoked the certificate of {app} and removed it; Let's Encrypt is disabled for it (letsencrypt:enable orders a new one)"
            ))
            .await;
            Ok(())
        }
        Action::AutoRenew(only) => auto_renew(ctx, caller, io, only).await,
        Action::List(json) => list(ctx, io, json).await,
        Action::CronJob(true) => {
            io.step(&format!(
                "Berth renews certificates itself, checking every {}s: no cron job is needed",
                ctx.config.acme.renew_check_secs
            ))
            .await;
            Ok(())
        }
        Action::CronJob(false) => Err(CommandError::User(
            "Berth's renewals are part of the daemon; stop them for an app with letsencrypt:disable <app>".into(),
        )),
        Action::Cleanup(app) => {
            ctx.store.app(&app)?;
            io.step(&format!(
                "Berth keeps only the current certificate of {app}: nothing to clean up"
            ))
            .await;
            Ok(())
        }
        Action::Set(target, property) => set(ctx, io, target, property).await,
    }
}

async fn enable(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    app: &AppName,
) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    let settings = Settings::of(ctx, &record);
    io.header(&format!("Enabling Let's Encrypt for {app}"))
        .await;
    io.step(&format!(
        "Getting a certificate for {app} via HTTP-01 from {}",
        settings.directory
    ))
    .await;
    for domain in crate::acme::domains_of(ctx, &record) {
        io.detail(&format!("- Domain '{domain}'")).await;
    }
    let info = obtain(ctx, app, caller, io)
        .await
        .map_err(|err| refused(app, err))?;
    ctx.store
        .update_app(app, |r| r.letsencrypt.enabled = true)?;
    io.step(&format!(
        "Certificate retrieved (expires {}); renewed {} before expiry",
        utc(info.expires_at.max(0) as u64),
        span(settings.graceperiod)
    ))
    .await;
    Ok(())
}

fn refused(app: &AppName, err: RenewError) -> CommandError {
    match err {
        RenewError::State(err) => err.into(),
        other => CommandError::User(format!("No certificate for {app}: {other}")),
    }
}

async fn auto_renew(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    only: Option<AppName>,
) -> Result<(), CommandError> {
    if let Some(app) = &only {
        if !ctx.store.app(app)?.letsencrypt.enabled {
            return Err(CommandError::User(format!(
                "Let's Encrypt is not enabled for {app}"
            )));
        }
    }
    let outcomes = renew_due(ctx, only.as_ref(), &[], caller, io).await;
    if outcomes.is_empty() {
        io.step("No certificate is due for renewal").await;
        return Ok(());
    }
    let mut failed = 0;
    for (app, outcome) in outcomes {
        match outcome {
            Ok(info) => {
                io.step(&format!(
                    "Renewed the certificate of {app} (expires {})",
                    utc(info.expires_at.max(0) as u64)
                ))
                .await
            }
            Err(err) => {
                failed += 1;
                io.warn(&format!("{app}: {err}")).await;
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(CommandError::User(format!(
            "{n} certificate(s) could not be renewed; the current ones keep serving"
        ))),
    }
}

/// `letsencrypt:list`: dokku-letsencrypt's table, or as JSON one object per app (times in
/// seconds, `null` without a certificate).
async fn list(ctx: &Ctx, io: &mut Io, json: bool) -> Result<(), CommandError> {
    let now = crate::clock::now_unix() as i64;
    if json {
        let rows: Vec<serde_json::Value> = ctx
            .store
            .apps()
            .into_iter()
            .filter(|record| record.letsencrypt.enabled)
            .map(|record| {
                let graceperiod = Settings::of(ctx, &record).graceperiod as i64;
                let info = current(ctx, &record.name);
                let left = info.as_ref().map(|info| (info.expires_at - now).max(0));
                serde_json::json!({
                    "app": record.name.as_str(),
                    "expires_at": info.map(|info| utc(info.expires_at.max(0) as u64)),
                    "seconds_before_expiry": left,
                    "seconds_before_renewal": left.map(|left| (left - graceperiod).max(0)),
                })
            })
            .collect();
        return super::output::json(io, &rows).await;
    }
    io.step(&format!(
        "{:<26}{:<26}{:<26}{}",
        "App name", "Certificate Expiry", "Time before expiry", "Time before renewal"
    ))
    .await;
    for record in ctx.store.apps() {
        if !record.letsencrypt.enabled {
            continue;
        }
        let graceperiod = Settings::of(ctx, &record).graceperiod as i64;
        let (expiry, left, renewal) = match current(ctx, &record.name) {
            Some(info) => {
                let left = info.expires_at - now;
                (
                    utc(info.expires_at.max(0) as u64),
                    span(left.max(0) as u64),
                    span((left - graceperiod).max(0) as u64),
                )
            }
            None => ("none".into(), "-".into(), "due".into()),
        };
        io.line(&format!(
            "{:<26}{expiry:<26}{left:<26}{renewal}",
            record.name.as_str()
        ))
        .await;
    }
    Ok(())
}

async fn set(
    ctx: &Ctx,
    io: &mut Io,
    target: Option<AppName>,
    property: Property,
) -> Result<(), CommandError> {
    let change = |props: &mut AcmeProps| match property.clone() {
        Property::Email(value) => props.email = value,
        Property::Server(value) => props.server = value,
        Property::Graceperiod(value) => props.graceperiod = value,
    };
    let name = match &target {
        Some(app) => {
            ctx.store
                .update_app(app, |record| change(&mut record.letsencrypt.props))?;
            app.to_string()
        }
        None => {
            ctx.store
                .update_global(|global| change(&mut global.letsencrypt))?;
            "--global".to_string()
        }
    };
    io.step(&format!("Updated the Let's Encrypt settings of {name}"))
        .await;
    Ok(())
}

/// `89d, 23h, 59m` like dokku-letsencrypt's list.
fn span(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86400, seconds % 86400 / 3600, seconds % 3600 / 60);
    format!("{days}d, {hours}h, {minutes}m")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(command: &str, line: &str) -> Result<Args, CommandError> {
        Args::parse(command, &crate::commands::argv::words(line))
    }

    #[test]
    fn parses_forms() {
        let shop = AppName::parse("shop").unwrap();
        assert_eq!(
            parse("letsencrypt:auto-renew", "").unwrap().action,
            Action::AutoRenew(None)
        );
        assert_eq!(
            parse("letsencrypt:set", "--global email ops@example.com")
                .unwrap()
                .action,
            Action::Set(None, Property::Email(Some("ops@example.com".into())))
        );
        assert_eq!(
            parse("letsencrypt:set", "shop graceperiod").unwrap().action,
            Action::Set(Some(shop), Property::Graceperiod(None))
        );
        for (command, line) in [
            ("letsencrypt:enable", ""),
            ("letsencrypt:set", "shop email nobody"),
            ("letsencrypt:set", "shop server http://plain.example/dir"),
            ("letsencrypt:set", "shop graceperiod soon"),
            ("letsencrypt:set", "shop colour blue"),
            ("letsencrypt:list", "extra"),
        ] {
            assert!(parse(command, line).is_err(), "{command} {line}");
        }
    }

    #[test]
    fn spans_read_like_dokku_letsencrypt() {
        assert_eq!(span(90 * 86400 + 3600 + 120), "90d, 1h, 2m");
    }
}
