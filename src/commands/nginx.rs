//! `nginx:set (<app>|--global) <property> [<value>]` and `nginx:report <app>`: the proxy's
//! limits and forwarding headers per app, under the names Dokku's nginx plugin gives them, so
//! Dokku users' commands and scripts keep working (the logs: `nginx_logs`). Berth has no nginx:
//! a value applies to its own proxy at once, with no config rebuild and no reload. The `hsts…`
//! properties are the app's HTTPS settings (`certs:set`), per app only.

use super::argv::Argv;
use super::certs::Setting;
use super::output::report;
use super::{CommandError, Io};
use crate::config::ProxyConfig;
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::routing::{
    body_size, client_port, client_proto, for_value, forwarded_ssl, log_off, on_off, timeout,
    HSTS_MAX_AGE,
};
use crate::state::ProxyLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    ClientMaxBodySize,
    ProxyReadTimeout,
    ClientBodyTimeout,
    SendTimeout,
    XForwardedForValue,
    XForwardedProtoValue,
    XForwardedPortValue,
    AccessLogPath,
    ErrorLogPath,
    UnderscoreInHeaders,
    XForwardedSsl,
}

impl Property {
    pub const ALL: [Property; 11] = [
        Property::ClientMaxBodySize,
        Property::ProxyReadTimeout,
        Property::ClientBodyTimeout,
        Property::SendTimeout,
        Property::XForwardedForValue,
        Property::XForwardedProtoValue,
        Property::XForwardedPortValue,
        Property::AccessLogPath,
        Property::ErrorLogPath,
        Property::UnderscoreInHeaders,
        Property::XForwardedSsl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::ClientMaxBodySize => "client-max-body-size",
            Property::ProxyReadTimeout => "proxy-read-timeout",
            Property::ClientBodyTimeout => "client-body-timeout",
            Property::SendTimeout => "send-timeout",
            Property::XForwardedForValue => "x-forwarded-for-value",
            Property::XForwardedProtoValue => "x-forwarded-proto-value",
            Property::XForwardedPortValue => "x-forwarded-port-value",
            Property::AccessLogPath => "access-log-path",
            Property::ErrorLogPath => "error-log-path",
            Property::UnderscoreInHeaders => "underscore-in-headers",
            Property::XForwardedSsl => "x-forwarded-ssl",
        }
    }

    pub fn slot(self, limits: &mut ProxyLimits) -> &mut Option<String> {
        match self {
            Property::ClientMaxBodySize => &mut limits.client_max_body_size,
            Property::ProxyReadTimeout => &mut limits.proxy_read_timeout,
            Property::ClientBodyTimeout => &mut limits.client_body_timeout,
            Property::SendTimeout => &mut limits.send_timeout,
            Property::XForwardedForValue => &mut limits.x_forwarded_for_value,
            Property::XForwardedProtoValue => &mut limits.x_forwarded_proto_value,
            Property::XForwardedPortValue => &mut limits.x_forwarded_port_value,
            Property::AccessLogPath => &mut limits.access_log_path,
            Property::ErrorLogPath => &mut limits.error_log_path,
            Property::UnderscoreInHeaders => &mut limits.underscore_in_headers,
            Property::XForwardedSsl => &mut limits.x_forwarded_ssl,
        }
    }

    /// What applies when neither the app nor `--global` sets it: the config file's `[proxy]`
    /// value, else Berth's own behaviour, in the property's terms.
    fn default_value(self, proxy: &ProxyConfig) -> String {
        match self {
            Property::ClientMaxBodySize => size_text(proxy.client_max_body_size.bytes()),
            Property::ProxyReadTimeout => format!("{}s", proxy.read_timeout_secs),
            Property::ClientBodyTimeout => format!("{}s", proxy.client_body_timeout_secs),
            Property::SendTimeout => format!("{}s", proxy.send_timeout_secs),
            Property::XForwardedForValue => "$remote_addr".to_string(),
            Property::XForwardedProtoValue => "$scheme".to_string(),
            Property::XForwardedPortValue => "$server_port".to_string(),
            Property::AccessLogPath => match proxy.access_log.as_str() {
                "" => "stderr".to_string(),
                destination => destination.to_string(),
            },
            Property::ErrorLogPath => "on".to_string(),
            Property::UnderscoreInHeaders => "off".to_string(),
            Property::XForwardedSsl => String::new(),
        }
    }

    pub fn get(self, limits: &ProxyLimits) -> Option<String> {
        self.slot(&mut limits.clone()).take()
    }

    /// Whether `raw` reads as a value of this property, and what to say when it does not.
    pub fn check(self, raw: &str) -> (bool, &'static str) {
        match self {
            Property::ClientMaxBodySize => (
                body_size(raw).is_some(),
                "use bytes or a k/m/g suffix, like 50m (0: no limit)",
            ),
            Property::ProxyReadTimeout | Property::ClientBodyTimeout | Property::SendTimeout => (
                timeout(raw).is_some(),
                "use seconds, or an s/m/h suffix, like 60s",
            ),
            Property::XForwardedForValue => (
                for_value(raw).is_some(),
                "use $remote_addr, $proxy_add_x_forwarded_for or $http_x_forwarded_for",
            ),
            Property::XForwardedProtoValue => (
                client_proto(raw).is_some(),
                "use $scheme or $http_x_forwarded_proto",
            ),
            Property::XForwardedPortValue => (
                client_port(raw).is_some(),
                "use $server_port or $http_x_forwarded_port",
            ),
            Property::AccessLogPath | Property::ErrorLogPath => (
                log_off(raw).is_some(),
                "Berth keeps the app's lines in its own logs; off stops them, no value brings them back",
            ),
            Property::UnderscoreInHeaders => (on_off(raw).is_some(), "use on or off"),
            Property::XForwardedSsl => (
                forwarded_ssl(raw).is_some(),
                "use on, off or $http_x_forwarded_ssl",
            ),
        }
    }
}

