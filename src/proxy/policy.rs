//! What the proxy enforces per app before forwarding: HTTP basic auth (with an IP allow list
//! that skips it), for apps with a certificate the HTTP→HTTPS redirect and HSTS, and the
//! app's own body size and read timeout limits.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::auth_guard::AuthGuard;

/// How many verified credentials an app remembers, so PBKDF2 runs once per client, not per
/// request.
const VERIFIED_CACHE: usize = 256;

#[derive(Debug, Default)]
pub struct Policy {
    pub auth: Option<BasicAuth>,
    /// Requests over plain HTTP get a 301 to the same URL over HTTPS on this port.
    pub redirect_https: Option<u16>,
    /// `Strict-Transport-Security` for HTTPS responses, when set.
    pub hsts: Option<String>,
    /// Extra HTTP/HTTPS listeners the app answers on: (host port, container port).
    pub ports: Vec<(u16, u16)>,
    /// The app's own request body limit in bytes (`0`: none), instead of the proxy's.
    pub max_body: Option<u64>,
    /// The app's own wait for response headers, instead of the proxy's.
    pub read_timeout: Option<std::time::Duration>,
    /// The app's own wait for a silent client's request body, instead of the proxy's.
    pub body_timeout: Option<std::time::Duration>,
    /// The app's own wait for a client that takes nothing of a response, instead of the proxy's.
    pub send_timeout: Option<std::time::Duration>,
    /// Where the forwarding headers the app sees come from.
    pub forwarded: ForwardedFrom,
    /// Every request gets a 503 maintenance page instead (`maintenance:on`).
    pub maintenance: bool,
    /// The app's own maintenance page (HTML, `maintenance:custom-page`), else a line of text.
    pub maintenance_page: Option<bytes::Bytes>,
    /// The files the page uses, by path without the leading `/`: served (200) during
    /// maintenance, so the page has its stylesheets and images.
    pub maintenance_assets: std::sync::Arc<std::collections::HashMap<String, bytes::Bytes>>,
    /// No access lines for the app (`nginx:set … access-log-path off`).
    pub access_log_off: bool,
    /// No error lines for the app, kept or logged (`nginx:set … error-log-path off`).
    pub error_log_off: bool,
    /// Request headers with underscores in their names reach the app (`nginx:set …
    /// underscore-in-headers on`); by default they are dropped, as nginx drops them.
    pub underscores_in_headers: bool,
}

/// Where the forwarding headers the app sees come from (`nginx:set … x-forwarded-*-value`): by
/// default the proxy's own view of the connection, which a client cannot forge; behind another
/// proxy or a load balancer, what that one sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardedFrom {
    pub for_value: ForValue,
    /// `X-Forwarded-Proto` as the client sent it (`http` or `https`), when it sent one.
    pub client_proto: bool,
    /// `X-Forwarded-Port` as the client sent it (a port number), when it sent one.
    pub client_port: bool,
    pub ssl: SslValue,
}

/// What `X-Forwarded-Ssl` says (`nginx:set … x-forwarded-ssl`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SslValue {
    /// Unset: nothing; one the client sent is removed, since apps read it as the proxy's word.
    #[default]
    Unset,
    /// `on` or `off` for every request, as Dokku's nginx sets it (behind a load balancer that
    /// ends TLS: `on`).
    Fixed(&'static str),
    /// `$http_x_forwarded_ssl`: the client's `on` or `off`, when it sent one.
    Client,
}

/// What `X-Forwarded-For` says, by the nginx variable Dokku users set it to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForValue {
    /// `$remote_addr`: the connecting peer.
    #[default]
    Peer,
    /// `$proxy_add_x_forwarded_for`: the client's list, then the peer.
    Append,
    /// `$http_x_forwarded_for`: the client's list as sent (the peer when it sent none).
    Client,
}

impl Policy {
    /// The container port requests on the extra listener `host_port` go to, if the app maps it.
    pub fn port_for(&self, host_port: u16) -> Option<u16> {
        self.ports
            .iter()
            .find(|(host, _)| *host == host_port)
            .map(|(_, container)| *container)
    }
}

#[derive(Debug)]
pub struct BasicAuth {
    pub realm: String,
    /// (user, stored password hash; see `crate::password`).
    pub users: Vec<(String, String)>,
    pub allowed: Vec<IpNet>,
    verified: RwLock<HashSet<String>>,
}

/// Why a request may not pass.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No or wrong credentials: answer 401 with a challenge for this realm.
    Unauthorized(String),
    /// Too many wrong credentials from this address lately: 429, for this long.
    TooManyFailures(std::time::Duration),
}

