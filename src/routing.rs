//! What the proxy should enforce for an app, computed from its record: the bridge between the
//! settings commands store (`state`) and the proxy's `Policy`.

use crate::ports::Scheme;
use crate::proxy::{BasicAuth, IpNet, Policy};
use crate::state::AppRecord;

/// Dokku's nginx HSTS max-age (about six months).
const HSTS_MAX_AGE: u64 = 15_724_800;

/// The app's policy; `has_cert` turns on the HTTPS redirect and HSTS unless the app opted out.
pub fn policy(record: &AppRecord, has_cert: bool, https_port: u16) -> Policy {
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
        hsts: (has_cert && !tls.hsts_disabled)
            .then(|| format!("max-age={}", tls.hsts_max_age.unwrap_or(HSTS_MAX_AGE))),
        ports: crate::ports::parse_all(&record.ports)
            .into_iter()
            .filter(|m| m.scheme != Scheme::Tcp && !m.is_main())
            .map(|m| (m.host, m.container))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::AppName;

    #[test]
    fn a_certificate_brings_the_redirect_and_hsts_unless_disabled() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        let plain = policy(&record, false, 443);
        assert_eq!((plain.redirect_https, plain.hsts), (None, None));
        let secure = policy(&record, true, 8443);
        assert_eq!(secure.redirect_https, Some(8443));
        assert_eq!(secure.hsts.as_deref(), Some("max-age=15724800"));
        record.tls.redirect_disabled = true;
        record.tls.hsts_max_age = Some(60);
        let custom = policy(&record, true, 443);
        assert_eq!(custom.redirect_https, None);
        assert_eq!(custom.hsts.as_deref(), Some("max-age=60"));
    }

    #[test]
    fn auth_applies_only_when_enabled_with_users() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        assert!(policy(&record, false, 443).auth.is_none());
        record.http_auth.enabled = true;
        assert!(
            policy(&record, false, 443).auth.is_none(),
            "no users: nobody could log in"
        );
        record
            .http_auth
            .users
            .insert("ann".into(), crate::password::hash("pw"));
        record.http_auth.allowed_ips.push("10.0.0.0/8".into());
        let auth = policy(&record, false, 443).auth.unwrap();
        assert_eq!(auth.realm, "shop");
        assert_eq!(auth.allowed.len(), 1);
    }
}
