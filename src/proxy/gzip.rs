//! Response compression, as Dokku's nginx template turns it on for every app (`gzip on`,
//! `gzip_min_length 1100`, `gzip_comp_level 6`, `gzip_vary on` and its `gzip_types`, with
//! `text/html`, which nginx always includes): an app's text response to a client that accepts
//! gzip goes out compressed, unless the app compressed it itself. Dokku users moving to Berth
//! would otherwise find their pages larger. The body is compressed as it streams, each chunk
//! flushed as it comes, so a streamed response still arrives as the app sends it.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::forward::{BoxError, ProxyBody};

/// Shorter responses are not worth it (nginx's `gzip_min_length` in Dokku's template).
const MIN_LENGTH: u64 = 1100;

/// nginx's `gzip_comp_level` in Dokku's template.
const LEVEL: u32 = 6;

/// The content types Dokku's template compresses, and `text/html`.
const TYPES: &[&str] = &[
    "text/html",
    "text/css",
    "text/javascript",
    "text/xml",
    "text/plain",
    "text/x-component",
    "application/javascript",
    "application/x-javascript",
    "application/json",
    "application/xml",
    "application/rss+xml",
    "font/truetype",
    "application/x-font-ttf",
    "font/opentype",
    "application/vnd.ms-fontobject",
    "image/svg+xml",
];

/// Whether a request with these headers takes a gzip-encoded response (`Accept-Encoding`
/// naming `gzip` or `*` without `q=0`) and came straight from its client: nginx's
/// `gzip_proxied off` leaves responses to requests through another proxy (`Via`) alone.
pub fn accepted(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::VIA)
        && headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|coding| {
                let mut parts = coding.split(';');
                let name = parts.next().unwrap_or("").trim();
                // `weight = OWS ";" OWS "q=" qvalue` (RFC 9110 §12.4.2): no space around `=`.
                let refused = parts.any(|param| {
                    param
                        .trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
            })
}

/// Whether the app's response should go out compressed: a 200, 403 or 404 (as nginx) with a
/// body of a listed type, long enough or of unknown length, not encoded already, and not
/// marked `Cache-Control: no-transform`.
fn wanted(status: StatusCode, headers: &HeaderMap) -> bool {
    let status_ok = matches!(
        status,
        StatusCode::OK | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    );
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let listed = text(header::CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .is_some_and(|kind| TYPES.iter().any(|t| t.eq_ignore_ascii_case(kind.trim())));
    let encoded =
        text(header::CONTENT_ENCODING).is_some_and(|c| !c.eq_ignore_ascii_case("identity"));
    let short = text(header::CONTENT_LENGTH)
        .and_then(|length| length.trim().parse::<u64>().ok())
        .is_some_and(|length| length < MIN_LENGTH);
    let untouchable = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|directive| directive.trim().eq_ignore_ascii_case("no-transform"));
    status_ok && listed && !encoded && !short && !untouchable
}

/// The response, compressed if it should be (see `wanted`), for a client that accepts gzip.
pub fn compress(response: Response<ProxyBody>) -> Response<ProxyBody> {
    if !wanted(response.status(), response.headers()) {
        return response;
    }
    let (mut head, body) = response.into_parts();
    let headers = &mut head.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let varies = headers.get_all(header::VARY).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',').any(|name| {
                name.trim() == "*" || name.trim().eq_ignore_ascii_case("accept-encoding")
            })
        })
    });
    if !varies {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    // The compressed bytes are not the ones a strong validator names (nginx weakens it too).
    if let Some(tag) = headers.get(header::ETAG).and_then(|t| t.to_str().ok()) {
        if tag.starts_with('"') {
            if let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}")) {
                headers.insert(header::ETAG, weak);
            }
        }
    }
    Response::from_parts(head, Gzip::new(body).boxed())
}

/// A body compressed as it streams.
struct Gzip {
    inner: ProxyBody,
    /// `None` once the gzip trailer is out.
    encoder: Option<GzEncoder<Vec<u8>>>,
    /// The app's trailers, sent after the compressed body ends.
    trailers: Option<HeaderMap>,
}

impl Gzip {
    fn new(inner: ProxyBody) -> Gzip {
        Gzip {
            inner,
            encoder: Some(GzEncoder::new(Vec::new(), Compression::new(LEVEL))),
            trailers: None,
        }
    }

    /// Ends the compressed body: what the encoder still holds, and its trailer.
    fn finish(&mut self) -> std::io::Result<Bytes> {
        match self.encoder.take() {
            Some(encoder) => encoder.finish().map(Bytes::from),
            None => Ok(Bytes::new()),
        }
    }
}