#[derive(Debug)]
pub enum Args {
    /// `None` target: `--global`; `None` value: unset.
    Set(Option<AppName>, Property, Option<String>),
    /// An HSTS property of the app.
    Tls(AppName, Setting),
    Report(AppName),
}

fn property(raw: &str) -> Result<Property, CommandError> {
    Property::ALL
        .into_iter()
        .find(|p| p.name() == raw)
        .ok_or_else(|| {
            let mut known: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
            known.extend(Setting::HSTS);
            CommandError::User(format!(
                "Invalid property \"{}\": nginx:set knows {}",
                shown(raw),
                known.join(", ")
            ))
        })
}

/// The value as stored: trimmed and lowercase, once it reads as the property's kind.
fn value(property: Property, raw: &str) -> Result<String, CommandError> {
    let stored = raw.trim().to_ascii_lowercase();
    match property.check(&stored) {
        (true, _) => Ok(stored),
        (false, hint) => Err(CommandError::User(format!(
            "Invalid {} \"{}\": {hint}",
            property.name(),
            shown(raw)
        ))),
    }
}

impl Args {
    /// An app's settings are its developers'; `--global` is an admin's.
    pub fn need(&self) -> super::access::Need {
        use super::access::Need;
        match self {
            Args::Set(None, _, _) => Need::Admin("global settings (--global, --all)"),
            Args::Set(Some(app), _, _) | Args::Tls(app, _) | Args::Report(app) => {
                Need::App(app.clone())
            }
        }
    }
}

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        match name {
            "nginx:set" => {
                let mut argv = Argv::new("nginx:set", words);
                let target = argv.app_or_global()?;
                let key = argv.required("property")?;
                if Setting::HSTS.contains(&key.as_str()) {
                    let value = argv.optional()?;
                    argv.finish()?;
                    let Some(app) = target else {
                        return Err(CommandError::User(format!(
                            "{key} is set per app: nginx:set <app> {key} [value]"
                        )));
                    };
                    let setting = Setting::parse(&key, value)?
                        .ok_or_else(|| CommandError::Internal(format!("{key} has no setting")))?;
                    return Ok(Args::Tls(app, setting));
                }
                let property = property(&key)?;
                let value = argv
                    .optional()?
                    .filter(|raw| !raw.is_empty())
                    .map(|raw| value(property, &raw))
                    .transpose()?;
                argv.finish()?;
                Ok(Args::Set(target, property, value))
            }
            "nginx:report" => {
                let mut argv = Argv::new("nginx:report", words);
                let app = AppName::parse(&argv.required("app name")?)?;
                argv.finish()?;
                Ok(Args::Report(app))
            }
            other => Err(CommandError::Unknown(other.to_string())),
        }
    }

    pub fn command(&self) -> &'static str {
        match self {
            Args::Set(..) | Args::Tls(..) => "nginx:set",
            Args::Report(_) => "nginx:report",
        }
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::Set(target, property, value) => {
            let stored = value.clone();
            match &target {
                Some(app) => {
                    ctx.store
                        .update_app(app, |record| *property.slot(&mut record.proxy) = stored)?;
                    ctx.refresh_policy(app);
                }
                None => {
                    ctx.store
                        .update_global(|global| *property.slot(&mut global.proxy) = stored)?;
                    for app in ctx.store.app_names() {
                        ctx.refresh_policy(&app);
                    }
                }
            }
            let target = target.map_or("--global".to_string(), |app| app.to_string());
            let name = property.name();
            let line = match value {
                Some(value) => format!("Setting {name} to {value} for {target}"),
                None => format!("Unsetting {name} for {target}"),
            };
            io.step(&line).await;
            Ok(())
        }
        Args::Tls(app, setting) => {
            ctx.store
                .update_app(&app, |record| setting.apply(&mut record.tls))?;
            ctx.refresh_tls(&app);
            io.step(&format!("Updated the HTTPS settings of {app}"))
                .await;
            Ok(())
        }
        Args::Report(app) => {
            let record = ctx.store.app(&app)?;
            let tls = &record.tls;
            let own = record.proxy.clone();
            let global = ctx.store.global().proxy;
            let proxy = &ctx.config.proxy;
            let mut rows = Vec::new();
            for property in Property::ALL {
                let label = property.name().replace('-', " ");
                let (own, global) = (property.get(&own), property.get(&global));
                let computed = own
                    .clone()
                    .or(global.clone())
                    .unwrap_or_else(|| property.default_value(proxy));
                rows.push((format!("Nginx {label}"), own.unwrap_or_default()));
                rows.push((format!("Nginx computed {label}"), computed));
                rows.push((format!("Nginx global {label}"), global.unwrap_or_default()));
            }
            rows.extend([
                ("Nginx hsts".to_string(), (!tls.hsts_disabled).to_string()),
                (
                    "Nginx hsts include subdomains".to_string(),
                    tls.hsts_include_subdomains.unwrap_or(true).to_string(),
                ),
                (
                    "Nginx hsts max age".to_string(),
                    tls.hsts_max_age.unwrap_or(HSTS_MAX_AGE).to_string(),
                ),
                (
                    "Nginx hsts preload".to_string(),
                    tls.hsts_preload.to_string(),
                ),
            ]);
            let rows: Vec<(&str, String)> =
                rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
            report(io, &format!("{app} nginx information"), &rows).await?;
            Ok(())
        }
    }
}

