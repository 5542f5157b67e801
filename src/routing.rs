//! What the proxy should enforce for an app, computed from its record: the bridge between the
//! settings commands store (`state`) and the proxy's `Policy`.

use std::time::Duration;

use crate::ports::Scheme;
use crate::proxy::{BasicAuth, ForValue, ForwardedFrom, IpNet, Policy, SslValue};
use crate::size::{number_and_unit, Size};
use crate::state::{AppRecord, GlobalSettings, ProxyLimits};

/// Dokku's nginx HSTS max-age (about six months).
pub const HSTS_MAX_AGE: u64 = 15_724_800;

/// `client-max-body-size` in bytes, written as nginx sizes are (`1048576`, `512k`, `50m`, `1g`;
/// `0`: no limit).
pub fn body_size(raw: &str) -> Option<u64> {
    Size::parse(raw).map(Size::bytes)
}

/// `proxy-read-timeout`, `client-body-timeout` or `send-timeout`, written as nginx times are, in whole seconds,
/// minutes or hours (`60`, `60s`, `2m`, `1h`); at least a second.
pub fn timeout(raw: &str) -> Option<Duration> {
    let (number, unit) = number_and_unit(raw)?;
    let scale = match unit.as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    let secs = number.checked_mul(scale)?;
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// The app's policy; `has_cert` turns on the HTTPS redirect and HSTS unless the app opted out.
/// Limits the app does not set come from `global`, else the proxy's own.
pub fn policy(
    record: &AppRecord,
    global: &GlobalSettings,
    has_cert: bool,
    https_port: u16,
) -> Policy {
    let auth = &record.http_auth;
    let auth = (auth.enabled && !auth.users.is_empty()).then(|| {
        BasicAuth::new(
            record.name.to_string(),
            auth.users
                .iter()
                .map(|(user, hash)| (user.clone(), hash.clone()))
                .collect(),
            auth.allowed_ips
                .iter()
                .filter_map(|raw| IpNet::parse(raw))
                .collect(),
        )
    });
    let tls = &record.tls;
    Policy {
        auth,
        redirect_https: (has_cert && !tls.redirect_disabled).then_some(https_port),
        hsts: (has_cert && !tls.hsts_disabled).then(|| hsts_header(tls)),
        ports: crate::ports::parse_all(&record.ports)
            .into_iter()
            .filter(|m| m.scheme != Scheme::Tcp && !m.is_main())
            .map(|m| (m.host, m.container))
            .collect(),
        max_body: setting(record, global, |l| &l.client_max_body_size, body_size),
        read_timeout: setting(record, global, |l| &l.proxy_read_timeout, timeout),
        body_timeout: setting(record, global, |l| &l.client_body_timeout, timeout),
        send_timeout: setting(record, global, |l| &l.send_timeout, timeout),
        maintenance: record.maintenance,
        maintenance_page: None,
        maintenance_assets: Default::default(),
        access_log_off: setting(record, global, |l| &l.access_log_path, log_off).is_some(),
        error_log_off: setting(record, global, |l| &l.error_log_path, log_off).is_some(),
        underscores_in_headers: setting(record, global, |l| &l.underscore_in_headers, on_off)
            .unwrap_or_default(),
        forwarded: ForwardedFrom {
            for_value: setting(record, global, |l| &l.x_forwarded_for_value, for_value)
                .unwrap_or_default(),
            client_proto: setting(record, global, |l| &l.x_forwarded_proto_value, client_proto)
                .unwrap_or_default(),
            client_port: setting(record, global, |l| &l.x_forwarded_port_value, client_port)
                .unwrap_or_default(),
            ssl: setting(record, global, |l| &l.x_forwarded_ssl, forwarded_ssl).unwrap_or_default(),
        },
    }
}

/// The `Strict-Transport-Security` value, as Dokku's nginx writes it.
fn hsts_header(tls: &crate::state::TlsSettings) -> String {
    let mut value = format!("max-age={}", tls.hsts_max_age.unwrap_or(HSTS_MAX_AGE));
    if tls.hsts_include_subdomains.unwrap_or(true) {
        value.push_str("; includeSubDomains");
    }
    if tls.hsts_preload {
        value.push_str("; preload");
    }
    value
}

/// An `nginx:set` property: the app's value, else the global one, as `parse` reads it.
fn setting<T>(
    record: &AppRecord,
    global: &GlobalSettings,
    field: impl Fn(&ProxyLimits) -> &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    [&record.proxy, &global.proxy]
        .iter()
        .find_map(|limits| field(limits).as_deref().and_then(&parse))
}

/// `access-log-path` or `error-log-path`: Berth keeps its own logs, so `off` is the only value.
pub fn log_off(raw: &str) -> Option<()> {
    (raw == "off").then_some(())
}

/// `x-forwarded-for-value`, by the nginx variable Dokku users set it to.
pub fn for_value(raw: &str) -> Option<ForValue> {
    match raw {
        "$remote_addr" => Some(ForValue::Peer),
        "$proxy_add_x_forwarded_for" => Some(ForValue::Append),
        "$http_x_forwarded_for" => Some(ForValue::Client),
        _ => None,
    }
}

/// `x-forwarded-proto-value`: true when the client's header is passed on.
pub fn client_proto(raw: &str) -> Option<bool> {
    match raw {
        "$scheme" => Some(false),
        "$http_x_forwarded_proto" => Some(true),
        _ => None,
    }
}

/// `x-forwarded-port-value`: true when the client's header is passed on.
pub fn client_port(raw: &str) -> Option<bool> {
    match raw {
        "$server_port" => Some(false),
        "$http_x_forwarded_port" => Some(true),
        _ => None,
    }
}

/// `underscore-in-headers`, as nginx's `underscores_in_headers` reads it.
pub fn on_off(raw: &str) -> Option<bool> {
    match raw {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// `x-forwarded-ssl`: a fixed `on` or `off`, or the client's own.
pub fn forwarded_ssl(raw: &str) -> Option<SslValue> {
    match raw {
        "on" => Some(SslValue::Fixed("on")),
        "off" => Some(SslValue::Fixed("off")),
        "$http_x_forwarded_ssl" => Some(SslValue::Client),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::AppName;

    #[test]
    fn a_certificate_brings_the_redirect_and_hsts_unless_disabled() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        let plain = policy(&record, &GlobalSettings::default(), false, 443);
        assert_eq!((plain.redirect_https, plain.hsts), (None, None));
        let secure = policy(&record, &GlobalSettings::default(), true, 8443);
        assert_eq!(secure.redirect_https, Some(8443));
        assert_eq!(
            secure.hsts.as_deref(),
            Some("max-age=15724800; includeSubDomains")
        );
        record.tls.redirect_disabled = true;
        record.tls.hsts_max_age = Some(60);
        let custom = policy(&record, &GlobalSettings::default(), true, 443);
        assert_eq!(custom.redirect_https, None);
        assert_eq!(
            custom.hsts.as_deref(),
            Some("max-age=60; includeSubDomains")
        );
        record.tls.hsts_include_subdomains = Some(false);
        record.tls.hsts_preload = true;
        let preload = policy(&record, &GlobalSettings::default(), true, 443);
        assert_eq!(preload.hsts.as_deref(), Some("max-age=60; preload"));
    }

    #[test]
    fn auth_applies_only_when_enabled_with_users() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        assert!(policy(&record, &GlobalSettings::default(), false, 443)
            .auth
            .is_none());
        record.http_auth.enabled = true;
        assert!(
            policy(&record, &GlobalSettings::default(), false, 443)
                .auth
                .is_none(),
            "no users: nobody could log in"
        );
        record
            .http_auth
            .users
            .insert("ann".into(), crate::password::hash("pw"));
        record.http_auth.allowed_ips.push("10.0.0.0/8".into());
        let auth = policy(&record, &GlobalSettings::default(), false, 443)
            .auth
            .unwrap();
        assert_eq!(auth.realm, "shop");
        assert_eq!(auth.allowed.len(), 1);
    }

    #[test]
    fn limits_come_from_the_app_then_the_global_settings() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        let mut global = GlobalSettings::default();
        let limits = |record: &AppRecord, global: &GlobalSettings| {
            let policy = policy(record, global, false, 443);
            let secs = |t: Option<Duration>| t.map(|t| t.as_secs());
            (
                policy.max_body,
                secs(policy.read_timeout),
                secs(policy.body_timeout),
                secs(policy.send_timeout),
            )
        };
        assert_eq!(limits(&record, &global), (None, None, None, None));
        global.proxy.client_max_body_size = Some("10m".into());
        global.proxy.proxy_read_timeout = Some("2m".into());
        global.proxy.client_body_timeout = Some("30s".into());
        global.proxy.send_timeout = Some("90".into());
        assert_eq!(
            limits(&record, &global),
            (Some(10 << 20), Some(120), Some(30), Some(90))
        );
        record.proxy.client_max_body_size = Some("0".into());
        record.proxy.proxy_read_timeout = Some("5s".into());
        record.proxy.client_body_timeout = Some("1h".into());
        record.proxy.send_timeout = Some("2m".into());
        assert_eq!(
            limits(&record, &global),
            (Some(0), Some(5), Some(3600), Some(120))
        );
        let logs = |record: &AppRecord, global: &GlobalSettings| {
            let policy = policy(record, global, false, 443);
            (policy.access_log_off, policy.error_log_off)
        };
        assert_eq!(logs(&record, &global), (false, false));
        global.proxy.access_log_path = Some("off".into());
        record.proxy.error_log_path = Some("off".into());
        assert_eq!(logs(&record, &global), (true, true));
        let headers = |record: &AppRecord, global: &GlobalSettings| {
            let policy = policy(record, global, false, 443);
            (policy.underscores_in_headers, policy.forwarded.ssl)
        };
        assert_eq!(headers(&record, &global), (false, SslValue::Unset));
        global.proxy.underscore_in_headers = Some("on".into());
        global.proxy.x_forwarded_ssl = Some("on".into());
        record.proxy.x_forwarded_ssl = Some("$http_x_forwarded_ssl".into());
        assert_eq!(headers(&record, &global), (true, SslValue::Client));
        record.proxy.underscore_in_headers = Some("off".into());
        assert_eq!(headers(&record, &global), (false, SslValue::Client));
    }

    #[test]
    fn timeouts_read_like_nginx() {
        let secs = |raw| timeout(raw).map(|t| t.as_secs());
        assert_eq!(secs("60"), Some(60));
        assert_eq!(secs("60s"), Some(60));
        assert_eq!(secs(" 2M "), Some(120));
        assert_eq!(secs("1h"), Some(3600));
        for bad in [
            "",
            "0",
            "0s",
            "s",
            "5ms",
            "1d",
            "-1",
            "99999999999999999999h",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
