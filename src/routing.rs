//! What the proxy should enforce for an app, computed from its record: the bridge between the
//! settings commands store (`state`) and the proxy's `Policy`.

use crate::proxy::{BasicAuth, IpNet, Policy};
use crate::state::AppRecord;

pub fn policy(record: &AppRecord) -> Policy {
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
    Policy {
        auth,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::AppName;

    #[test]
    fn auth_applies_only_when_enabled_with_users() {
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 0);
        assert!(policy(&record).auth.is_none());
        record.http_auth.enabled = true;
        assert!(
            policy(&record).auth.is_none(),
            "no users: nobody could log in"
        );
        record
            .http_auth
            .users
            .insert("ann".into(), crate::password::hash("pw"));
        record.http_auth.allowed_ips.push("10.0.0.0/8".into());
        let auth = policy(&record).auth.unwrap();
        assert_eq!(auth.realm, "shop");
        assert_eq!(auth.allowed.len(), 1);
    }
}
