//! `client-body-timeout`, as nginx's `client_body_timeout`: a request body whose client sends
//! nothing for that long, while the proxy waits to read it, fails, and the client gets a 408.
//! Only time spent waiting on the client counts: an app that reads its upload slowly (and so
//! stops the proxy from reading) never makes it expire. The bytes read are counted in the app's
//! metrics as they come.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::forward::{BoxError, ProxyBody};
use super::metrics::AppMetrics;

#[derive(Debug, thiserror::Error)]
#[error("the client sent no request body for {}s (client-body-timeout)", .0.as_secs())]
pub struct BodyTimedOut(pub Duration);

/// A request body that fails once its client has sent nothing for `idle` while it was awaited.
pub struct IdleTimeout {
    inner: ProxyBody,
    idle: Duration,
    metrics: Arc<AppMetrics>,
    /// Set while the last poll found nothing to read; made the first time that happens.
    sleep: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl IdleTimeout {
    pub fn new(inner: ProxyBody, idle: Duration, metrics: Arc<AppMetrics>) -> IdleTimeout {
        IdleTimeout {
            inner,
            idle,
            metrics,
            sleep: None,
            waiting: false,
        }
    }
}

impl Body for IdleTimeout {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = false;
            if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
                this.metrics.received(data.map_or(0, |d| d.len() as u64));
            }
            return Poll::Ready(frame);
        }
        if !this.waiting {
            this.waiting = true;
            let deadline = Instant::now() + this.idle;
            match &mut this.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => this.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        match this.sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.idle))))),
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    /// A body fed by hand: frames sent on the channel, `None` closed.
    fn fed() -> (
        tokio::sync::mpsc::Sender<Result<Frame<Bytes>, BoxError>>,
        ProxyBody,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (tx, StreamBody::new(stream).boxed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_fails_the_body_and_a_sending_one_does_not() {
        let (tx, inner) = fed();
        let mut body = IdleTimeout::new(inner, Duration::from_secs(60), Arc::default());
        for _ in 0..3 {
            let send = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(50)).await;
                let _ = send.send(Ok(Frame::data(Bytes::from_static(b"x")))).await;
            });
            let frame = body.frame().await.expect("a frame").expect("data");
            assert_eq!(frame.into_data().unwrap(), Bytes::from_static(b"x"));
        }
        let started = Instant::now();
        let err = body.frame().await.expect("an error").unwrap_err();
        assert!(err.is::<BodyTimedOut>(), "{err}");
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_body_is_not_read_does_not_count() {
        let (tx, inner) = fed();
        let mut body = IdleTimeout::new(inner, Duration::from_secs(60), Arc::default());
        tx.send(Ok(Frame::data(Bytes::from_static(b"a"))))
            .await
            .unwrap();
        assert!(body.frame().await.is_some());
        // The app reads nothing for longer than the timeout; when it reads again, the client
        // takes 30 s more: the wait counts from that read, not from the last frame.
        tokio::time::sleep(Duration::from_secs(600)).await;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"b")))).await;
        });
        assert!(body.frame().await.expect("b").is_ok());
        assert!(body.frame().await.is_none(), "the end, not a timeout");
    }
}
