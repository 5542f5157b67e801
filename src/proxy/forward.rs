//! One proxied request: find the app by Host, apply its policy, pick an upstream, add
//! forwarding headers, relay (bodies stream both ways; Upgrade requests become tunnels).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response, StatusCode, Uri};

use super::access::{AccessLog, Client, Entry};
use super::answers::{
    apply_policy, body_timed_out, failed, restarting, text_response, too_large, unknown_host,
};
use super::body_timeout::{BodyTimedOut, IdleTimeout};
use super::challenges::{Challenges, PREFIX as CHALLENGE_PREFIX};
use super::errors::Failure;
use super::headers::{
    drop_underscored, is_upgrade, prepare_headers, request_id, strip_hop_by_hop, Forwarded,
};
use super::logged::{Deferred, Logged};
use super::routes::{AppRoute, Lookup, Routes};
use super::send_timeout::{Sending, Watched};
use super::upstream::{UpstreamError, Via};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// Where a request came in: the client's address, the listener's port, and whether over TLS.
#[derive(Debug, Clone, Copy)]
pub struct Inbound {
    pub peer: SocketAddr,
    pub port: u16,
    pub tls: bool,
}

/// Limits every request gets (from `[proxy]` in the config file).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a request waits for a held app (stop-first swap) before a 503.
    pub hold: Duration,
    /// How long an upstream may take to send response headers before a 504.
    pub read_timeout: Duration,
    /// How long a client may take to send request headers, or stay idle between requests.
    pub header_timeout: Duration,
    /// Request bodies larger than this get a 413 (0: no limit).
    pub max_body: u64,
    /// How long a client may send nothing of a request body the proxy waits for: then a 408.
    pub body_timeout: Duration,
    /// How long a client may take nothing of a response before its connection is closed.
    pub send_timeout: Duration,
    /// Request heads (request line and headers; HTTP/2: the header list) larger than this
    /// many bytes get a 431.
    pub max_header: u32,
    /// On shutdown, how long an idle HTTP/1.1 connection waits for its next request (answered
    /// with `Connection: close`) before it is closed.
    pub keepalive_drain: Duration,
    /// Text responses go out gzip-compressed to clients that accept it (as Dokku's nginx).
    pub gzip: bool,
}

/// What every connection's requests share.
pub struct Shared {
    pub routes: Arc<Routes>,
    pub challenges: Arc<Challenges>,
    /// This worker's access log buffer.
    pub access: Arc<AccessLog>,
    pub pool: super::upstream::Pool,
    pub limits: Limits,
    /// See `Proxy::extra`.
    pub extra: bool,
    /// Basic auth's hashing slots and failures per address, for the whole process.
    pub auth: Arc<super::AuthGuard>,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub tracker: tokio_util::task::TaskTracker,
}

/// The host a request is for. A target with an authority (HTTP/2's `:authority`, an HTTP/1.1
/// absolute-form target) names it, and the Host header the app gets is made to say the same
/// (RFC 9112 §3.2.2; over HTTP/2 there may be none); otherwise the one Host header does. Two
/// Host headers are refused (RFC 9112 §3.2): the proxy would route by one and the app might read
/// the other.
fn request_host(request: &mut Request<Incoming>) -> Result<String, &'static str> {
    if let Some(authority) = request.uri().authority() {
        let host = match authority.port() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_string(),
        };
        let value = HeaderValue::from_str(&host).map_err(|_| "Invalid host\n")?;
        request.headers_mut().insert(HOST, value);
        return Ok(host);
    }
    let mut hosts = request.headers().get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => host
            .to_str()
            .map(str::to_string)
            .map_err(|_| "Invalid Host header\n"),
        (None, _) => Err("Missing Host header\n"),
        (Some(_), Some(_)) => Err("Duplicate Host header\n"),
    }
}