/// A byte count the way nginx sizes are written: `1m` rather than `1048576`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        0 => "0".to_string(),
        b if b % (1 << 30) == 0 => format!("{}g", b >> 30),
        b if b % (1 << 20) == 0 => format!("{}m", b >> 20),
        b if b % (1 << 10) == 0 => format!("{}k", b >> 10),
        b => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn set_reads_dokku_properties_and_nginx_values() {
        let Args::Set(Some(app), property, value) =
            Args::parse("nginx:set", &words("shop client-max-body-size 50M")).unwrap()
        else {
            panic!("a set for shop");
        };
        assert_eq!(
            (app.as_str(), property, value.as_deref()),
            ("shop", Property::ClientMaxBodySize, Some("50m"))
        );
        let Args::Set(None, Property::ProxyReadTimeout, None) =
            Args::parse("nginx:set", &words("--global proxy-read-timeout")).unwrap()
        else {
            panic!("an unset for --global");
        };
        let Args::Tls(_, Setting::HstsPreload(Some(true))) =
            Args::parse("nginx:set", &words("shop hsts-preload true")).unwrap()
        else {
            panic!("an HSTS setting of shop");
        };
        for bad in [
            "shop client-max-body-size lots",
            "shop proxy-read-timeout 0",
            "shop client-body-timeout 5ms",
            "shop hsts maybe",
            "shop gzip on",
            "shop access-log-path /var/log/shop.log",
            "shop underscore-in-headers yes",
            "shop x-forwarded-ssl $https",
        ] {
            let err = Args::parse("nginx:set", &words(bad)).unwrap_err();
            assert!(err.to_string().starts_with("Invalid "), "{bad}: {err}");
        }
        let Args::Set(None, Property::AccessLogPath, Some(off)) =
            Args::parse("nginx:set", &words("--global access-log-path OFF")).unwrap()
        else {
            panic!("the access log off for every app");
        };
        assert_eq!(off, "off");
        let global = Args::parse("nginx:set", &words("--global hsts false")).unwrap_err();
        assert!(global.to_string().contains("is set per app"), "{global}");
    }

    #[test]
    fn sizes_are_shown_as_nginx_writes_them() {
        assert_eq!(size_text(1 << 20), "1m");
        assert_eq!(size_text(3 << 30), "3g");
        assert_eq!(size_text(1536), "1536");
        assert_eq!(size_text(0), "0");
    }
}
