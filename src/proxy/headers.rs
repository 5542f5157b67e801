//! The headers the proxy changes on the way through: hop-by-hop ones removed (unless the
//! request is an Upgrade), forwarding headers set, and a request id kept or made.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::{
    HeaderName, HeaderValue, CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use hyper::HeaderMap;
use rand::RngExt;

use super::forward::Inbound;

/// Headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_REQUEST_START: HeaderName = HeaderName::from_static("x-request-start");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every request of one client connection tells the app about it, made once.
pub struct Forwarded {
    peer: HeaderValue,
    proto: HeaderValue,
    port: HeaderValue,
}

impl Forwarded {
    pub fn new(inbound: Inbound) -> Forwarded {
        Forwarded {
            peer: HeaderValue::try_from(inbound.peer.ip().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("")),
            proto: HeaderValue::from_static(if inbound.tls { "https" } else { "http" }),
            port: HeaderValue::from(inbound.port),
        }
    }
}

/// An HTTP/1.1 Upgrade request (`Connection: upgrade` with an `Upgrade` header): WebSocket and
/// friends, relayed as a tunnel once the upstream agrees.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && connection_listed(headers)
            .iter()
            .any(|name| name.as_str() == "upgrade")
}

/// The client's `X-Request-Id` when it is a sane token, else a new random one.
pub fn request_id(headers: &HeaderMap) -> String {
    let given = headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 200
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        });
    match given {
        Some(id) => id.to_string(),
        None => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let bytes: [u8; 16] = rand::rng().random();
            let mut id = String::with_capacity(32);
            for byte in bytes {
                id.push(char::from(HEX[usize::from(byte >> 4)]));
                id.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
            id
        }
    }
}

fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).ok())
        .collect()
}

pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        for name in connection_listed(headers) {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Sets what the app is told about the request. Dokku's nginx sets X-Forwarded-For to the peer
/// (not appended: a client cannot forge it); so does Berth. An Upgrade request keeps exactly
/// `Connection: upgrade` and its `Upgrade` header.
pub fn prepare_headers(headers: &mut HeaderMap, forwarded: &Forwarded, id: &str, upgrade: bool) {
    let protocol = headers.get(UPGRADE).cloned();
    strip_hop_by_hop(headers);
    if let (true, Some(protocol)) = (upgrade, protocol) {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    headers.insert(X_FORWARDED_FOR, forwarded.peer.clone());
    headers.insert(X_FORWARDED_PROTO, forwarded.proto.clone());
    headers.insert(X_FORWARDED_PORT, forwarded.port.clone());
    if let Ok(start) = HeaderValue::from_str(&format!("t={millis}")) {
        headers.insert(X_REQUEST_START, start);
    }
    if let Ok(id) = HeaderValue::from_str(id) {
        headers.insert(X_REQUEST_ID, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound() -> Inbound {
        Inbound {
            peer: "192.0.2.7:4242".parse().unwrap(),
            port: 8080,
            tls: false,
        }
    }

    #[test]
    fn forwarding_headers_replace_what_the_client_sent() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        prepare_headers(&mut headers, &Forwarded::new(inbound()), "abc", false);
        assert_eq!(headers["x-forwarded-for"], "192.0.2.7");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "8080");
        assert_eq!(headers["x-request-id"], "abc");
        assert!(headers["x-request-start"]
            .to_str()
            .unwrap()
            .starts_with("t="));
        assert!(headers.get("connection").is_none());
        assert!(headers.get("x-secret").is_none());
        assert!(headers.get("keep-alive").is_none());
    }

    #[test]
    fn upgrades_keep_their_upgrade_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert("upgrade", HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&headers));
        prepare_headers(&mut headers, &Forwarded::new(inbound()), "abc", true);
        assert_eq!(headers["connection"], "upgrade");
        assert_eq!(headers["upgrade"], "websocket");
        let mut plain = HeaderMap::new();
        plain.insert("upgrade", HeaderValue::from_static("h2c"));
        assert!(!is_upgrade(&plain));
    }

    #[test]
    fn request_ids_are_kept_when_sane_and_made_otherwise() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("req-42"));
        assert_eq!(request_id(&headers), "req-42");
        headers.insert("x-request-id", HeaderValue::from_static("bad id <script>"));
        let made = request_id(&headers);
        assert_eq!(made.len(), 32);
        assert_ne!(made, request_id(&HeaderMap::new()));
    }
}