/// One request to the proxy. Every response for an app, the proxy's own refusals included, is
/// counted in its metrics and written to the access log, and is written to the client under the
/// app's `send-timeout` (`sending`).
pub async fn forward(
    shared: &Shared,
    inbound: Inbound,
    forwarded: &Forwarded,
    sending: &Sending,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    if !inbound.tls && request.uri().path().starts_with(CHALLENGE_PREFIX) {
        if let Some(answer) = shared.challenges.answer(request.uri().path()) {
            return text_response(StatusCode::OK, answer);
        }
    }
    // CONNECT asks a forward proxy for a tunnel; nothing behind Berth is one.
    if request.method() == hyper::Method::CONNECT {
        return text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not supported\n".into(),
        );
    }
    let host = match request_host(&mut request) {
        Ok(host) => host,
        Err(refusal) => return text_response(StatusCode::BAD_REQUEST, refusal.into()),
    };
    let route = match shared.routes.lookup(&host) {
        Lookup::App(route) => route,
        Lookup::UnknownHost => return unknown_host(&host),
    };
    // On an extra listener, the container port the app maps this host port to; an app that
    // does not map it is not there.
    let mapped_port = match shared.extra {
        false => None,
        true => match route.policy.port_for(inbound.port) {
            Some(port) => Some(port),
            None => return unknown_host(&host),
        },
    };
    tracing::Span::current().record("app", route.app.as_str());
    // What the upstream is asked for: the origin-form path and query (HTTP/2 requests carry
    // the scheme and authority too).
    let target = match request.uri().path_and_query() {
        Some(path) => Uri::from(path.clone()),
        None => Uri::from_static("/"),
    };
    let method = request.method().clone();
    let id = request_id(request.headers());
    let client = shared.access.combined().then(|| Client::of(&request));
    let call = Call {
        inbound,
        forwarded,
        host: &host,
        id: &id,
        target: &target,
        mapped_port,
    };
    let mut failures = Vec::new();
    let mut response = to_app(shared, route.clone(), call, request, &mut failures).await;
    let status = response.status().as_u16();
    route.metrics.record(status, started.elapsed());
    let path = target.path_and_query().map_or("/", |p| p.as_str());
    let policy = &route.policy;
    let request = super::errors::Request {
        method: method.as_str(),
        path,
        id: &id,
        peer: inbound.peer.ip(),
    };
    for failure in &failures {
        let lines = !policy.error_log_off;
        route
            .errors
            .record(route.app.as_str(), failure, &request, lines);
    }
    let micros = started.elapsed().as_micros() as u64;
    // A body whose size is known is counted now; another as it is sent.
    let exact = response.body().size_hint().exact();
    if let Some(bytes) = exact {
        route.metrics.sent(bytes);
    }
    let mut deferred = None;
    if !policy.access_log_off {
        match client {
            // Its size known only once it is sent: its line is written then.
            Some(client) if exact.is_none() => {
                deferred = Some(Deferred {
                    app: route.app.to_string(),
                    id: id.clone(),
                    method: method.clone(),
                    target: target.clone(),
                    status,
                    micros,
                    peer: inbound.peer.ip(),
                    client,
                });
            }
            client => {
                let client = client.map(|mut client| {
                    client.bytes = response.body().size_hint().lower();
                    client
                });
                shared.access.record(&Entry {
                    app: route.app.as_str(),
                    id: &id,
                    method: method.as_str(),
                    path,
                    status,
                    micros,
                    peer: inbound.peer.ip(),
                    client: client.as_ref(),
                });
            }
        }
    }
    if exact.is_none() {
        let metrics = route.metrics.clone();
        response = response.map(|body| Logged::wrap(body, metrics, &shared.access, deferred));
    }
    let limit = policy.send_timeout.unwrap_or(shared.limits.send_timeout);
    sending.watch(Watched {
        limit,
        route,
        method,
        target,
        id,
        peer: inbound.peer.ip(),
    });
    response
}

/// What `to_app` needs to know about the request beyond the request itself.
struct Call<'a> {
    inbound: Inbound,
    forwarded: &'a Forwarded,
    host: &'a str,
    id: &'a str,
    /// The origin-form path and query the upstream is asked for.
    target: &'a Uri,
    /// On an extra listener, the container port to connect to instead of the route's.
    mapped_port: Option<u16>,
}

