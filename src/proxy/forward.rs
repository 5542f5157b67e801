//! One proxied request: find the app by Host, pick an upstream, add forwarding headers, relay.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

use super::routes::{AppRoute, Lookup, Routes};

pub type ProxyBody = BoxBody<Bytes, hyper::Error>;
pub type UpstreamClient = Client<HttpConnector, ProxyBody>;

/// Headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Where a request came in: the client's address and the listener's port.
#[derive(Debug, Clone, Copy)]
pub struct Inbound {
    pub peer: SocketAddr,
    pub port: u16,
}

pub fn text_response(status: StatusCode, body: String) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn request_host(request: &Request<Incoming>) -> Option<String> {
    request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().host().map(str::to_string))
}

pub async fn forward(
    routes: &Routes,
    client: &UpstreamClient,
    inbound: Inbound,
    hold: Duration,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    let Some(host) = request_host(&request) else {
        return text_response(StatusCode::BAD_REQUEST, "Missing Host header\n".into());
    };
    let route = match routes.lookup(&host) {
        Lookup::App(route) if route.held => match wait_until_released(routes, &host, hold).await {
            Ok(route) => route,
            Err(app) => {
                return text_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("App {app} is restarting; try again shortly\n"),
                )
            }
        },
        Lookup::App(route) => route,
        Lookup::UnknownHost => return unknown_host(&host),
    };
    if route.upstreams.is_empty() {
        return text_response(
            StatusCode::BAD_GATEWAY,
            format!("App {} has no running container\n", route.app),
        );
    }
    tracing::Span::current().record("app", route.app.as_str());
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    prepare_headers(request.headers_mut(), inbound);
    // A request without a body can be sent again, to another instance, if the first one could
    // not even be connected to; one with a body is streamed once.
    let replayable = request.body().is_end_stream();
    let (mut parts, body) = request.into_parts();
    let mut body = Some(body.boxed());
    let attempts = if replayable { route.upstreams.len() } else { 1 };
    for (attempt, upstream) in route.rotation().take(attempts).enumerate() {
        let attempt = attempt + 1;
        let uri: Uri = match format!("http://{upstream}{path}").parse() {
            Ok(uri) => uri,
            Err(_) => {
                return text_response(StatusCode::BAD_REQUEST, "Invalid request target\n".into())
            }
        };
        let mut outgoing = Request::new(body.take().unwrap_or_else(empty_body));
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = uri;
        *outgoing.version_mut() = parts.version;
        // Only a request that may be retried keeps a copy of its headers; the common case
        // (one attempt, or the last one) moves them.
        *outgoing.headers_mut() = if attempt < attempts {
            parts.headers.clone()
        } else {
            std::mem::take(&mut parts.headers)
        };
        match client.request(outgoing).await {
            Ok(response) => {
                route.stats.record(response.status().as_u16());
                let (mut head, body) = response.into_parts();
                strip_hop_by_hop(&mut head.headers);
                return Response::from_parts(head, body.boxed());
            }
            Err(err) if err.is_connect() && attempt < attempts => {
                tracing::info!(app = %route.app, %upstream, error = %err, "upstream unreachable; trying another instance");
            }
            Err(err) => {
                tracing::warn!(app = %route.app, %upstream, error = %err, "upstream failed");
                break;
            }
        }
    }
    route.stats.record(StatusCode::BAD_GATEWAY.as_u16());
    text_response(
        StatusCode::BAD_GATEWAY,
        format!("App {} is not answering\n", route.app),
    )
}

fn empty_body() -> ProxyBody {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

fn unknown_host(host: &str) -> Response<ProxyBody> {
    text_response(
        StatusCode::NOT_FOUND,
        format!(
            "No app is configured for host {}\n",
            super::routes::normalize_host(host)
        ),
    )
}

/// Waits (at most `limit`) for a held app to be routed again; the error names the app.
async fn wait_until_released(
    routes: &Routes,
    host: &str,
    limit: Duration,
) -> Result<Arc<AppRoute>, String> {
    let mut changes = routes.subscribe();
    let _waiting = routes.start_waiting();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let route = match routes.lookup(host) {
            Lookup::App(route) => route,
            Lookup::UnknownHost => return Err(super::routes::normalize_host(host)),
        };
        if !route.held {
            return Ok(route);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            _ => return Err(route.app.to_string()),
        }
    }
}

fn strip_hop_by_hop(headers: &mut hyper::HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Dokku's nginx sets X-Forwarded-For to the peer (not appended: a client cannot forge it).
fn prepare_headers(headers: &mut hyper::HeaderMap, inbound: Inbound) {
    strip_hop_by_hop(headers);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let set = |headers: &mut hyper::HeaderMap, name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(headers, "x-forwarded-for", inbound.peer.ip().to_string());
    set(headers, "x-forwarded-proto", "http".to_string());
    set(headers, "x-forwarded-port", inbound.port.to_string());
    set(headers, "x-request-start", format!("t={millis}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_headers_replace_what_the_client_sent() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        let inbound = Inbound {
            peer: "192.0.2.7:4242".parse().unwrap(),
            port: 8080,
        };
        prepare_headers(&mut headers, inbound);
        assert_eq!(headers["x-forwarded-for"], "192.0.2.7");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "8080");
        assert!(headers["x-request-start"]
            .to_str()
            .unwrap()
            .starts_with("t="));
        assert!(headers.get("connection").is_none());
        assert!(headers.get("x-secret").is_none());
        assert!(headers.get("keep-alive").is_none());
    }
}