impl BasicAuth {
    pub fn new(realm: String, users: Vec<(String, String)>, allowed: Vec<IpNet>) -> BasicAuth {
        BasicAuth {
            realm,
            users,
            allowed,
            verified: RwLock::new(HashSet::new()),
        }
    }

    /// Passes requests from allowed addresses, or with a user's password.
    pub async fn check(
        &self,
        authorization: Option<&str>,
        peer: IpAddr,
        guard: &Arc<AuthGuard>,
    ) -> Result<(), Denied> {
        if self.allowed.iter().any(|net| net.contains(peer)) {
            return Ok(());
        }
        let denied = || Denied::Unauthorized(self.realm.clone());
        let encoded = authorization
            .and_then(|value| value.strip_prefix("Basic "))
            .map(str::trim)
            .ok_or_else(denied)?;
        if self.read_verified().contains(encoded) {
            return Ok(());
        }
        if let Some(left) = guard.refused_for(peer) {
            return Err(Denied::TooManyFailures(left));
        }
        let decoded = B64
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            guard.failed(peer);
            return Err(denied());
        };
        let stored = self
            .users
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, hash)| hash.as_str());
        if !guard.verify(password, stored).await {
            guard.failed(peer);
            return Err(denied());
        }
        let mut verified = self
            .verified
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if verified.len() >= VERIFIED_CACHE {
            verified.clear();
        }
        verified.insert(encoded.to_string());
        Ok(())
    }

    fn read_verified(&self) -> std::sync::RwLockReadGuard<'_, HashSet<String>> {
        self.verified
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The user name of a `Basic` Authorization header, as nginx's `$remote_user` gives it (whether
/// or not the password is right); the name is bounded by the header's size.
pub fn basic_user(authorization: &[u8]) -> Option<String> {
    let encoded = authorization.strip_prefix(b"Basic ")?.trim_ascii();
    let decoded = B64.decode(encoded).ok()?;
    let user = decoded.split(|&b| b == b':').next()?;
    Some(String::from_utf8_lossy(user).into_owned())
}

/// An address or a network (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(raw: &str) -> Option<IpNet> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr.parse().ok()?, Some(prefix.parse::<u8>().ok()?)),
            None => (raw.parse().ok()?, None),
        };
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", B64.encode(format!("{user}:{password}")))
    }

    #[tokio::test]
    async fn users_pass_with_their_password_only() {
        let auth = BasicAuth::new(
            "shop".into(),
            vec![("ann".into(), crate::password::hash("pw"))],
            vec![IpNet::parse("10.1.0.0/16").unwrap()],
        );
        let guard = AuthGuard::new(1, 4);
        let outside: IpAddr = "192.0.2.1".parse().unwrap();
        let check = |authorization: Option<String>, peer: IpAddr| {
            let (auth, guard) = (&auth, &guard);
            async move { auth.check(authorization.as_deref(), peer, guard).await }
        };
        assert_eq!(check(Some(basic("ann", "pw")), outside).await, Ok(()));
        assert_eq!(
            check(Some(basic("ann", "pw")), outside).await,
            Ok(()),
            "cached"
        );
        let denied = Err(Denied::Unauthorized("shop".into()));
        assert_eq!(check(Some(basic("ann", "nope")), outside).await, denied);
        assert_eq!(check(Some(basic("bob", "pw")), outside).await, denied);
        assert_eq!(check(Some("Basic !!!".into()), outside).await, denied);
        assert_eq!(check(None, outside).await, denied);
        assert_eq!(check(None, "10.1.2.3".parse().unwrap()).await, Ok(()));
        assert_eq!(
            check(None, "::ffff:10.1.2.3".parse().unwrap()).await,
            Ok(())
        );
        // Three failures so far; the fourth refuses the address, the right password included,
        // though a client that logged in before keeps passing.
        assert_eq!(check(Some(basic("ann", "nope")), outside).await, denied);
        assert!(matches!(
            check(Some(basic("ann", "pw2")), outside).await,
            Err(Denied::TooManyFailures(_))
        ));
        assert_eq!(check(Some(basic("ann", "pw")), outside).await, Ok(()));
    }

    #[test]
    fn networks_parse_and_contain() {
        let net = IpNet::parse("192.168.0.0/24").unwrap();
        assert!(net.contains("192.168.0.77".parse().unwrap()));
        assert!(!net.contains("192.168.1.1".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert_eq!(IpNet::parse("1.2.3.4").unwrap().to_string(), "1.2.3.4/32");
        for bad in ["", "1.2.3", "1.2.3.4/33", "::/129", "x/8"] {
            assert!(IpNet::parse(bad).is_none(), "{bad}");
        }
    }
}
