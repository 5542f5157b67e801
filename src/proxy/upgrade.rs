//! Upgraded connections (WebSocket and other `Upgrade` protocols): once the upstream answers
//! 101, the client's and the upstream's connections are joined and bytes flow both ways until
//! either side closes. On shutdown a tunnel gets a grace window to finish before it is cut.

use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use super::forward::Shared;
use crate::names::AppName;

/// How long open tunnels may run on after the proxy starts shutting down.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Joins the two sides on the daemon's task tracker.
pub fn tunnel(shared: &Shared, app: AppName, client: OnUpgrade, upstream: OnUpgrade) {
    let shutdown = shared.shutdown.clone();
    shared.tracker.spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(err) => {
                tracing::debug!(%app, error = %err, "upgrade did not complete");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        let relay = tokio::io::copy_bidirectional(&mut client, &mut upstream);
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            result = relay => {
                if let Err(err) = result {
                    tracing::debug!(%app, error = %err, "upgraded connection ended");
                }
            }
            _ = grace => tracing::info!(%app, "closing an upgraded connection at shutdown"),
        }
    });
}
