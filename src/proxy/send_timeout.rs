//! `send-timeout`, as nginx's `send_timeout`: a client that takes nothing of what the proxy
//! writes to it for that long (its socket stays full) has its connection closed, so a client
//! that stops reading cannot hold its connection, the upstream connection and the app's worker
//! behind it for ever. Only time spent waiting to write counts: a keep-alive connection idle
//! between requests is the header timeout's concern.
//!
//! The limit is that of the app whose response is being written: each routed response names it
//! (`Sending::watch`), and its app gets the error line. Over HTTP/2 a stalled connection stalls
//! every stream on it, and the latest routed request's app decides. The proxy's own answers to
//! requests it routes nowhere (a few bytes each) keep the last routed request's limit, else
//! the proxy's.
//!
//! The same naming keeps each app's count of open connections: a connection counts for the app
//! of its latest routed request until it closes or routes a request to another app.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::{Method, Uri};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::errors::{Failure, Request};
use super::routes::AppRoute;

#[derive(Debug, thiserror::Error)]
#[error("the client took nothing of the response for {}s (send-timeout)", .0.as_secs())]
pub struct SendTimedOut(pub Duration);

/// The response a connection is writing: whose limit applies, and what to log if it expires.
pub struct Watched {
    pub route: Arc<AppRoute>,
    pub limit: Duration,
    pub method: Method,
    pub target: Uri,
    pub id: String,
    pub peer: IpAddr,
}

/// What one connection's requests tell its writer.
pub struct Sending {
    default: Duration,
    current: Mutex<Option<Watched>>,
}

impl Sending {
    pub fn new(default: Duration) -> Sending {
        Sending {
            default,
            current: Mutex::new(None),
        }
    }

    /// The response about to be written is `watched`'s.
    pub fn watch(&self, watched: Watched) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let before = current.as_ref().map(|w| &w.route.metrics);
        if !before.is_some_and(|m| Arc::ptr_eq(m, &watched.route.metrics)) {
            if let Some(metrics) = before {
                metrics.connection_out();
            }
            watched.route.metrics.connection_in();
        }
        *current = Some(watched);
    }

    fn limit(&self) -> Duration {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().map_or(self.default, |w| w.limit)
    }

    /// Tells the app of the response that could not be written (a line only if it keeps them).
    fn expired(&self, limit: Duration) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let Some(watched) = current.as_ref() else {
            return;
        };
        let lines = !watched.route.policy.error_log_off;
        let request = Request {
            method: watched.method.as_str(),
            path: watched.target.path_and_query().map_or("/", |p| p.as_str()),
            id: &watched.id,
            peer: watched.peer,
        };
        let app = watched.route.app.as_str();
        watched
            .route
            .errors
            .record(app, &Failure::SendTimedOut(limit), &request, lines);
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        let current = self.current.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(watched) = current {
            watched.route.metrics.connection_out();
        }
    }
}

/// A client connection whose writes fail once one has waited for the limit.
pub struct SendTimeout<I> {
    io: I,
    sending: Arc<Sending>,
    /// Armed while the last write found the client's socket full; made the first time.
    sleep: Option<Pin<Box<Sleep>>>,
    /// The limit the armed wait was given.
    armed: Option<Duration>,
}

impl<I> SendTimeout<I> {
    pub fn new(io: I, sending: Arc<Sending>) -> SendTimeout<I> {
        SendTimeout {
            io,
            sending,
            sleep: None,
            armed: None,
        }
    }

    /// `polled`, unless it is another wait on a write that has waited for the limit.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.armed = None;
            return polled;
        }
        let limit = match self.armed {
            Some(limit) => limit,
            None => {
                let limit = self.sending.limit();
                let deadline = Instant::now() + limit;
                match &mut self.sleep {
                    Some(sleep) => sleep.as_mut().reset(deadline),
                    None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
                }
                self.armed = Some(limit);
                limit
            }
        };
        match self.sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => {
                self.sending.expired(limit);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    SendTimedOut(limit),
                )))
            }
            _ => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for SendTimeout<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SendTimeout<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.guard(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.guard(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.guard(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMIT: Duration = Duration::from_secs(60);

    /// A connection to a client whose socket holds 16 bytes, and the client's end.
    fn connection() -> (
        SendTimeout<tokio::io::DuplexStream>,
        tokio::io::DuplexStream,
    ) {
        let (proxy, client) = tokio::io::duplex(16);
        let sending = Arc::new(Sending::new(LIMIT));
        (SendTimeout::new(proxy, sending), client)
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_nothing_for_the_limit_fails_the_write() {
        let (mut proxy, _client) = connection();
        proxy.write_all(&[1; 16]).await.unwrap();
        let started = Instant::now();
        let err = proxy.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), LIMIT);
        assert!(err.to_string().contains("(send-timeout)"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_keeps_reading_slowly_is_not_cut() {
        let (mut proxy, mut client) = connection();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 64 {
                tokio::time::sleep(LIMIT * 3 / 4).await;
                total += client.read(&mut buf).await.unwrap();
            }
            total
        });
        proxy.write_all(&[1; 64]).await.unwrap();
        assert_eq!(reader.await.unwrap(), 64);
    }

    /// The client reads what fills its socket after half the limit.
    fn read_later(
        mut client: tokio::io::DuplexStream,
    ) -> tokio::task::JoinHandle<tokio::io::DuplexStream> {
        tokio::spawn(async move {
            tokio::time::sleep(LIMIT / 2).await;
            let mut buf = [0u8; 16];
            client.read_exact(&mut buf).await.unwrap();
            client
        })
    }

    #[tokio::test(start_paused = true)]
    async fn each_wait_counts_from_its_own_start() {
        let (mut proxy, client) = connection();
        let reader = read_later(client);
        proxy.write_all(&[1; 32]).await.unwrap();
        let client = reader.await.unwrap();
        // Idle between responses: nothing waits.
        tokio::time::sleep(LIMIT * 2).await;
        let reader = read_later(client);
        proxy.write_all(&[2; 16]).await.unwrap();
        reader.await.unwrap();
    }
}