/// The response for a request to `route`'s app: the proxy's own (held, policy, limits, no
/// instance, upstream failures) or the app's. What went wrong on the way goes to `failures`.
async fn to_app(
    shared: &Shared,
    mut route: Arc<AppRoute>,
    call: Call<'_>,
    mut request: Request<Incoming>,
    failures: &mut Vec<Failure>,
) -> Response<ProxyBody> {
    let Call {
        inbound,
        forwarded,
        host,
        id,
        target,
        mapped_port,
    } = call;
    if route.held {
        route = match wait_until_released(&shared.routes, host, shared.limits.hold).await {
            Ok(route) => route,
            Err(app) => {
                failures.push(Failure::Held(shared.limits.hold));
                return restarting(&app);
            }
        };
    }
    if let Some(response) = apply_policy(&route, inbound, host, &request, &shared.auth).await {
        return response;
    }
    if route.upstreams.is_empty() {
        failures.push(Failure::NoInstance);
        return text_response(
            StatusCode::BAD_GATEWAY,
            format!("App {} has no running container\n", route.app),
        );
    }
    let max_body = route.policy.max_body.unwrap_or(shared.limits.max_body);
    let read_timeout = route
        .policy
        .read_timeout
        .unwrap_or(shared.limits.read_timeout);
    if max_body > 0 && request.body().size_hint().lower() > max_body {
        failures.push(Failure::TooLarge(max_body));
        return too_large();
    }
    let upgrade = is_upgrade(request.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    let gzip = shared.limits.gzip
        && request.method() != hyper::Method::HEAD
        && super::gzip::accepted(request.headers());
    if !route.policy.underscores_in_headers {
        drop_underscored(request.headers_mut());
    }
    prepare_headers(
        request.headers_mut(),
        forwarded,
        &route.policy.forwarded,
        id,
        upgrade,
    );
    // A request without a body can be sent again, to another instance, if the first could not
    // even be connected to, and again after a route swap (a stop-first deploy); one with a body
    // is streamed once.
    let replayable = request.body().is_end_stream();
    // Sent again after a pooled connection closed under it (the app may have read it, so only
    // if doing it twice is the same as once).
    let resend = replayable && request.method().is_idempotent();
    let (mut parts, body) = request.into_parts();
    let body_timeout = route
        .policy
        .body_timeout
        .unwrap_or(shared.limits.body_timeout);
    let mut body = match (replayable, max_body) {
        (true, _) => None,
        (false, 0) => Some(body.map_err(BoxError::from).boxed()),
        (false, limit) => {
            Some(Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)).boxed())
        }
    }
    .map(|body| IdleTimeout::new(body, body_timeout, route.metrics.clone()).boxed());
    let mut swaps_left = 1;
    let outcome = loop {
        let attempts = if replayable { route.upstreams.len() } else { 1 };
        let mut outcome = Outcome::Unreachable;
        for (attempt, upstream) in route.rotation().take(attempts).enumerate() {
            let upstream =
                mapped_port.map_or(upstream, |port| SocketAddr::new(upstream.ip(), port));
            let last = attempt + 1 == attempts && (swaps_left == 0 || !replayable);
            // Only a request that may be sent again keeps a copy of its headers.
            let outgoing = |final_use: bool| {
                let mut outgoing = Request::new(body.take().unwrap_or_else(empty_body));
                *outgoing.method_mut() = parts.method.clone();
                *outgoing.uri_mut() = target.clone();
                *outgoing.version_mut() = hyper::Version::HTTP_11;
                *outgoing.headers_mut() = match final_use {
                    true => std::mem::take(&mut parts.headers),
                    false => parts.headers.clone(),
                };
                outgoing
            };
            let exchange = Exchange {
                upstream,
                last,
                resend,
                read_timeout,
            };
            outcome = match exchange.run(shared, outgoing, failures).await {
                Ok(Ok(response)) => Outcome::Answered(response),
                Ok(Err(UpstreamError::Connect(err))) => {
                    failures.push(Failure::Unreachable(upstream, err.to_string()));
                    continue;
                }
                Ok(Err(UpstreamError::Dropped(err))) if resend => {
                    failures.push(Failure::Dropped(upstream, err.to_string()));
                    continue;
                }
                Ok(Err(err)) if caused_by::<LengthLimitError>(&err) => {
                    failures.push(Failure::TooLarge(max_body));
                    Outcome::TooLarge
                }
                Ok(Err(err)) if caused_by::<BodyTimedOut>(&err) => {
                    failures.push(Failure::BodyTimedOut(body_timeout));
                    Outcome::BodyTimedOut
                }
                Ok(Err(err)) => {
                    failures.push(Failure::Broken(upstream, err.to_string()));
                    Outcome::Failed
                }
                Err(_) => {
                    failures.push(Failure::TimedOut(upstream, read_timeout));
                    Outcome::TimedOut
                }
            };
            break;
        }
        if !matches!(outcome, Outcome::Unreachable) || !replayable || swaps_left == 0 {
            break outcome;
        }
        // Every instance refused the connection: if the route changed meanwhile (a deploy
        // stopped the old instances), follow it once.
        swaps_left -= 1;
        match wait_until_released(&shared.routes, host, shared.limits.hold).await {
            Ok(next) if !Arc::ptr_eq(&next, &route) && !next.upstreams.is_empty() => route = next,
            _ => break outcome,
        }
    };
    let mut response = match outcome {
        Outcome::Answered(response) => response,
        Outcome::TooLarge => return too_large(),
        Outcome::BodyTimedOut => return body_timed_out(),
        Outcome::TimedOut => {
            return failed(
                &route,
                StatusCode::GATEWAY_TIMEOUT,
                "did not answer in time",
            )
        }
        Outcome::Unreachable | Outcome::Failed => {
            return failed(&route, StatusCode::BAD_GATEWAY, "is not answering")
        }
    };
    let status = response.status();
    route.stats.record(status.as_u16());
    let tunnel = match (status == StatusCode::SWITCHING_PROTOCOLS, client_upgrade) {
        (true, Some(client)) => Some((client, hyper::upgrade::on(&mut response))),
        _ => None,
    };
    let (mut head, upstream_body) = response.into_parts();
    match tunnel {
        Some((client, upstream)) => super::upgrade::tunnel(
            shared,
            route.app.clone(),
            client,
            upstream,
            read_timeout,
            route.metrics.clone(),
        ),
        None => strip_hop_by_hop(&mut head.headers),
    }
    if let (true, Some(hsts)) = (inbound.tls, &route.policy.hsts) {
        if let Ok(value) = HeaderValue::from_str(hsts) {
            head.headers.insert("strict-transport-security", value);
        }
    }
    let response = Response::from_parts(head, upstream_body.map_err(BoxError::from).boxed());
    match gzip {
        true => super::gzip::compress(response),
        false => response,
    }
}

