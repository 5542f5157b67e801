//! Where a developer key's or a deploy token's `git:sync` may fetch from: hosts whose addresses
//! are all public, unless an admin allowed the host (`git:set --global sync-allowed-hosts`).
//! Without this a key meant for one app could make the server fetch from its own network
//! (loopback, private ranges, link-local with the cloud metadata address, shared CGNAT space,
//! unique-local IPv6): a server-side request forgery.
//!
//! The address checked is the one git connects to over http(s): the fetch is pinned to it
//! (`http.curloptResolve`) and follows no redirect. Over `git://` git resolves the name again,
//! so a DNS server that answers differently the second time could still turn it inward; the
//! git protocol answers only git's requests (docs/ci.md says so).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The git settings that hold a checked http(s) fetch to the address that was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// `host:port:address`, for `http.curloptResolve`; `None` over `git://`.
    pub resolve: Option<String>,
}

/// Checks `url`'s host for a caller who may not reach the server's network; `allowed` are
/// the hosts an admin allowed. The pin to fetch with, or why not.
pub async fn check_public(url: &str, allowed: &[String]) -> Result<Pinned, String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
    let host = parsed
        .host_str()
        .ok_or("the repository URL names no host")?
        .to_ascii_lowercase();
    let port = parsed
        .port_or_known_default()
        .or((parsed.scheme() == "git").then_some(9418))
        .ok_or("the repository URL has no port")?;
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if allowed.iter().any(|a| *a == host || *a == bare) {
        return Ok(Pinned { resolve: None });
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
        .await
        .map_err(|err| format!("cannot resolve {host}: {err}"))?
        .collect();
    let Some(first) = addresses.first() else {
        return Err(format!("{host} has no address"));
    };
    if let Some(inner) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} is {} on the server's own network; an admin may allow it (git:set --global sync-allowed-hosts {host})",
            inner.ip()
        ));
    }
    let resolve = matches!(parsed.scheme(), "http" | "https").then(|| {
        let address = match first.ip() {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        format!("{bare}:{port}:{address}")
    });
    Ok(Pinned { resolve })
}

/// Whether `ip` is on the public internet, not a network the server is part of.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || shared
        || a == 0
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local())
}

/// A host as `sync-allowed-hosts` lists it: a lowercase name or an IP address.
pub fn valid_allowed_host(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_networks_are_not_public() {
        for inner in [
            "127.0.0.1",
            "10.1.2.3",
            "172.17.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(inner.parse().unwrap()), "{inner}");
        }
        for outer in ["140.82.112.3", "2606:50c0:8000::153", "100.128.0.1"] {
            assert!(is_public(outer.parse().unwrap()), "{outer}");
        }
    }

    #[tokio::test]
    async fn inner_hosts_are_refused_unless_allowed_and_public_fetches_are_pinned() {
        let refused = check_public("git://127.0.0.1:9418/shop", &[]).await;
        assert!(refused
            .unwrap_err()
            .contains("sync-allowed-hosts 127.0.0.1"));
        assert!(check_public("http://localhost/x", &[]).await.is_err());
        assert!(check_public("http://[::1]:8080/x", &[]).await.is_err());
        let allowed = check_public("git://127.0.0.1/shop", &["127.0.0.1".into()]).await;
        assert_eq!(allowed.unwrap(), Pinned { resolve: None });
        let pinned = check_public("https://140.82.112.3/acme/shop.git", &[]).await;
        assert_eq!(
            pinned.unwrap().resolve.as_deref(),
            Some("140.82.112.3:443:140.82.112.3")
        );
        assert!(valid_allowed_host("git.internal") && valid_allowed_host("10.0.0.5"));
        assert!(!valid_allowed_host("Git.internal") && !valid_allowed_host("a b"));
    }
}
