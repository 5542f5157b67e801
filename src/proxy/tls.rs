//! HTTPS: certificates chosen by SNI from an atomically swapped table (exact names, then the
//! closest wildcard), HTTP/2 or HTTP/1.1 by ALPN.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Which certificate answers which host name.
#[derive(Debug, Default)]
pub struct CertStore {
    hosts: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
}

impl CertStore {
    /// Replaces every host → certificate entry in one swap.
    pub fn replace(&self, entries: HashMap<String, Arc<CertifiedKey>>) {
        self.hosts.store(Arc::new(entries));
    }

    /// The certificate for `host`: an exact entry, else the closest `*.` entry above it.
    pub fn find(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        let hosts = self.hosts.load();
        super::routes::by_host(&hosts, &super::routes::normalize_host(host)).cloned()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello.server_name().and_then(|name| self.find(name))
    }
}

/// The rustls server configuration: SNI through `store`, ALPN h2 then http/1.1, and session
/// tickets, as nginx's default `ssl_session_tickets on`: a returning client resumes its session
/// (a cheaper handshake) however many clients came since, where rustls' own session cache
/// keeps a few hundred. Tickets last 12 hours, under keys made at start and rotated every
/// six; after a restart or handoff, returning clients make a full handshake once.
pub fn server_config(store: Arc<CertStore>) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    match rustls::crypto::ring::Ticketer::new() {
        Ok(ticketer) => config.ticketer = ticketer,
        Err(err) => {
            tracing::warn!(error = %err, "no TLS session tickets; sessions resume from the cache only")
        }
    }
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Arc<CertifiedKey> {
        let (crt, key) = crate::certs::self_signed(&[name.to_string()]).unwrap();
        crate::certs::load(crt.as_bytes(), key.as_bytes())
            .unwrap()
            .key
    }

    #[test]
    fn exact_names_win_then_the_closest_wildcard() {
        let store = CertStore::default();
        let (exact, wild) = (key("www.shop.test"), key("*.shop.test"));
        store.replace(HashMap::from([
            ("www.shop.test".to_string(), exact.clone()),
            ("*.shop.test".to_string(), wild.clone()),
        ]));
        assert!(Arc::ptr_eq(&store.find("WWW.shop.test").unwrap(), &exact));
        assert!(Arc::ptr_eq(&store.find("api.shop.test").unwrap(), &wild));
        assert!(Arc::ptr_eq(&store.find("a.b.shop.test").unwrap(), &wild));
        assert!(store.find("shop.test").is_none());
        store.replace(HashMap::new());
        assert!(store.find("www.shop.test").is_none());
    }
}