/// One request to one instance.
struct Exchange {
    upstream: SocketAddr,
    /// No other instance will be tried after this one.
    last: bool,
    /// The request may go out again on a new connection if the pooled one turns out `Stale`.
    resend: bool,
    read_timeout: Duration,
}

impl Exchange {
    /// The instance's response (or why there is none); `outgoing(true)` makes the request for
    /// the last time, so it may take what it needs rather than copy it.
    async fn run(
        self,
        shared: &Shared,
        mut outgoing: impl FnMut(bool) -> Request<ProxyBody>,
        failures: &mut Vec<Failure>,
    ) -> Result<Result<Response<Incoming>, UpstreamError>, tokio::time::error::Elapsed> {
        let mut via = Via::Pooled;
        loop {
            let request = outgoing(self.last && (via == Via::New || !self.resend));
            let sent = shared.pool.send(self.upstream, request, via);
            match tokio::time::timeout(self.read_timeout, sent).await {
                Ok(Err(UpstreamError::Stale(err))) if self.resend && via == Via::Pooled => {
                    failures.push(Failure::Stale(self.upstream, err.to_string()));
                    via = Via::New;
                }
                answer => return answer,
            }
        }
    }
}

enum Outcome {
    Answered(Response<Incoming>),
    /// No instance took the request: none accepted a connection, or (a request that may be
    /// sent again) each one that did dropped it before answering.
    Unreachable,
    Failed,
    TimedOut,
    TooLarge,
    /// The client stopped sending the request body.
    BodyTimedOut,
}

/// Whether `err` comes from an error of type `E` (the request body's own, through hyper's).
fn caused_by<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(err) = source {
        if err.is::<E>() {
            return true;
        }
        source = err.source();
    }
    false
}

pub(super) fn empty_body() -> ProxyBody {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
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