impl Body for Gzip {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.encoder.is_none() {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            let frame = match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(err)) => return Poll::Ready(Some(Err(err))),
                None => {
                    let rest = this.finish()?;
                    return Poll::Ready((!rest.is_empty()).then(|| Ok(Frame::data(rest))));
                }
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(frame) => {
                    this.trailers = frame.into_trailers().ok();
                    let rest = this.finish()?;
                    match rest.is_empty() {
                        true => continue,
                        false => return Poll::Ready(Some(Ok(Frame::data(rest)))),
                    }
                }
            };
            let Some(encoder) = this.encoder.as_mut() else {
                continue;
            };
            encoder.write_all(&data)?;
            encoder.flush()?;
            let out = std::mem::take(encoder.get_mut());
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(out.into()))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_none() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn accept_encoding_is_read_as_clients_write_it() {
        let takes = |value: &str| accepted(&headers(&[("accept-encoding", value)]));
        assert!(takes("gzip"));
        assert!(takes("deflate, GZIP;q=0.5, br"));
        assert!(takes("*"));
        assert!(!takes("gzip;q=0"));
        assert!(!takes("gzip; q=0.0, br"));
        assert!(!takes("br, identity"));
        assert!(!takes("gzipped"));
        assert!(!accepted(&HeaderMap::new()));
        let proxied = headers(&[("accept-encoding", "gzip"), ("via", "1.1 cdn")]);
        assert!(!accepted(&proxied));
    }

    #[test]
    fn only_listed_uncompressed_long_enough_responses_are_compressed() {
        let html = [("content-type", "text/html; charset=utf-8")];
        assert!(wanted(StatusCode::OK, &headers(&html)));
        assert!(wanted(StatusCode::NOT_FOUND, &headers(&html)));
        assert!(!wanted(StatusCode::INTERNAL_SERVER_ERROR, &headers(&html)));
        assert!(!wanted(StatusCode::PARTIAL_CONTENT, &headers(&html)));
        let with = |extra: (&'static str, &str)| headers(&[html[0], extra]);
        assert!(wanted(StatusCode::OK, &with(("content-length", "1100"))));
        assert!(!wanted(StatusCode::OK, &with(("content-length", "1099"))));
        assert!(!wanted(StatusCode::OK, &with(("content-encoding", "br"))));
        assert!(wanted(
            StatusCode::OK,
            &with(("content-encoding", "identity"))
        ));
        assert!(!wanted(
            StatusCode::OK,
            &with(("cache-control", "public, No-Transform"))
        ));
        let kind = |kind: &str| wanted(StatusCode::OK, &headers(&[("content-type", kind)]));
        assert!(kind("application/json"));
        assert!(!kind("image/png"));
        assert!(!kind("text/event-stream"));
        assert!(!wanted(StatusCode::OK, &HeaderMap::new()));
    }

    #[tokio::test]
    async fn a_compressed_body_streams_and_decompresses_to_the_original() {
        let (sender, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(4);
        let inner = channel_body(rx);
        let mut response = Response::new(inner);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_static("\"v1\""));
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Cookie"));
        let (head, mut body) = compress(response).into_parts();
        assert_eq!(head.headers["content-encoding"], "gzip");
        let vary: Vec<_> = head.headers.get_all("vary").iter().collect();
        assert_eq!(vary, ["Cookie", "Accept-Encoding"]);
        assert_eq!(head.headers["etag"], "W/\"v1\"");
        let first = "a line of text that repeats; ".repeat(100);
        sender
            .send(Ok(Frame::data(Bytes::from(first.clone()))))
            .await
            .unwrap();
        // The first chunk arrives before the app sends the next: nothing waits for more.
        let out = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert!(
            !out.is_empty() && out.len() < first.len() / 4,
            "{}",
            out.len()
        );
        let mut compressed = out.to_vec();
        sender
            .send(Ok(Frame::data(Bytes::from("the end"))))
            .await
            .unwrap();
        drop(sender);
        while let Some(frame) = body.frame().await {
            compressed.extend_from_slice(&frame.unwrap().into_data().unwrap());
        }
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, format!("{first}the end"));
    }

    #[test]
    fn a_response_that_varies_on_the_encoding_already_says_so_once() {
        let mut response =
            Response::new(http_body_util::Empty::new().map_err(|n| match n {}).boxed());
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Origin, accept-encoding"),
        );
        let compressed = compress(response);
        let vary: Vec<_> = compressed.headers().get_all("vary").iter().collect();
        assert_eq!(vary, ["Origin, accept-encoding"]);
        assert_eq!(compressed.headers()["content-encoding"], "gzip");
    }

    /// A body fed frame by frame through a channel.
    fn channel_body(rx: tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, BoxError>>) -> ProxyBody {
        let frames = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        });
        http_body_util::StreamBody::new(frames).boxed()
    }
}
