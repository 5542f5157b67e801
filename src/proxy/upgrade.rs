//! Upgraded connections (WebSocket and other `Upgrade` protocols): once the upstream answers
//! 101, the client's and the upstream's connections are joined and bytes flow both ways until
//! either side closes, or neither sends anything for the app's `proxy-read-timeout` (as nginx
//! times out upgraded connections: a dead peer must not hold a tunnel for ever). On shutdown a
//! tunnel gets a grace window to finish before it is cut. The bytes each side sends count as
//! the app's received and sent bytes, as they flow.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::forward::Shared;
use super::metrics::AppMetrics;
use crate::names::AppName;

/// How long open tunnels may run on after the proxy starts shutting down.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Joins the two sides on the daemon's task tracker; `idle` is the app's read timeout.
pub fn tunnel(
    shared: &Shared,
    app: AppName,
    client: OnUpgrade,
    upstream: OnUpgrade,
    idle: Duration,
    metrics: Arc<AppMetrics>,
) {
    let shutdown = shared.shutdown.clone();
    shared.tracker.spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(err) => {
                tracing::debug!(%app, error = %err, "upgrade did not complete");
                return;
            }
        };
        let relay = relay(TokioIo::new(client), TokioIo::new(upstream), idle, metrics);
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            ended = relay => match ended {
                Ok(Ended::Closed) => {}
                Ok(Ended::Idle) => tracing::info!(%app, idle_secs = idle.as_secs(), "closing an idle upgraded connection (proxy-read-timeout)"),
                Err(err) => tracing::debug!(%app, error = %err, "upgraded connection ended"),
            },
            _ = grace => tracing::info!(%app, "closing an upgraded connection at shutdown"),
        }
    });
}

/// Why a relay ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// One side closed.
    Closed,
    /// Neither side sent a byte for the idle timeout.
    Idle,
}

/// Copies both ways until a side closes or both stay silent for `idle`.
async fn relay<A, B>(
    client: A,
    upstream: B,
    idle: Duration,
    metrics: Arc<AppMetrics>,
) -> std::io::Result<Ended>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let heard = Arc::new(AtomicU64::new(0));
    let mut client = Heard::new(
        client,
        start,
        heard.clone(),
        metrics.clone(),
        AppMetrics::received,
    );
    let mut upstream = Heard::new(upstream, start, heard.clone(), metrics, AppMetrics::sent);
    let silence = async {
        loop {
            let last = start + Duration::from_millis(heard.load(Ordering::Relaxed));
            if Instant::now() >= last + idle {
                return;
            }
            tokio::time::sleep_until(last + idle).await;
        }
    };
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => copied.map(|_| Ended::Closed),
        _ = silence => Ok(Ended::Idle),
    }
}

/// A connection that notes when it last read something (milliseconds since `start`), and
/// counts what it read (`count`: as received from the client, or sent to it).
struct Heard<T> {
    inner: T,
    start: Instant,
    heard: Arc<AtomicU64>,
    metrics: Arc<AppMetrics>,
    count: fn(&AppMetrics, u64),
}

impl<T> Heard<T> {
    fn new(
        inner: T,
        start: Instant,
        heard: Arc<AtomicU64>,
        metrics: Arc<AppMetrics>,
        count: fn(&AppMetrics, u64),
    ) -> Heard<T> {
        Heard {
            inner,
            start,
            heard,
            metrics,
            count,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Heard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let millis = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.heard.store(millis, Ordering::Relaxed);
            (self.count)(&self.metrics, (buf.filled().len() - before) as u64);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Heard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_tunnel_is_closed_and_a_talking_one_is_not() {
        let (client, mut client_peer) = tokio::io::duplex(64);
        let (upstream, mut upstream_peer) = tokio::io::duplex(64);
        let idle = Duration::from_secs(60);
        let metrics = Arc::new(AppMetrics::default());
        let relay = tokio::spawn(relay(client, upstream, idle, metrics.clone()));
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(45)).await;
            client_peer.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            upstream_peer.read_exact(&mut got).await.unwrap();
            assert!(!relay.is_finished());
        }
        tokio::time::sleep(Duration::from_secs(45)).await;
        upstream_peer.write_all(b"pong").await.unwrap();
        let mut got = [0u8; 4];
        client_peer.read_exact(&mut got).await.unwrap();
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert!(!relay.is_finished());
        assert_eq!(relay.await.unwrap().unwrap(), Ended::Idle);
        let counted = metrics.snapshot();
        assert_eq!(
            (counted.received, counted.sent),
            (12, 4),
            "pings in, a pong out"
        );
    }
}
