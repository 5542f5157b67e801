//! The URLs an app answers on (`urls`, `url`, and the end of a deploy): each routed domain with
//! the scheme and port of every listener that serves it.

use crate::ports::{PortMap, Scheme};

/// The ports the proxy's main listeners are bound to.
#[derive(Debug, Clone, Copy)]
pub struct MainPorts {
    pub http: u16,
    pub https: u16,
}

/// What a certificate does to the app's URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// No certificate: plain HTTP only.
    None,
    /// Plain HTTP redirects to HTTPS (the default with a certificate).
    Redirect,
    /// Both serve (`certs:set <app> redirect false`).
    Both,
}

/// For each host (wildcards left out: no client can ask for `*.shop.example`), the URLs that
/// serve the app rather than redirect: the main HTTPS listener's, the main HTTP listener's, then
/// its extra ports' in order. HTTPS needs a certificate; plain HTTP is left out while it
/// redirects, as Dokku lists only `https://` URLs for an app with a certificate. TCP passthrough
/// ports are not URLs. Default ports are left out of the URL.
pub fn app_urls(hosts: &[String], maps: &[PortMap], tls: Tls, main: MainPorts) -> Vec<String> {
    let serves = |scheme: Scheme| match scheme {
        Scheme::Http => tls != Tls::Redirect,
        Scheme::Https => tls != Tls::None,
        Scheme::Tcp => false,
    };
    let mut extra: Vec<&PortMap> = maps
        .iter()
        .filter(|m| !m.is_main() && serves(m.scheme))
        .collect();
    extra.sort_by_key(|m| m.host);
    let endpoints: Vec<(Scheme, u16)> = [(Scheme::Https, main.https), (Scheme::Http, main.http)]
        .into_iter()
        .filter(|(scheme, _)| serves(*scheme))
        .chain(extra.iter().map(|m| (m.scheme, m.host)))
        .collect();
    hosts
        .iter()
        .filter(|host| !host.starts_with("*."))
        .flat_map(|host| {
            endpoints
                .iter()
                .map(move |(scheme, port)| url(*scheme, host, *port))
        })
        .collect()
}

fn url(scheme: Scheme, host: &str, port: u16) -> String {
    match (scheme, port) {
        (Scheme::Http, 80) | (Scheme::Https, 443) => format!("{scheme}://{host}"),
        _ => format!("{scheme}://{host}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: MainPorts = MainPorts {
        http: 80,
        https: 443,
    };

    fn maps(raw: &[&str]) -> Vec<PortMap> {
        raw.iter().map(|m| PortMap::parse(m).unwrap()).collect()
    }

    fn hosts(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn each_host_on_the_main_listener_then_its_extra_ports() {
        let urls = app_urls(
            &hosts(&["shop.example", "*.shop.example", "www.shop.example"]),
            &maps(&[
                "https:8443:5000",
                "http:80:5000",
                "tcp:5432:5432",
                "http:8080:5000",
            ]),
            Tls::None,
            STANDARD,
        );
        assert_eq!(
            urls,
            [
                "http://shop.example",
                "http://shop.example:8080",
                "http://www.shop.example",
                "http://www.shop.example:8080",
            ]
        );
    }

    #[test]
    fn a_certificate_brings_https_urls_and_a_redirect_takes_the_plain_ones_away() {
        let shop = hosts(&["shop.example"]);
        let both = maps(&["https:8443:5000", "http:8080:5000"]);
        assert_eq!(
            app_urls(&shop, &both, Tls::Redirect, STANDARD),
            ["https://shop.example", "https://shop.example:8443"]
        );
        assert_eq!(
            app_urls(&shop, &both, Tls::Both, STANDARD),
            [
                "https://shop.example",
                "http://shop.example",
                "http://shop.example:8080",
                "https://shop.example:8443",
            ]
        );
    }

    #[test]
    fn main_listeners_off_the_default_ports_are_named() {
        let elsewhere = MainPorts {
            http: 8000,
            https: 8001,
        };
        let shop = hosts(&["shop.example"]);
        assert_eq!(
            app_urls(&shop, &[], Tls::None, elsewhere),
            ["http://shop.example:8000"]
        );
        assert_eq!(
            app_urls(&shop, &[], Tls::Redirect, elsewhere),
            ["https://shop.example:8001"]
        );
        assert!(app_urls(&[], &[], Tls::Both, elsewhere).is_empty());
    }
}
