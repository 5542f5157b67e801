//! `certs:add|update <app> [CRT KEY]` (a tar holding server.crt and server.key on stdin, or two
//! files on the server), `certs:generate <app> [DOMAIN...]` (self-signed), `certs:remove <app>`,
//! `certs:report <app>`, `certs:show <app> crt|key` and `certs:set <app> <property> [value]`:
//! `redirect`, `hsts`, `hsts-include-subdomains`, `hsts-preload` (true|false) and
//! `hsts-max-age` (seconds); no value restores the default. `nginx:set <app> hsts…` (Dokku's
//! names) sets the same ones.
//! HTTPS picks the certificate by SNI at once; no restart.

use std::io::Read;

use super::argv::{boolean, Argv};
use super::output::{report, utc};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::certs::{load, self_signed};
use crate::context::Ctx;
use crate::names::AppName;
use crate::state::TlsSettings;

/// The largest certificate tar `certs:add` reads from stdin.
const MAX_TAR: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Two files on the server, or (None) a tar on stdin.
    Add(Option<(String, String)>),
    Generate(Vec<String>),
    Remove,
    Report,
    /// The stored PEM: the certificate chain (true) or the key.
    Show(bool),
    Set(Setting),
}

/// An HTTPS setting of an app; `None` restores the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Redirect(Option<bool>),
    Hsts(Option<bool>),
    HstsMaxAge(Option<u64>),
    HstsIncludeSubdomains(Option<bool>),
    HstsPreload(Option<bool>),
}

impl Setting {
    /// The HSTS properties, as `certs:set` and `nginx:set` name them.
    pub const HSTS: [&str; 4] = [
        "hsts",
        "hsts-include-subdomains",
        "hsts-max-age",
        "hsts-preload",
    ];

    /// `key` set to `value`; `None` when `key` is no HTTPS property.
    pub fn parse(key: &str, value: Option<String>) -> Result<Option<Setting>, CommandError> {
        let value = value.filter(|v| !v.is_empty());
        Ok(Some(match key {
            "redirect" => Setting::Redirect(boolean(key, value)?),
            "hsts" => Setting::Hsts(boolean(key, value)?),
            "hsts-max-age" => Setting::HstsMaxAge(super::argv::seconds(key, value)?),
            "hsts-include-subdomains" => Setting::HstsIncludeSubdomains(boolean(key, value)?),
            "hsts-preload" => Setting::HstsPreload(boolean(key, value)?),
            _ => return Ok(None),
        }))
    }

    pub fn apply(&self, tls: &mut TlsSettings) {
        match *self {
            Setting::Redirect(on) => tls.redirect_disabled = on == Some(false),
            Setting::Hsts(on) => tls.hsts_disabled = on == Some(false),
            Setting::HstsMaxAge(seconds) => tls.hsts_max_age = seconds,
            Setting::HstsIncludeSubdomains(on) => tls.hsts_include_subdomains = on,
            Setting::HstsPreload(on) => tls.hsts_preload = on == Some(true),
        }
    }
}

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    pub app: AppName,
    pub action: Action,
}

