//! The admin listener (`[admin] listen`, axum): `/metrics` in Prometheus' text format and
//! `/healthz`, behind an optional bearer token (`[admin] token`), and the deploy webhook
//! (`/deploy/<app>`, `deploy.rs`), behind the app's own deploy tokens. Connections are bounded
//! in number, per address and in idle time (`connections.rs`). It runs on the daemon's own
//! runtime, apart from the proxy's worker threads, and a scrape reads only what is in memory:
//! the proxy's counters, the state, and the sampler's latest sample (`sampler.rs`).

mod connections;
mod deploy;
mod export;
mod forge;
mod limit;
mod sampler;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use export::text;
pub use sampler::run_loop as run_sampler;

use crate::context::Ctx;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("[admin] listen = {0:?} is not host:port")]
    Address(String),
    #[error("cannot listen on {0} ([admin] listen): {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// The listener `[admin] listen` asks for; `None` when it is empty. Bound with SO_REUSEPORT, so
/// a successor daemon (an in-place upgrade) binds it while this one still serves.
pub fn bind(listen: &str) -> Result<Option<TcpListener>, AdminError> {
    if listen.trim().is_empty() {
        return Ok(None);
    }
    let address: SocketAddr = listen
        .parse()
        .map_err(|_| AdminError::Address(listen.to_string()))?;
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(|err| AdminError::Bind(address, err))?;
    let bound = socket
        .set_reuseaddr(true)
        .and_then(|()| socket.set_reuseport(true))
        .and_then(|()| socket.bind(address))
        .and_then(|()| socket.listen(128));
    bound
        .map(Some)
        .map_err(|err| AdminError::Bind(address, err))
}

struct Admin {
    ctx: Arc<Ctx>,
    /// `Bearer <token>`, as the header must read.
    expected: Option<String>,
    /// Failed deploy-webhook tokens per address.
    limit: limit::FailureLimit,
    /// Forge deliveries seen, so a replayed one deploys nothing.
    deliveries: limit::Deliveries,
}

/// Serves until `shutdown`.
pub async fn serve(listener: TcpListener, ctx: Arc<Ctx>, shutdown: CancellationToken) {
    let expected = ctx
        .config
        .admin
        .token
        .as_ref()
        .map(|t| format!("Bearer {t}"));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/deploy/{app}", post(deploy::start))
        .route("/deploy/{app}/{id}", get(deploy::status))
        .layer(DefaultBodyLimit::max(deploy::MAX_BODY))
        .with_state(Arc::new(Admin {
            ctx,
            expected,
            limit: Default::default(),
            deliveries: Default::default(),
        }));
    let app = app.into_make_service_with_connect_info::<connections::Peer>();
    let served = axum::serve(connections::Bounded::new(listener), app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(err) = served {
        tracing::error!(error = %err, "the admin listener stopped");
    }
}

/// Whether the request carries the configured bearer token (compared in constant time).
fn authorized(admin: &Admin, headers: &HeaderMap) -> bool {
    let Some(expected) = &admin.expected else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    crate::tokens::secret_matches(given, expected)
}

/// 401, naming what is missing.
fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "a bearer token is required ([admin] token)\n",
    )
        .into_response()
}

async fn metrics(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return refused();
    }
    match text(&admin.ctx) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn healthz(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return refused();
    }
    "ok\n".into_response()
}
