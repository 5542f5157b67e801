//! The embedded HTTP reverse proxy: routes by Host to app instances over pooled keep-alive
//! connections. Routes change in memory by an atomic swap; there is no config file and no reload.
//!
//! This is the only module that knows hyper.

mod access;
mod access_order;
mod answers;
mod app_route;
mod arrivals;
mod auth_guard;
mod body_timeout;
mod challenges;
mod errors;
mod extra;
mod forward;
mod gzip;
mod headers;
mod linger;
mod logged;
mod metrics;
mod policy;
mod routes;
mod send_timeout;
mod tcp;
mod tls;
mod upgrade;
mod upstream;

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use access::{
    Destination as AccessLogDestination, Format as AccessLogFormat, Recent as RecentAccess,
    Sink as AccessLogSink,
};
pub use auth_guard::AuthGuard;
pub use challenges::Challenges;
pub use errors::{ErrorLog, KINDS as FAILURE_KINDS};
pub use extra::{wanted, ExtraListeners, ListenError};
pub use forward::{Inbound, Limits, Shared};
pub use metrics::{AppMetrics, Snapshot, LATENCY_BUCKETS};
pub use policy::{BasicAuth, ForValue, ForwardedFrom, IpNet, Policy, SslValue};
pub use routes::{normalize_host, AppRoute, RouteStats, Routes, Upstream};
pub use tls::CertStore;

/// What the proxy's listeners share; each worker thread makes its own upstream client from it.
#[derive(Clone)]
pub struct Proxy {
    pub routes: Arc<Routes>,
    /// Where access lines go; each worker buffers its own.
    pub access_log: access::Sink,
    /// ACME http-01 answers served on plain HTTP before routing.
    pub challenges: Arc<Challenges>,
    pub limits: Limits,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    /// An extra listener (`ports:*`): serves only apps that map its port, at the container
    /// port they map it to.
    pub extra: bool,
    /// Worker threads per listener, each with its own runtime and upstream pool; 0 serves on
    /// the caller's runtime.
    pub workers: usize,
    /// Basic auth's hashing slots and failures per address, shared by every listener.
    pub auth: Arc<AuthGuard>,
}

impl Proxy {
    /// A new upstream pool (keep-alive connections, TCP_NODELAY) with the rest shared.
    fn shared(&self) -> Arc<Shared> {
        Arc::new(Shared {
            routes: self.routes.clone(),
            challenges: self.challenges.clone(),
            access: Arc::new(access::AccessLog::new(self.access_log.clone())),
            pool: upstream::Pool::new(Duration::from_secs(5)),
            limits: self.limits,
            extra: self.extra,
            auth: self.auth.clone(),
            shutdown: self.shutdown.clone(),
            tracker: self.tracker.clone(),
        })
    }
}

/// Serves `listener` until shutdown. Like nginx's workers, each worker thread runs its own
/// single-threaded runtime that accepts from the same socket and keeps every connection (and
/// its upstream connections) on that thread, so a request never waits for another thread.
pub async fn serve(listener: std::net::TcpListener, proxy: Proxy, certs: Option<Arc<CertStore>>) {
    let acceptor = certs.map(|store| tokio_rustls::TlsAcceptor::from(tls::server_config(store)));
    if let Err(err) = listener.set_nonblocking(true) {
        tracing::error!(error = %err, "proxy listener unusable");
        return;
    }
    if proxy.workers == 0 {
        match TcpListener::from_std(listener) {
            Ok(listener) => accept_loop(listener, proxy.shared(), acceptor).await,
            Err(err) => tracing::error!(error = %err, "proxy listener unusable"),
        }
        return;
    }
    let mut finished = Vec::new();
    for index in 0..proxy.workers {
        let (done, finished_rx) = tokio::sync::oneshot::channel::<()>();
        finished.push(finished_rx);
        let socket = match listener.try_clone() {
            Ok(socket) => socket,
            Err(err) => {
                tracing::error!(error = %err, "cannot share the proxy listener");
                break;
            }
        };
        let (proxy, acceptor) = (proxy.clone(), acceptor.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("berth-proxy-{index}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => runtime.block_on(async move {
                        match TcpListener::from_std(socket) {
                            Ok(listener) => accept_loop(listener, proxy.shared(), acceptor).await,
                            Err(err) => tracing::error!(error = %err, "proxy listener unusable"),
                        }
                    }),
                    Err(err) => tracing::error!(error = %err, "cannot start a proxy worker"),
                }
                let _ = done.send(());
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "cannot start a proxy worker thread");
        }
    }
    for worker in finished {
        let _ = worker.await;
    }
}