const COMMANDS: [&str; 7] = [
    "certs:add",
    "certs:update",
    "certs:generate",
    "certs:remove",
    "certs:report",
    "certs:set",
    "certs:show",
];

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let command = super::argv::known(&COMMANDS, name)?;
        let mut argv = Argv::new(command, words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let action = match command {
            "certs:add" | "certs:update" => match argv.optional()? {
                Some(crt) => Action::Add(Some((crt, argv.required("key file")?))),
                None => Action::Add(None),
            },
            "certs:generate" => {
                Action::Generate(argv.all("a domain", true, crate::domains::parse_domain)?)
            }
            "certs:remove" => Action::Remove,
            "certs:report" => Action::Report,
            "certs:show" => match argv.required("crt or key")?.as_str() {
                "crt" => Action::Show(true),
                "key" => Action::Show(false),
                other => {
                    return Err(CommandError::User(format!(
                        "Invalid part \"{shown}\": certs:show prints crt or key",
                        shown = crate::names::shown(other)
                    )))
                }
            },
            _ => {
                let key = argv.required("property")?;
                let value = argv.optional()?;
                Action::Set(Setting::parse(&key, value)?.ok_or_else(|| {
                    CommandError::User(format!(
                        "Invalid property \"{shown}\": certs:set knows redirect, {}",
                        Setting::HSTS.join(", "),
                        shown = crate::names::shown(&key)
                    ))
                })?)
            }
        };
        argv.finish()?;
        Ok(Args {
            command,
            app,
            action,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = &args.app;
    let record = ctx.store.app(app)?;
    let (crt, key) = match args.action {
        Action::Report => return report_app(ctx, io, app).await,
        Action::Show(crt) => {
            let Some(pem) = ctx.store.cert(app)? else {
                return Err(CommandError::User(format!("{app} has no certificate")));
            };
            let part = if crt { pem.crt } else { pem.key };
            io.out(&String::from_utf8_lossy(&part)).await;
            return Ok(());
        }
        Action::Remove => {
            if !ctx.store.remove_cert(app)? {
                return Err(CommandError::User(format!("{app} has no certificate")));
            }
            ctx.refresh_tls(app);
            io.step(&format!("Removed the certificate of {app}")).await;
            ctx.trigger(
                "post-certs-remove",
                &[app.to_string()],
                Some(app),
                caller,
                io,
            )
            .await?;
            return Ok(());
        }
        Action::Set(setting) => {
            ctx.store
                .update_app(app, |record| setting.apply(&mut record.tls))?;
            ctx.refresh_tls(app);
            io.step(&format!("Updated the HTTPS settings of {app}"))
                .await;
            return Ok(());
        }
        Action::Add(Some((crt, key))) => {
            caller.require_local("certs:add with files")?;
            let read = |path: &str| {
                std::fs::read(path)
                    .map_err(|err| CommandError::User(format!("cannot read {path}: {err}")))
            };
            (read(&crt)?, read(&key)?)
        }
        Action::Add(None) => {
            let tar = io
                .read_all(MAX_TAR)
                .await
                .map_err(|err| CommandError::User(format!("cannot read stdin: {err}")))?;
            from_tar(&tar)?
        }
        Action::Generate(mut domains) => {
            if domains.is_empty() {
                domains = crate::domains::app_vhosts(&record, &ctx.global_domains());
            }
            if domains.is_empty() {
                return Err(CommandError::User(format!(
                    "{app} has no domains; name them: certs:generate {app} DOMAIN"
                )));
            }
            let (crt, key) =
                self_signed(&domains).map_err(|err| CommandError::Internal(err.to_string()))?;
            io.step(&format!(
                "Generated a self-signed certificate for {}",
                domains.join(" ")
            ))
            .await;
            (crt.into_bytes(), key.into_bytes())
        }
    };
    let bundle = load(&crt, &key).map_err(|err| CommandError::User(err.to_string()))?;
    ctx.store.save_cert(app, &crt, &key)?;
    ctx.refresh_tls(app);
    io.step(&format!(
        "Added a certificate for {} to {app} (expires {})",
        bundle.info.hostnames.join(" "),
        utc(bundle.info.expires_at.max(0) as u64)
    ))
    .await;
    ctx.trigger(
        "post-certs-update",
        &[app.to_string()],
        Some(app),
        caller,
        io,
    )
    .await?;
    Ok(())
}

/// `server.crt` and `server.key` from a tar (in any directory of it).
fn from_tar(tar: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CommandError> {
    let bad = |why: String| {
        CommandError::User(format!(
            "Expected a tar with server.crt and server.key on stdin: {why}"
        ))
    };
    let mut archive = tar::Archive::new(tar);
    let (mut crt, mut key) = (None, None);
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let slot = match name.as_deref() {
            Some("server.crt") => &mut crt,
            Some("server.key") => &mut key,
            _ => continue,
        };
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        *slot = Some(bytes);
    }
    match (crt, key) {
        (Some(crt), Some(key)) => Ok((crt, key)),
        _ => Err(bad("one of them is missing".into())),
    }
}

async fn report_app(ctx: &Ctx, io: &mut Io, app: &AppName) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    let (info, verified) = match ctx.store.cert(app)? {
        Some(pem) => {
            let info = load(&pem.crt, &pem.key)
                .map_err(|e| CommandError::Internal(e.to_string()))?
                .info;
            let verified = crate::certs::verification(&pem.crt, &info);
            (Some(info), verified)
        }
        None => (None, String::new()),
    };
    let field =
        |f: &dyn Fn(&crate::certs::CertInfo) -> String| info.as_ref().map(f).unwrap_or_default();
    let time = |seconds: i64| utc(seconds.max(0) as u64);
    report(
        io,
        &format!("{app} ssl information"),
        &[
            (
                "Ssl dir",
                ctx.store.layout().tls_dir(app).display().to_string(),
            ),
            ("Ssl enabled", info.is_some().to_string()),
            ("Ssl expires at", field(&|i| time(i.expires_at))),
            ("Ssl hostnames", field(&|i| i.hostnames.join(" "))),
            ("Ssl hsts", (!record.tls.hsts_disabled).to_string()),
            ("Ssl issuer", field(&|i| i.issuer.clone())),
            ("Ssl redirect", (!record.tls.redirect_disabled).to_string()),
            ("Ssl self signed", field(&|i| i.self_signed.to_string())),
            ("Ssl starts at", field(&|i| time(i.starts_at))),
            ("Ssl subject", field(&|i| i.subject.clone())),
            ("Ssl verified", verified),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(command: &str, line: &str) -> Result<Args, CommandError> {
        Args::parse(command, &crate::commands::argv::words(line))
    }

    #[test]
    fn parses_forms() {
        assert_eq!(
            parse("certs:add", "shop").unwrap().action,
            Action::Add(None)
        );
        assert_eq!(
            parse("certs:add", "shop a.crt a.key").unwrap().action,
            Action::Add(Some(("a.crt".into(), "a.key".into())))
        );
        assert_eq!(
            parse("certs:set", "shop redirect false").unwrap().action,
            Action::Set(Setting::Redirect(Some(false)))
        );
        assert_eq!(
            parse("certs:set", "shop hsts-max-age").unwrap().action,
            Action::Set(Setting::HstsMaxAge(None))
        );
        for (command, line) in [
            ("certs:add", "shop a.crt"),
            ("certs:set", "shop hsts maybe"),
            ("certs:generate", "shop bad_domain"),
        ] {
            assert!(parse(command, line).is_err(), "{command} {line}");
        }
    }

    #[test]
    fn reads_the_pair_from_a_tar() {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, body) in [("tls/server.crt", "C"), ("tls/server.key", "K"), ("x", "?")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o600);
            builder
                .append_data(&mut header, name, body.as_bytes())
                .unwrap();
        }
        let tar = builder.into_inner().unwrap();
        assert_eq!(from_tar(&tar).unwrap(), (b"C".to_vec(), b"K".to_vec()));
        assert!(from_tar(b"not a tar").is_err());
    }
}
