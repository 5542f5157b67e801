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
use super::policy::{ForValue, ForwardedFrom, SslValue};

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
const X_FORWARDED_SSL: HeaderName = HeaderName::from_static("x-forwarded-ssl");
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

/// The client's `X-Forwarded-For` lines as one list, if it sent any.
fn client_list(headers: &HeaderMap) -> Option<String> {
    let lines: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
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

/// Removes request headers whose names have an underscore, as nginx does unless told otherwise:
/// an app that reads headers CGI-style (`HTTP_X_FORWARDED_FOR`) cannot tell a client's
/// `X_Forwarded_For` from the proxy's `X-Forwarded-For`.
pub fn drop_underscored(headers: &mut HeaderMap) {
    let underscored = |name: &HeaderName| name.as_str().contains('_');
    if !headers.keys().any(underscored) {
        return;
    }
    let names: Vec<HeaderName> = headers.keys().filter(|n| underscored(n)).cloned().collect();
    for name in names {
        headers.remove(name);
    }
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
/// (not appended: a client cannot forge it); so does Berth, unless the app trusts what the
/// client sent (`from`: behind another proxy). An Upgrade request keeps exactly
/// `Connection: upgrade` and its `Upgrade` header.
pub fn prepare_headers(
    headers: &mut HeaderMap,
    forwarded: &Forwarded,
    from: &ForwardedFrom,
    id: &str,
    upgrade: bool,
) {
    let client_for = match from.for_value {
        ForValue::Peer => None,
        ForValue::Append | ForValue::Client => client_list(headers),
    };
    let for_value = match (from.for_value, client_for) {
        (ForValue::Append, Some(list)) => {
            let peer = forwarded.peer.to_str().unwrap_or_default();
            HeaderValue::from_str(&format!("{list}, {peer}")).ok()
        }
        (ForValue::Client, Some(list)) => HeaderValue::from_str(&list).ok(),
        _ => None,
    };
    // The client's headers are only looked at when the app trusts them.
    let proto = from
        .client_proto
        .then(|| headers.get(&X_FORWARDED_PROTO))
        .flatten()
        .filter(|v| matches!(v.as_bytes(), b"http" | b"https"))
        .cloned();
    let port = from
        .client_port
        .then(|| headers.get(&X_FORWARDED_PORT))
        .flatten()
        .filter(|v| v.to_str().is_ok_and(|p| p.parse::<u16>().is_ok()))
        .cloned();
    let ssl = match from.ssl {
        SslValue::Unset => None,
        SslValue::Fixed(value) => Some(HeaderValue::from_static(value)),
        SslValue::Client => headers
            .get(&X_FORWARDED_SSL)
            .filter(|v| matches!(v.as_bytes(), b"on" | b"off"))
            .cloned(),
    };
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
    headers.insert(
        X_FORWARDED_FOR,
        for_value.unwrap_or_else(|| forwarded.peer.clone()),
    );
    headers.insert(
        X_FORWARDED_PROTO,
        proto.unwrap_or_else(|| forwarded.proto.clone()),
    );
    headers.insert(
        X_FORWARDED_PORT,
        port.unwrap_or_else(|| forwarded.port.clone()),
    );
    match ssl {
        Some(ssl) => headers.insert(X_FORWARDED_SSL, ssl),
        None => headers.remove(X_FORWARDED_SSL),
    };
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
        let own = ForwardedFrom::default();
        prepare_headers(&mut headers, &Forwarded::new(inbound()), &own, "abc", false);
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

    /// Behind another proxy: what it sent, as `x-forwarded-*-value` says.
    fn forwarded_by_client(
        from: ForwardedFrom,
        sent: &[(&'static str, &'static str)],
    ) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in sent {
            headers.append(*name, HeaderValue::from_static(value));
        }
        prepare_headers(
            &mut headers,
            &Forwarded::new(inbound()),
            &from,
            "abc",
            false,
        );
        headers
    }

    #[test]
    fn an_app_behind_another_proxy_may_trust_what_it_sent() {
        let sent = [
            ("x-forwarded-for", "203.0.113.1"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-ssl", "on"),
        ];
        let append = ForwardedFrom {
            for_value: ForValue::Append,
            ..Default::default()
        };
        let headers = forwarded_by_client(append, &sent);
        assert_eq!(
            headers["x-forwarded-for"],
            "203.0.113.1, 10.0.0.1, 192.0.2.7"
        );
        assert_eq!(
            headers["x-forwarded-proto"], "http",
            "only what was asked for"
        );
        assert!(headers.get("x-forwarded-ssl").is_none(), "not Berth's word");
        let client = ForwardedFrom {
            for_value: ForValue::Client,
            client_proto: true,
            client_port: true,
            ssl: SslValue::Client,
        };
        let headers = forwarded_by_client(client, &sent);
        assert_eq!(headers["x-forwarded-for"], "203.0.113.1, 10.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-forwarded-port"], "443");
        assert_eq!(headers["x-forwarded-ssl"], "on");
        let fixed = ForwardedFrom {
            ssl: SslValue::Fixed("off"),
            ..Default::default()
        };
        assert_eq!(forwarded_by_client(fixed, &sent)["x-forwarded-ssl"], "off");
        let nonsense = [
            ("x-forwarded-proto", "gopher"),
            ("x-forwarded-port", "http"),
            ("x-forwarded-ssl", "yes"),
        ];
        let headers = forwarded_by_client(client, &nonsense);
        assert_eq!(
            headers["x-forwarded-for"], "192.0.2.7",
            "nothing sent: the peer"
        );
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "8080");
        assert!(headers.get("x-forwarded-ssl").is_none());
    }

    #[test]
    fn underscored_names_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert("x_forwarded_for", HeaderValue::from_static("6.6.6.6"));
        headers.append("x_forwarded_for", HeaderValue::from_static("6.6.6.7"));
        headers.insert("api_key", HeaderValue::from_static("k"));
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        drop_underscored(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-api-key"]);
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
        let own = ForwardedFrom::default();
        prepare_headers(&mut headers, &Forwarded::new(inbound()), &own, "abc", true);
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