/// How long a connection accepted right before shutdown gets to send its first request.
const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(500);

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts until shutdown, then lets in-flight requests finish (bounded). With an acceptor,
/// connections are TLS with the certificate their SNI names.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    // This worker's connections, and the signal that asks them to finish.
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();
    let mut flush = tokio::time::interval(access::FLUSH_EVERY);
    let mut accept_errors = crate::accept::AcceptErrors::new("proxy");
    loop {
        let (stream, peer) = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            _ = flush.tick() => {
                shared.access.flush();
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    accept_errors.pause(&err).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let inbound = Inbound {
            peer,
            port,
            tls: acceptor.is_some(),
        };
        let closing = closing.clone();
        let for_connection = shared.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            match acceptor {
                None => connection(stream, inbound, for_connection, closing, false).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            connection(stream, inbound, for_connection, closing, h2).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    closing.cancel();
    connections.close();
    if tokio::time::timeout(Duration::from_secs(30), connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("proxy connections still open after 30s; closing them");
    }
    shared.access.finish();
}

/// Serves one client connection until it closes: HTTP/2 when TLS negotiated it, else
/// HTTP/1.1 with upgrades (no protocol sniffing on plain connections).
async fn connection<I>(
    io: I,
    inbound: Inbound,
    shared: Arc<Shared>,
    closing: CancellationToken,
    h2: bool,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = shared.limits.header_timeout;
    let max_header = shared.limits.max_header;
    let keepalive_drain = shared.limits.keepalive_drain;
    let forwarded = Arc::new(headers::Forwarded::new(inbound));
    let arrivals = Arc::new(arrivals::Arrivals::new());
    let arriving = arrivals.clone();
    let linger = linger::LingerFlag::default();
    let lingering = linger.clone();
    let sending = Arc::new(send_timeout::Sending::new(shared.limits.send_timeout));
    let watching = sending.clone();
    let service = service_fn(move |request| {
        arriving.arrived();
        let (shared, forwarded) = (shared.clone(), forwarded.clone());
        let (lingering, watching) = (lingering.clone(), watching.clone());
        let arrivals = arriving.clone();
        let span =
            tracing::debug_span!("request", peer = %inbound.peer, app = tracing::field::Empty);
        async move {
            let mut response =
                forward::forward(&shared, inbound, &forwarded, &watching, request).await;
            // The client may still be sending the body it was refused: read it off before closing.
            if response.status() == hyper::StatusCode::PAYLOAD_TOO_LARGE {
                lingering.set();
            }
            // Shutting down: the client learns that this connection takes no more requests
            // (HTTP/2 has GOAWAY for it; an upgrade's 101 keeps its own Connection header).
            if !h2
                && arrivals.closing()
                && response.status() != hyper::StatusCode::SWITCHING_PROTOCOLS
            {
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
            Ok::<_, std::convert::Infallible>(response)
        }
        .instrument(span)
    });
    let io = TokioIo::new(send_timeout::SendTimeout::new(
        linger::Lingering::new(io, linger),
        sending,
    ));
    // Serves until the connection ends. Once `closing` fires, every HTTP/1.1 response says
    // `Connection: close` and the connection closes after it; one with no request in progress
    // is closed once it has waited `$drain` for its next request (one accepted just before:
    // FIRST_REQUEST_GRACE for its first). Closing an idle HTTP/1.1 connection at once would
    // lose the request a client (a load balancer reusing its connections) may be sending on it
    // just then; HTTP/2 gets its GOAWAY at once, which tells the client what was not taken.
    // Once `idle` resolves the connection is closed gracefully without that grace.
    macro_rules! serve_gracefully {
        ($connection:expr, $idle:expr, $drain:expr) => {{
            let connection = $connection;
            tokio::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => served,
                _ = $idle => {
                    connection.as_mut().graceful_shutdown();
                    match arrivals.seen() {
                        true => connection.await,
                        // Nothing in flight; a client that never even finished its handshake
                        // (HTTP/2 closes only after it) is dropped.
                        false => tokio::time::timeout(FIRST_REQUEST_GRACE, connection.as_mut())
                            .await
                            .unwrap_or(Ok(())),
                    }
                }
                _ = closing.cancelled() => {
                    arrivals.close_after_each();
                    let wait = match arrivals.seen() {
                        true => $drain,
                        false => FIRST_REQUEST_GRACE,
                    };
                    let next = arrivals.beyond(arrivals.count());
                    let ended = tokio::select! {
                        served = connection.as_mut() => Some(served),
                        _ = tokio::time::timeout(wait, next) => None,
                    };
                    match ended {
                        Some(served) => served,
                        None => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    }
                }
            }
        }};
    }
    // HTTP/1.1 closes slow and idle connections itself (`header_read_timeout`); HTTP/2 gets a
    // GOAWAY once no request has come for as long (its streams in flight still finish). A
    // graceful HTTP/2 close waits for the client to answer a PING; one that never answers
    // PINGs (the keep-alive ones every `header_timeout`) is closed after as long again.
    let served = if h2 {
        serve_gracefully!(
            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(header_timeout))
                .keep_alive_timeout(header_timeout)
                .max_header_list_size(max_header)
                .serve_connection(io, service),
            arrivals.quiet_for(header_timeout),
            Duration::ZERO
        )
    } else {
        serve_gracefully!(
            hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_header_size(max_header as usize)
                .serve_connection(io, service)
                .with_upgrades(),
            std::future::pending::<()>(),
            keepalive_drain
        )
    };
    if let Err(err) = served {
        tracing::debug!(error = %err, "proxy connection ended with an error");
    }
}

#[cfg(test)]
mod tests;
