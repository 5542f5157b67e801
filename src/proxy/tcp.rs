//! TCP passthrough (`tcp:host-port:container-port`): each connection is relayed byte for byte
//! to one of the app's instances, whichever serves now. No Host, no TLS, no policy.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Routes;
use crate::names::AppName;

/// How long a connection to an instance may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long open connections may go on once the listener is closed or the daemon stops.
const CLOSE_WINDOW: Duration = Duration::from_secs(10);

/// Which app, and which of its container ports, a TCP listener relays to (changed in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpTarget {
    pub app: AppName,
    pub port: u16,
}

pub async fn serve(
    listener: TcpListener,
    routes: Arc<Routes>,
    target: Arc<Mutex<TcpTarget>>,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    let mut accept_errors = crate::accept::AcceptErrors::new("tcp");
    loop {
        let (client, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    accept_errors.pause(&err).await;
                    continue;
                }
            },
        };
        let target = target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let upstreams: Vec<SocketAddr> = routes
            .route(&target.app)
            .map(|route| {
                route
                    .rotation()
                    .take(route.upstreams.len())
                    .map(|up| SocketAddr::new(up.ip(), target.port))
                    .collect()
            })
            .unwrap_or_default();
        let stop = stop.clone();
        tracker.spawn(async move {
            relay(client, &upstreams, &stop).await;
            tracing::debug!(%peer, app = %target.app, "tcp connection closed");
        });
    }
}

async fn relay(mut client: TcpStream, upstreams: &[SocketAddr], stop: &CancellationToken) {
    for upstream in upstreams {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)).await;
        let Ok(Ok(mut server)) = connected else {
            continue;
        };
        let _ = server.set_nodelay(true);
        let _ = client.set_nodelay(true);
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
            _ = async { stop.cancelled().await; tokio::time::sleep(CLOSE_WINDOW).await } => {}
        }
        return;
    }
}
