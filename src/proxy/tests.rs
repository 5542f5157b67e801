//! Component tests: the real proxy on port 0 in front of real hyper backends on port 0.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::routes::{Lookup, Upstream};
use super::{serve, Limits, Proxy, Routes};
use crate::names::AppName;

/// Upstreams for `addrs`, each instance named after its address.
fn upstreams(addrs: &[SocketAddr]) -> Vec<Upstream> {
    addrs
        .iter()
        .map(|addr| Upstream {
            instance: addr.to_string(),
            addr: *addr,
        })
        .collect()
}

/// A keep-alive HTTP/1.1 backend (upgrades allowed) on a new port that answers with `answer`;
/// counts the connections it accepts.
async fn serve_backend<F, Fut>(answer: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let answer = answer.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, accepted)
}

/// A backend that answers `body` to everything.
async fn backend(body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    serve_backend(move |_| async move { Response::new(Full::new(Bytes::from(body))) }).await
}

async fn start_proxy(routes: Arc<Routes>) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let limits = Limits {
        hold: std::time::Duration::from_secs(5),
        read_timeout: std::time::Duration::from_secs(5),
        header_timeout: std::time::Duration::from_secs(5),
        max_body: 1024,
        body_timeout: std::time::Duration::from_secs(5),
        send_timeout: std::time::Duration::from_secs(5),
        max_header: 32 << 10,
        keepalive_drain: std::time::Duration::from_secs(5),
        gzip: true,
    };
    let proxy = Proxy {
        routes,
        challenges: Arc::default(),
        access_log: super::AccessLogSink::off(),
        limits,
        extra: false,
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
        workers: 0,
        auth: super::AuthGuard::new(1, 0),
    };
    tokio::spawn(serve(listener.into_std().unwrap(), proxy, None));
    (addr, shutdown)
}

/// A proxy that routes `shop.test` to `upstream`.
async fn proxy_to(upstream: SocketAddr) -> (SocketAddr, CancellationToken) {
    let routes = Arc::new(Routes::default());
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[upstream]));
    start_proxy(routes).await
}

/// One request on its own client connection; returns the raw response.
async fn get(proxy: SocketAddr, host: &str) -> String {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

fn app(name: &str) -> AppName {
    AppName::parse(name).unwrap()
}

#[tokio::test]
async fn upstream_connections_are_pooled() {
    let (upstream, accepted) = backend("pooled").await;
    let (proxy, shutdown) = proxy_to(upstream).await;
    for _ in 0..20 {
        let response = get(proxy, "shop.test").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("pooled"), "{response}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one pooled upstream connection"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_route_swap_sends_new_requests_to_the_new_upstream() {
    let (old, _) = backend("old").await;
    let (new, _) = backend("new").await;
    let routes = Arc::new(Routes::default());
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[old]));
    let (proxy, shutdown) = start_proxy(routes.clone()).await;
    assert!(get(proxy, "shop.test").await.ends_with("old"));
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[new]));
    assert!(get(proxy, "shop.test").await.ends_with("new"));
    shutdown.cancel();
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_naming_the_app() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let (proxy, shutdown) = proxy_to(addr).await;
    let response = get(proxy, "shop.test").await;
    assert!(response.starts_with("HTTP/1.1 502"), "{response}");
    assert!(
        response.ends_with("App shop is not answering\n"),
        "{response}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn held_requests_wait_for_the_new_upstream() {
    let (new, _) = backend("new").await;
    let routes = Arc::new(Routes::default());
    routes.hold(&app("shop"), &["shop.test".into()]);
    let (proxy, shutdown) = start_proxy(routes.clone()).await;
    let waiting = tokio::spawn(async move { get(proxy, "shop.test").await });
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while routes.waiting() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the request is held");
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[new]));
    let response = waiting.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("new"), "{response}");
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_hold_that_outlasts_its_limit_is_a_503() {
    let routes = Arc::new(Routes::default());
    routes.hold(&app("shop"), &["shop.test".into()]);
    let (proxy, shutdown) = start_proxy(routes).await;
    let response = get(proxy, "shop.test").await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.ends_with("App shop is restarting; try again shortly\n"),
        "{response}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_request_that_cannot_connect_is_retried_on_another_instance() {
    let (alive, _) = backend("alive").await;
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let routes = Arc::new(Routes::default());
    routes.set_app(
        &app("shop"),
        &["shop.test".into()],
        upstreams(&[dead, alive]),
    );
    let (proxy, shutdown) = start_proxy(routes).await;
    for _ in 0..6 {
        let response = get(proxy, "shop.test").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("alive"), "{response}");
    }
    shutdown.cancel();
}

