//! The proxy's own answers, instead of the app's: the HTTPS redirect, maintenance pages and
//! their assets, the basic auth challenge, and the refusals and failures (404, 408, 413, 502,
//! 503, 504) with their one-line texts, which name the app but never the proxy's internals.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};

use super::challenges::PREFIX as CHALLENGE_PREFIX;
use super::forward::{Inbound, ProxyBody};
use super::policy::Denied;
use super::routes::AppRoute;

pub(super) fn text_response(status: StatusCode, body: String) -> Response<ProxyBody> {
    typed_response(status, "text/plain; charset=utf-8", Bytes::from(body))
}

/// The content type of a maintenance page's file, by its extension.
fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    }
}

fn typed_response(status: StatusCode, kind: &'static str, body: Bytes) -> Response<ProxyBody> {
    let mut response = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// The answer while an app stays held (a stop-first swap) longer than requests may wait.
pub(super) fn restarting(app: &str) -> Response<ProxyBody> {
    text_response(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("App {app} is restarting; try again shortly\n"),
    )
}

/// Runs the app's policy; `Some` is the answer instead of forwarding.
pub(super) async fn apply_policy(
    route: &AppRoute,
    inbound: Inbound,
    host: &str,
    request: &Request<Incoming>,
    guard: &std::sync::Arc<super::AuthGuard>,
) -> Option<Response<ProxyBody>> {
    let policy = &route.policy;
    if let (Some(port), false) = (policy.redirect_https, inbound.tls) {
        // ACME http-01 challenges must stay reachable over plain HTTP.
        if !request.uri().path().starts_with(CHALLENGE_PREFIX) {
            return Some(redirect_to_https(host, port, request));
        }
    }
    if policy.maintenance {
        let path = request.uri().path().trim_start_matches('/');
        if let Some(asset) = policy.maintenance_assets.get(path) {
            return Some(typed_response(
                StatusCode::OK,
                content_type(path),
                asset.clone(),
            ));
        }
        let mut response = match &policy.maintenance_page {
            Some(html) => typed_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/html; charset=utf-8",
                html.clone(),
            ),
            None => text_response(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{} is down for maintenance; try again shortly\n", route.app),
            ),
        };
        response
            .headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("60"));
        return Some(response);
    }
    let auth = policy.auth.as_ref()?;
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth.check(authorization, inbound.peer.ip(), guard).await {
        Ok(()) => None,
        Err(Denied::TooManyFailures(left)) => {
            let mut response = text_response(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed logins; try again later\n".into(),
            );
            let retry = (left.as_secs() + 1).to_string();
            if let Ok(value) = HeaderValue::from_str(&retry) {
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, value);
            }
            Some(response)
        }
        Err(Denied::Unauthorized(realm)) => {
            let mut response =
                text_response(StatusCode::UNAUTHORIZED, "Authentication required\n".into());
            let challenge = format!("Basic realm=\"{realm}\", charset=\"UTF-8\"");
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(hyper::header::WWW_AUTHENTICATE, value);
            }
            Some(response)
        }
    }
}

fn redirect_to_https(host: &str, port: u16, request: &Request<Incoming>) -> Response<ProxyBody> {
    let host = super::routes::normalize_host(host);
    let authority = match port {
        443 => host,
        port => format!("{host}:{port}"),
    };
    // An asterisk-form target (`OPTIONS *`) is about the server, not a path.
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let mut response = text_response(StatusCode::MOVED_PERMANENTLY, String::new());
    if let Ok(location) = HeaderValue::from_str(&format!("https://{authority}{path}")) {
        response
            .headers_mut()
            .insert(hyper::header::LOCATION, location);
    }
    response
}

/// A 408 that closes the connection: what is left of the body will not come.
pub(super) fn body_timed_out() -> Response<ProxyBody> {
    let mut response = text_response(
        StatusCode::REQUEST_TIMEOUT,
        "The request body did not arrive in time\n".into(),
    );
    response.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

pub(super) fn too_large() -> Response<ProxyBody> {
    text_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body too large\n".into(),
    )
}

/// The app did not answer: counted against the route's generation (the watch window).
pub(super) fn failed(route: &AppRoute, status: StatusCode, what: &str) -> Response<ProxyBody> {
    route.stats.record(status.as_u16());
    text_response(status, format!("App {} {what}\n", route.app))
}

pub(super) fn unknown_host(host: &str) -> Response<ProxyBody> {
    text_response(
        StatusCode::NOT_FOUND,
        format!(
            "No app is configured for host {}\n",
            super::routes::normalize_host(host)
        ),
    )
}
