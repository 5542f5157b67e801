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

use super::{serve, Routes};
use crate::names::AppName;

/// A keep-alive HTTP/1.1 backend that answers `body` and counts the connections it accepts.
async fn backend(body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(body))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

async fn start_proxy(routes: Arc<Routes>) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    tokio::spawn(serve(
        listener,
        routes,
        std::time::Duration::from_secs(5),
        shutdown.clone(),
        tracker.clone(),
    ));
    (addr, shutdown)
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
    let routes = Arc::new(Routes::default());
    routes.set_app(&app("shop"), &["shop.test".into()], vec![upstream]);
    let (proxy, shutdown) = start_proxy(routes).await;
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
    routes.set_app(&app("shop"), &["shop.test".into()], vec![old]);
    let (proxy, shutdown) = start_proxy(routes.clone()).await;
    assert!(get(proxy, "shop.test").await.ends_with("old"));
    routes.set_app(&app("shop"), &["shop.test".into()], vec![new]);
    assert!(get(proxy, "shop.test").await.ends_with("new"));
    shutdown.cancel();
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_naming_the_app() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let routes = Arc::new(Routes::default());
    routes.set_app(&app("shop"), &["shop.test".into()], vec![addr]);
    let (proxy, shutdown) = start_proxy(routes).await;
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
    routes.set_app(&app("shop"), &["shop.test".into()], vec![new]);
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
    routes.set_app(&app("shop"), &["shop.test".into()], vec![dead, alive]);
    let (proxy, shutdown) = start_proxy(routes).await;
    for _ in 0..6 {
        let response = get(proxy, "shop.test").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("alive"), "{response}");
    }
    shutdown.cancel();
}
