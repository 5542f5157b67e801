//! Which hosts an app answers on: its own domains (`domains:*`), or by default `<app>.<global>`
//! for each global domain. A domain is exact (`shop.example`) or a wildcard (`*.shop.example`,
//! any depth of subdomain).

use crate::config::Config;
use crate::names::AppName;
use crate::state::{AppRecord, GlobalSettings};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a valid domain: use lowercase letters, digits, dots and dashes, optionally starting with *.")]
pub struct DomainError(pub String);

/// Validates and normalizes (lowercase, no trailing dot) a domain as typed.
pub fn parse_domain(raw: &str) -> Result<String, DomainError> {
    let domain = raw.trim_end_matches('.').to_ascii_lowercase();
    let bare = domain.strip_prefix("*.").unwrap_or(&domain);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if domain.len() > 253 || bare.is_empty() || !bare.split('.').all(label_ok) {
        return Err(DomainError(crate::names::shown(raw)));
    }
    Ok(domain)
}

/// The global domains: set with `domains:*-global`, else the config file's `global_domain`.
pub fn global_domains(global: &GlobalSettings, config: &Config) -> Vec<String> {
    global
        .domains
        .clone()
        .unwrap_or_else(|| vec![config.global_domain.clone()])
}

/// The app's default hosts: `<app>.<domain>` for each global domain.
pub fn default_vhosts(app: &AppName, globals: &[String]) -> Vec<String> {
    globals.iter().map(|g| format!("{app}.{g}")).collect()
}

/// The app's own list: what `domains:*` set, or the defaults.
pub fn app_vhosts(record: &AppRecord, globals: &[String]) -> Vec<String> {
    record
        .domains
        .vhosts
        .clone()
        .unwrap_or_else(|| default_vhosts(&record.name, globals))
}

/// The hosts the proxy routes to the app: none while its domains or its proxy are disabled.
pub fn routed_hosts(record: &AppRecord, globals: &[String]) -> Vec<String> {
    match record.domains.disabled || record.proxy_disabled {
        true => Vec::new(),
        false => app_vhosts(record, globals),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_validated_and_normalized() {
        assert_eq!(parse_domain("Shop.Example.").unwrap(), "shop.example");
        assert_eq!(parse_domain("*.shop.example").unwrap(), "*.shop.example");
        assert_eq!(parse_domain("localhost").unwrap(), "localhost");
        for bad in [
            "",
            "*.",
            "a..b",
            "-a.b",
            "a_b.c",
            "a.*.b",
            "*",
            "sh op.example",
            "a/b",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        assert!(parse_domain(&format!("{}.example", "a".repeat(64))).is_err());
    }

    #[test]
    fn the_default_is_the_app_under_each_global_domain() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        let globals = vec!["a.example".to_string(), "b.example".to_string()];
        assert_eq!(
            routed_hosts(&record, &globals),
            ["shop.a.example", "shop.b.example"]
        );
        record.domains.vhosts = Some(vec!["shop.com".into()]);
        assert_eq!(routed_hosts(&record, &globals), ["shop.com"]);
        record.domains.disabled = true;
        assert!(routed_hosts(&record, &globals).is_empty());
        assert_eq!(app_vhosts(&record, &globals), ["shop.com"]);
        record.domains.disabled = false;
        record.proxy_disabled = true;
        assert!(routed_hosts(&record, &globals).is_empty());
    }
}