/// An instance killed with requests in flight: it reads each request's head, tells `read`,
/// waits for `kill`, then closes the connection unanswered.
async fn killed_mid_request(
    read: tokio::sync::mpsc::UnboundedSender<()>,
    kill: Arc<tokio::sync::Notify>,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let (read, kill) = (read.clone(), kill.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let killed = kill.notified();
                tokio::pin!(killed);
                killed.as_mut().enable();
                let _ = read.send(());
                killed.await;
            });
        }
    });
    addr
}

/// Sends `raw` through a proxy routing `shop.test` to an instance that is killed once it has
/// read the request, as a stop-first deploy kills the old release (requests held, the new one
/// routed); returns the response.
async fn sent_while_its_instance_is_killed(raw: &'static [u8]) -> String {
    let (read, mut reads) = tokio::sync::mpsc::unbounded_channel();
    let kill = Arc::new(tokio::sync::Notify::new());
    let old = killed_mid_request(read, kill.clone()).await;
    let (new, _) = backend("new").await;
    let routes = Arc::new(Routes::default());
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[old]));
    let (proxy, shutdown) = start_proxy(routes.clone()).await;
    let request = tokio::spawn(async move { send(proxy, raw).await });
    reads
        .recv()
        .await
        .expect("the old instance read the request");
    routes.hold(&app("shop"), &["shop.test".into()]);
    kill.notify_waiters();
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[new]));
    let response = request.await.unwrap();
    shutdown.cancel();
    response
}

#[tokio::test]
async fn a_get_whose_instance_is_killed_mid_request_is_answered_by_the_release_swapped_in() {
    let get = b"GET / HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n";
    let response = sent_while_its_instance_is_killed(get).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("new"), "{response}");
}

#[tokio::test]
async fn a_post_whose_instance_is_killed_mid_request_is_not_sent_again() {
    // Without a body, so only its method keeps it from going out again: the app may have
    // acted on it before it was killed.
    let post = b"POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n";
    let response = sent_while_its_instance_is_killed(post).await;
    assert!(response.starts_with("HTTP/1.1 502"), "{response}");
}

