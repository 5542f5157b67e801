//! A response body whose size is known only once it is sent (a chunked or compressed one): the
//! bytes sent are added to the app's metrics, and in the combined access log format, which shows
//! them, its line is written, when the body ends or the client goes away, with the bytes sent by
//! then (nginx's `$body_bytes_sent`).

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use hyper::{Method, Uri};

use super::access::{AccessLog, Client, Entry};
use super::forward::{BoxError, ProxyBody};
use super::metrics::AppMetrics;

/// The access line of a response still being sent.
pub struct Deferred {
    pub app: String,
    pub id: String,
    pub method: Method,
    pub target: Uri,
    pub status: u16,
    pub micros: u64,
    pub peer: IpAddr,
    pub client: Client,
}

/// `body`, counting its data, with the line (if any) it writes to `log` when dropped.
pub struct Logged {
    body: ProxyBody,
    metrics: Arc<AppMetrics>,
    sent: u64,
    log: Arc<AccessLog>,
    line: Option<Deferred>,
}

impl Logged {
    pub fn wrap(
        body: ProxyBody,
        metrics: Arc<AppMetrics>,
        log: &Arc<AccessLog>,
        line: Option<Deferred>,
    ) -> ProxyBody {
        Logged {
            body,
            metrics,
            sent: 0,
            log: log.clone(),
            line,
        }
        .boxed()
    }
}

impl Body for Logged {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sent += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        self.metrics.sent(self.sent);
        let Some(line) = &mut self.line else {
            return;
        };
        line.client.bytes = self.sent;
        self.log.record(&Entry {
            app: &line.app,
            id: &line.id,
            method: line.method.as_str(),
            path: line.target.path_and_query().map_or("/", |p| p.as_str()),
            status: line.status,
            micros: line.micros,
            peer: line.peer,
            client: Some(&line.client),
        });
    }
}
