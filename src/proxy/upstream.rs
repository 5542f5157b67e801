//! Keep-alive connections to app instances, one pool per proxy worker thread (so checking a
//! connection out never contends with another thread). A request goes out on an idle, ready
//! connection when there is one, else on a new connection; a pooled connection the app closed
//! meanwhile is noticed before the request is written, and the request goes out on a new one.
//! One the app closes just as the request is written (an app's keep-alive timeout running out
//! then) fails it with `Stale`, and the caller may send it again on a new connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::forward::ProxyBody;

/// Connections kept per instance; more are closed when they come back.
const MAX_IDLE_PER_UPSTREAM: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made: the request was not sent and may go elsewhere.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// A pooled connection ended after the request was written, before the response's head
    /// arrived: the app closed it meanwhile, most likely without reading the request.
    #[error("{0}")]
    Stale(#[source] hyper::Error),
    /// A new connection ended after the request was written, before the response's head
    /// arrived: the instance was killed or crashed meanwhile (an idempotent request may go to
    /// another instance, as nginx's `proxy_next_upstream error` sends it).
    #[error("{0}")]
    Dropped(#[source] hyper::Error),
    #[error("{0}")]
    Request(#[from] hyper::Error),
}

/// Which connection a request may go out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An idle pooled one if there is one.
    Pooled,
    /// A new one (after a pooled one turned out `Stale`).
    New,
}

/// Whether `err` ended an exchange before the response's head arrived, on a connection the
/// other side closed or reset.
fn before_response(err: &hyper::Error) -> bool {
    if err.is_incomplete_message() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
            return matches!(io.kind(), BrokenPipe | ConnectionAborted | ConnectionReset);
        }
        source = cause.source();
    }
    false
}

pub struct Pool {
    idle: Mutex<HashMap<SocketAddr, Vec<SendRequest<ProxyBody>>>>,
    connect_timeout: Duration,
}

impl Pool {
    pub fn new(connect_timeout: Duration) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            connect_timeout,
        }
    }

    /// Sends `request` (origin-form URI) to `upstream`.
    pub async fn send(
        &self,
        upstream: SocketAddr,
        mut request: Request<ProxyBody>,
        via: Via,
    ) -> Result<Response<Incoming>, UpstreamError> {
        while let Some(mut sender) = self.checkout(upstream, via) {
            match sender.try_send_request(request).await {
                Ok(response) => {
                    self.checkin(upstream, sender);
                    return Ok(response);
                }
                Err(mut err) => match err.take_message() {
                    // Not written: the connection was gone; try the next one.
                    Some(unsent) => request = unsent,
                    None => {
                        let err = err.into_error();
                        return Err(match before_response(&err) {
                            true => UpstreamError::Stale(err),
                            false => UpstreamError::Request(err),
                        });
                    }
                },
            }
        }
        let mut sender = self.connect(upstream).await?;
        let response =
            sender
                .send_request(request)
                .await
                .map_err(|err| match before_response(&err) {
                    true => UpstreamError::Dropped(err),
                    false => UpstreamError::Request(err),
                })?;
        self.checkin(upstream, sender);
        Ok(response)
    }

    /// An idle connection that can take a request now; closed ones are dropped on the way.
    fn checkout(&self, upstream: SocketAddr, via: Via) -> Option<SendRequest<ProxyBody>> {
        if via == Via::New {
            return None;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let senders = idle.get_mut(&upstream)?;
        senders.retain(|s| !s.is_closed());
        let ready = senders.iter().rposition(|s| s.is_ready())?;
        Some(senders.swap_remove(ready))
    }

    /// Returns a connection; it takes the next request once its current response is read.
    fn checkin(&self, upstream: SocketAddr, sender: SendRequest<ProxyBody>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let senders = idle.entry(upstream).or_default();
        if senders.len() < MAX_IDLE_PER_UPSTREAM {
            senders.push(sender);
        }
    }

    async fn connect(&self, upstream: SocketAddr) -> Result<SendRequest<ProxyBody>, UpstreamError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(upstream))
            .await
            .map_err(|_| {
                UpstreamError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ))
            })?
            .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Request)?;
        tokio::spawn(async move {
            if let Err(err) = connection.with_upgrades().await {
                tracing::debug!(%upstream, error = %err, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let pool = Pool::new(Duration::from_secs(1));
        let request = Request::new(super::super::forward::empty_body());
        let err = pool.send(addr, request, Via::Pooled).await.unwrap_err();
        assert!(matches!(err, UpstreamError::Connect(_)), "{err}");
    }
}