/// Sends `raw` (a whole HTTP/1.1 request) on a new connection; returns the raw response.
async fn send(proxy: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// A backend that answers with the request's headers, one `name: value` per line.
async fn echo_headers() -> SocketAddr {
    let (addr, _) = serve_backend(|req| async move {
        let text: String = req
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?")))
            .collect();
        Response::new(Full::new(Bytes::from(text)))
    })
    .await;
    addr
}

#[tokio::test]
async fn requests_carry_an_id_and_forwarding_headers() {
    let (proxy, shutdown) = proxy_to(echo_headers().await).await;
    let response = send(
        proxy,
        b"GET / HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: given-1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.contains("x-request-id: given-1\n"), "{response}");
    assert!(response.contains("x-forwarded-proto: http\n"), "{response}");
    let response = get(proxy, "shop.test").await;
    let id = response
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("an id is made");
    assert_eq!(id.len(), 32, "{response}");
    shutdown.cancel();
}

/// RFC 9112 §3.2: the host a request is routed by is the one the app is told.
#[tokio::test]
async fn the_app_sees_the_host_the_request_was_routed_by() {
    let (proxy, shutdown) = proxy_to(echo_headers().await).await;
    // An absolute-form target names the host; its Host header is replaced.
    let response = send(
        proxy,
        b"GET http://shop.test/ HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("host: shop.test\n"), "{response}");
    assert!(!response.contains("other.test"), "{response}");
    // Two Host headers: the proxy would route by one, the app might read the other.
    let response = send(
        proxy,
        b"GET / HTTP/1.1\r\nHost: shop.test\r\nHost: other.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.ends_with("Duplicate Host header\n"), "{response}");
    let response = send(
        proxy,
        b"CONNECT shop.test:80 HTTP/1.1\r\nHost: shop.test:80\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    shutdown.cancel();
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_413() {
    let (upstream, _) = backend("took it").await;
    let (proxy, shutdown) = proxy_to(upstream).await;
    let big = "x".repeat(2000);
    let declared = format!(
        "POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n{big}"
    );
    let response = send(proxy, declared.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    let chunked = format!(
        "POST / HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7d0\r\n{big}\r\n0\r\n\r\n"
    );
    let response = send(proxy, chunked.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    let small =
        "POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    let response = send(proxy, small.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn an_upstream_that_never_answers_is_a_504() {
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let (proxy, shutdown) = proxy_to(addr).await;
    let response = get(proxy, "shop.test").await;
    assert!(response.starts_with("HTTP/1.1 504"), "{response}");
    assert!(
        response.ends_with("App shop did not answer in time\n"),
        "{response}"
    );
    drop(silent);
    shutdown.cancel();
}

#[tokio::test]
async fn basic_auth_guards_an_app() {
    use base64::Engine;
    let (upstream, _) = backend("secret").await;
    let routes = Arc::new(Routes::default());
    routes.set_app(&app("shop"), &["shop.test".into()], upstreams(&[upstream]));
    let users = vec![("ann".to_string(), crate::password::hash("pw"))];
    let policy = super::Policy {
        auth: Some(super::BasicAuth::new("shop".into(), users, Vec::new())),
        ..Default::default()
    };
    routes.set_policy(&app("shop"), policy);
    let (proxy, shutdown) = start_proxy(routes.clone()).await;
    let response = get(proxy, "shop.test").await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(
        response.contains("www-authenticate: Basic realm=\"shop\""),
        "{response}"
    );
    let token = base64::engine::general_purpose::STANDARD.encode("ann:pw");
    let request = format!(
        "GET / HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Basic {token}\r\nConnection: close\r\n\r\n"
    );
    let response = send(proxy, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let Lookup::App(route) = routes.lookup("shop.test") else {
        panic!("shop is routed");
    };
    assert_eq!(
        route.metrics.snapshot().classes,
        [0, 1, 0, 1, 0],
        "the proxy's own 401 is one of the app's responses"
    );
    shutdown.cancel();
}

/// A backend that accepts any Upgrade and then echoes the bytes it gets, upper-cased.
async fn upgrade_echo() -> SocketAddr {
    let (addr, _) = serve_backend(|mut req| async move {
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let mut io = TokioIo::new(upgrade.await.unwrap());
            let mut buf = [0u8; 64];
            loop {
                let n = io.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                io.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
            }
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert("upgrade", "echo".parse().unwrap());
        headers.insert("connection", "upgrade".parse().unwrap());
        response
    })
    .await;
    addr
}

#[tokio::test]
async fn upgrade_requests_become_two_way_tunnels() {
    let routes = Arc::new(Routes::default());
    routes.set_app(
        &app("shop"),
        &["shop.test".into()],
        upstreams(&[upgrade_echo().await]),
    );
    let (proxy, shutdown) = start_proxy(routes).await;
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for word in ["hello", "again"] {
        stream.write_all(word.as_bytes()).await.unwrap();
        let mut answer = [0u8; 5];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, word.to_ascii_uppercase().as_bytes());
    }
    shutdown.cancel();
}

/// Reads until the proxy closes the connection (within ten minutes); what it sent first.
async fn until_closed(mut stream: TcpStream) -> String {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(600),
        stream.read_to_end(&mut seen),
    )
    .await;
    assert!(closed.is_ok(), "the proxy kept the connection open");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test(start_paused = true)]
async fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    let (upstream, _) = backend("fast").await;
    let (proxy, shutdown) = proxy_to(upstream).await;

    let mut slow = TcpStream::connect(proxy).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: shop.test\r\n")
        .await
        .unwrap();
    let answer = until_closed(slow).await;
    assert!(!answer.contains("fast"), "{answer}");

    let mut idle = TcpStream::connect(proxy).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(idle).await;
    assert!(answer.ends_with("fast"), "served, then closed: {answer}");
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_response_streaming_slower_than_the_header_timeout_is_not_cut() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 1024];
        let _ = stream.read(&mut head).await.unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        stream
            .write_all(b"7\r\nsecond\n\r\n0\r\n\r\n")
            .await
            .unwrap();
    });
    let (proxy, shutdown) = proxy_to(upstream).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(client).await;
    assert!(
        answer.contains("first\n") && answer.contains("second\n"),
        "{answer}"
    );
    shutdown.cancel();
}
