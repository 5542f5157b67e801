//! The proxy's protocol handling end to end: the real daemon in front of a real app container
//! (`tests/apps/protocol`), driven by curl and by hand-written HTTP and WebSocket clients on
//! plain sockets.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{repo, Berth};

/// curl with `Host: host` and `stdin` as the upload, if any; what it printed.
fn curl(host: &str, args: &[&str], stdin: Option<Vec<u8>>) -> String {
    let mut child = Command::new("curl")
        .args(["-sS", "-H", &format!("Host: {host}")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run curl");
    let input = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let mut input = input;
        if let Some(bytes) = stdin {
            let _ = input.write_all(&bytes);
        }
    });
    let output = child.wait_with_output().expect("curl output");
    writer.join().expect("stdin writer");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Reads from `stream` until `wanted` shows up or 20 s pass; everything read.
fn read_until(stream: &mut TcpStream, wanted: &[u8]) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(wanted.len()).any(|w| w == wanted) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

/// Opens a WebSocket to the protocol app's `/ws` through the proxy (RFC 6455's example key).
fn websocket(berth: &Berth, host: &str) -> TcpStream {
    let mut ws = TcpStream::connect(berth.http).unwrap();
    write!(
        ws,
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let handshake = String::from_utf8_lossy(&read_until(&mut ws, b"\r\n\r\n")).into_owned();
    assert!(handshake.starts_with("HTTP/1.1 101"), "{handshake}");
    assert!(
        handshake.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{handshake}"
    );
    ws
}

/// Sends `payload` as a masked text frame and checks the app echoes it.
fn echo(ws: &mut TcpStream, payload: &[u8]) {
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    ws.write_all(&frame).unwrap();
    let echoed = read_until(ws, payload);
    assert_eq!(echoed[..2], [0x81, payload.len() as u8], "{echoed:?}");
    assert_eq!(&echoed[2..], payload);
}

#[test]
fn dead_websocket_tunnels_do_not_pile_up() {
    let berth = Berth::start();
    let app = berth.app("tunnel");
    let source = repo::protocol_app();
    berth.push(source.path(), &app, "main").ok();
    berth
        .ssh(&format!("nginx:set {app} proxy-read-timeout 2s"))
        .ok();
    let mut ws = websocket(&berth, &Berth::host(&app));
    echo(&mut ws, b"alive");
    // Silent from both sides: the proxy closes the tunnel after the app's read timeout.
    ws.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 16];
    let read = ws.read(&mut buf);
    assert!(
        matches!(read, Ok(0)),
        "the idle tunnel stayed open: {read:?}"
    );
    assert!(support::eventually(Duration::from_secs(10), || berth
        .log()
        .contains("closing an idle upgraded connection")));
}

#[test]
fn headers_bodies_streams_and_websockets_pass_through_the_proxy() {
    let berth = Berth::start();
    let app = berth.app("protocol");
    let source = repo::protocol_app();
    berth.push(source.path(), &app, "main").ok();
    let host = Berth::host(&app);
    let url = |path: &str| format!("http://{}{path}", berth.http);

    // Forwarding headers, and the client's request id kept (or one made up). Names with
    // underscores (an app reading `HTTP_X_FORWARDED_FOR` could take `X_Forwarded_For` for the
    // proxy's) and an `X-Forwarded-Ssl` Berth did not set are dropped.
    let headers = curl(
        &host,
        &[
            "-H",
            "X-Request-Id: trace-1",
            "-H",
            "X_Forwarded_For: 6.6.6.6",
            "-H",
            "X-Forwarded-Ssl: on",
            &url("/headers"),
        ],
        None,
    );
    for line in [
        format!("host: {host}"),
        "x-forwarded-for: 127.0.0.1".to_string(),
        "x-forwarded-proto: http".to_string(),
        format!("x-forwarded-port: {}", berth.http.port()),
        "x-request-id: trace-1".to_string(),
    ] {
        assert!(headers.contains(&line), "no {line:?} in {headers}");
    }
    assert!(!headers.contains("6.6.6.6"), "{headers}");
    assert!(!headers.contains("x-forwarded-ssl"), "{headers}");
    let made_up = curl(&host, &[&url("/headers")], None);
    let id = made_up
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no request id: {made_up}"));
    assert!(id.len() >= 16, "{id}");

    // Text goes out gzip-compressed to clients that take it, as with Dokku's nginx; short or
    // binary responses, and responses to clients that do not take gzip, as the app sent them.
    let head = |path: &str, gzip: bool| {
        let accept = if gzip {
            "Accept-Encoding: gzip"
        } else {
            "X-No: gzip"
        };
        curl(
            &host,
            &["-D", "-", "-o", "/dev/null", "-H", accept, &url(path)],
            None,
        )
        .to_ascii_lowercase()
    };
    let compressed = head("/text/5000", true);
    assert!(
        compressed.contains("content-encoding: gzip\r\n")
            && compressed.contains("vary: accept-encoding\r\n")
            && !compressed.contains("content-length"),
        "{compressed}"
    );
    let text: String = "berth ".chars().cycle().take(5000).collect();
    assert_eq!(
        curl(&host, &["--compressed", &url("/text/5000")], None),
        text
    );
    for (path, gzip) in [
        ("/text/5000", false),
        ("/text/500", true),
        ("/bytes/5000", true),
    ] {
        let plain = head(path, gzip);
        assert!(
            !plain.contains("content-encoding") && plain.contains("content-length: "),
            "{path}: {plain}"
        );
    }

    // Request heads up to [proxy] client_max_header_size (32k) pass; larger ones get a 431.
    let with_header = |bytes: usize| {
        let big = format!("X-Big: {}", "b".repeat(bytes));
        curl(
            &host,
            &["-H", &big, "-w", "%{http_code}", &url("/headers")],
            None,
        )
    };
    let passed = with_header(24 << 10);
    assert!(
        passed.ends_with("200") && passed.contains("x-big: bbbb"),
        "{}",
        &passed[passed.len().saturating_sub(300)..]
    );
    let refused = with_header(40 << 10);
    assert!(
        refused == "431",
        "{}",
        &refused[refused.len().saturating_sub(300)..]
    );

    // A chunked upload streams through; over client_max_body_size (1m) it is a 413 either way.
    let upload = ["-X", "POST", "-T", "-", "-H", "Transfer-Encoding: chunked"];
    let half = curl(
        &host,
        &[&upload[..], &[&url("/upload")]].concat(),
        Some(vec![7; 512 * 1024]),
    );
    assert!(half.contains("received 524288 bytes"), "{half}");
    let status = ["-o", "/dev/null", "-w", "%{http_code}"];
    let chunked = curl(
        &host,
        &[&upload[..], &status, &[&url("/upload")]].concat(),
        Some(vec![7; 2 << 20]),
    );
    assert!(chunked.starts_with("413"), "{chunked}");
    let sized = curl(
        &host,
        &[
            "-X",
            "POST",
            "--data-binary",
            "@-",
            status[0],
            status[1],
            status[2],
            status[3],
            &url("/upload"),
        ],
        Some(vec![7; 2 << 20]),
    );
    assert!(sized.starts_with("413"), "{sized}");

    // Server-sent events arrive as they are sent, not when the response ends (a minute later).
    let mut events = TcpStream::connect(berth.http).unwrap();
    write!(events, "GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let first = String::from_utf8_lossy(&read_until(&mut events, b"data: first")).into_owned();
    assert!(first.contains("data: first"), "not streamed: {first:?}");
    assert!(!first.contains("second"), "{first:?}");

    // A WebSocket: the handshake (RFC 6455's example key and answer), then an echoed frame.
    let mut ws = websocket(&berth, &host);
    echo(&mut ws, b"hello through berth");

    // Over HTTP/2 the client sends no Host header (its :authority says it): the app, spoken to
    // in HTTP/1.1, still gets one.
    berth.ssh(&format!("certs:generate {app} {host}")).ok();
    let h2 = berth.curl_https(&host, "/headers", &["--http2"]);
    assert!(h2.stdout.starts_with("HTTP/2 200"), "{h2:#?}");
    let authority = format!("host: {host}:{}\n", berth.https.port());
    assert!(h2.stdout.contains(&authority), "{h2:#?}");
}

/// Polls `nginx:error-logs app` (at most 30 s) until its last line contains `wanted`.
fn until_error_line(berth: &Berth, app: &str, wanted: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let errors = berth.ssh(&format!("nginx:error-logs {app}")).ok().stdout;
        if errors
            .lines()
            .last()
            .is_some_and(|line| line.contains(wanted))
        {
            return errors;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {wanted:?} in {errors}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn a_client_that_stops_reading_is_cut_off_after_send_timeout() {
    // Compression off, so the large response below is passed as the app sends it.
    let berth = Berth::start_configured("", "gzip = false");
    let app = berth.app("reader");
    berth.push(repo::protocol_app().path(), &app, "main").ok();
    let host = Berth::host(&app);
    let text = curl(
        &host,
        &[
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-H",
            "Accept-Encoding: gzip",
            &format!("http://{}/text/5000", berth.http),
        ],
        None,
    );
    assert!(
        !text.to_ascii_lowercase().contains("content-encoding"),
        "[proxy] gzip = false: {text}"
    );
    berth.ssh(&format!("nginx:set {app} send-timeout 1s")).ok();
    let report = berth.ssh(&format!("nginx:report {app}")).ok().stdout;
    assert!(
        report
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["Nginx", "computed", "send", "timeout:", "1s"]),
        "{report}"
    );

    // A response far larger than every socket buffer on the way, which the client never reads.
    const LENGTH: usize = 64 << 20;
    let mut stalled = TcpStream::connect(berth.http).unwrap();
    write!(
        stalled,
        "GET /bytes/{LENGTH} HTTP/1.1\r\nHost: {host}\r\nX-Request-Id: stalled-1\r\n\r\n"
    )
    .unwrap();
    let errors = until_error_line(
        &berth,
        &app,
        "the client took nothing of the response for 1s (send-timeout), client: 127.0.0.1, \
         request: \"GET /bytes/67108864\", id: stalled-1",
    );
    // What was already on its way arrives, then the connection ends short of the response.
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut received = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match stalled.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(err) => {
                assert_ne!(err.kind(), std::io::ErrorKind::WouldBlock, "still open");
                break;
            }
        }
    }
    assert!(
        received > 0 && received < LENGTH,
        "{received} bytes; {errors}"
    );

    // A client that reads it all, however long that takes overall, gets all of it.
    let whole = curl(
        &host,
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            &format!("http://{}/bytes/{LENGTH}", berth.http),
        ],
        None,
    );
    assert_eq!(whole, LENGTH.to_string());
}

#[test]
fn an_idempotent_request_on_a_connection_the_app_closed_goes_out_again() {
    let berth = Berth::start();
    let app = berth.app("stale");
    berth.push(repo::protocol_app().path(), &app, "main").ok();
    let host = Berth::host(&app);
    // Two requests on one client connection (so one proxy worker and its pool): the second
    // goes out on the connection the first left in the pool, which the app closes unread.
    let twice = |method: &str| {
        let url = format!("http://{}/drop-reused", berth.http);
        curl(
            &host,
            &["-X", method, "-w", "%{http_code}\n", &url, &url],
            None,
        )
    };
    // The app may have acted on a POST before it closed: the client gets the 502.
    assert_eq!(
        twice("POST"),
        format!("protocol app\n200\nApp {app} is not answering\n502\n")
    );
    // A GET goes out again on a new connection.
    assert_eq!(twice("GET"), "protocol app\n200\nprotocol app\n200\n");
    let errors = berth.ssh(&format!("nginx:error-logs {app}")).ok().stdout;
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 2, "{errors}");
    assert!(
        lines[0].contains("request: \"POST /drop-reused\""),
        "{errors}"
    );
    assert!(
        lines[1].contains("closed a kept-alive connection as the request was sent")
            && lines[1].contains("request: \"GET /drop-reused\""),
        "{errors}"
    );
}

#[test]
fn per_app_limits_apply_at_once() {
    let berth = Berth::start();
    let app = berth.app("limits");
    let other = berth.app("unlimited");
    berth.ssh(&format!("apps:create {other}")).ok();
    let source = repo::protocol_app();
    berth.push(source.path(), &app, "main").ok();
    let host = Berth::host(&app);
    let url = |path: &str| format!("http://{}{path}", berth.http);
    let status = ["-o", "/dev/null", "-w", "%{http_code}"];
    let upload = |bytes: usize| {
        curl(
            &host,
            &[
                &["-X", "POST", "--data-binary", "@-"][..],
                &status,
                &[&url("/upload")],
            ]
            .concat(),
            Some(vec![7; bytes]),
        )
    };

    // Larger bodies for this app (the proxy's default is 1m), no reload, no deploy.
    assert!(upload(2 << 20).starts_with("413"));
    berth
        .ssh(&format!("nginx:set {app} client-max-body-size 3M"))
        .ok();
    assert!(upload(2 << 20).starts_with("200"));
    // A global value applies where the app sets none.
    berth
        .ssh("nginx:set --global client-max-body-size 100k")
        .ok();
    assert!(
        upload(2 << 20).starts_with("200"),
        "the app's own value wins"
    );
    berth
        .ssh(&format!("nginx:set {app} client-max-body-size"))
        .ok();
    assert!(upload(200 << 10).starts_with("413"), "the global value");
    berth.ssh("nginx:set --global client-max-body-size").ok();
    assert!(upload(200 << 10).starts_with("200"), "the proxy's default");

    // A shorter wait for the app's answer: 504.
    berth
        .ssh(&format!("nginx:set {app} proxy-read-timeout 1s"))
        .ok();
    let slow = curl(&host, &[&status[..], &[&url("/slow/3")]].concat(), None);
    assert!(slow.starts_with("504"), "{slow}");
    assert!(curl(&host, &[&url("/slow/0")], None).contains("slow"));

    // Why those requests failed, as the app's proxy error lines.
    let errors = berth.ssh(&format!("nginx:error-logs {app}")).ok().stdout;
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 3, "two 413s and a 504: {errors}");
    assert!(
        lines[0].contains(
            "[error] the request body is larger than 1048576 bytes (client-max-body-size), \
             client: 127.0.0.1, request: \"POST /upload\", id: "
        ),
        "{errors}"
    );
    assert!(lines[1].contains("larger than 102400 bytes"), "{errors}");
    assert!(
        lines[2].contains("sent no response headers within 1s (proxy-read-timeout)")
            && lines[2].contains("request: \"GET /slow/3\""),
        "{errors}"
    );
    let none = berth.ssh(&format!("nginx:error-logs {other}")).ok().stdout;
    assert_eq!(none, "", "an app with no failed request has no error lines");
    assert_eq!(berth.ssh("nginx:error-logs no-such-app").code, 20);

    // A client that stops sending the body it announced: 408 once client-body-timeout passes
    // (the app, still waiting for the rest, would otherwise hold it for proxy-read-timeout).
    berth
        .ssh(&format!("nginx:set {app} client-body-timeout 1s"))
        .ok();
    berth
        .ssh(&format!("nginx:set {app} proxy-read-timeout 1h"))
        .ok();
    let mut stalled = TcpStream::connect(berth.http).unwrap();
    write!(
        stalled,
        "POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n0123456789"
    )
    .unwrap();
    let answer = String::from_utf8_lossy(&read_until(&mut stalled, b"in time\n")).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    let errors = berth.ssh(&format!("nginx:error-logs {app}")).ok().stdout;
    assert!(
        errors.lines().last().is_some_and(|line| line.contains(
            "the client sent no request body for 1s (client-body-timeout), client: 127.0.0.1, \
             request: \"POST /upload\""
        )),
        "{errors}"
    );

    // Behind another proxy, the app may take its forwarding headers rather than Berth's view.
    let sent = [
        "-H",
        "X-Forwarded-For: 203.0.113.1",
        "-H",
        "X-Forwarded-Proto: https",
        "-H",
        "X-Forwarded-Port: 443",
    ];
    let seen = || curl(&host, &[&sent[..], &[&url("/headers")]].concat(), None);
    let headers = seen();
    assert!(
        headers.contains("x-forwarded-for: 127.0.0.1\n"),
        "{headers}"
    );
    assert!(headers.contains("x-forwarded-proto: http\n"), "{headers}");
    berth
        .ssh(&format!(
            "nginx:set {app} x-forwarded-for-value '$proxy_add_x_forwarded_for'"
        ))
        .ok();
    berth
        .ssh("nginx:set --global x-forwarded-proto-value '$http_x_forwarded_proto'")
        .ok();
    let headers = seen();
    for line in [
        "x-forwarded-for: 203.0.113.1, 127.0.0.1\n".to_string(),
        "x-forwarded-proto: https\n".to_string(),
        format!("x-forwarded-port: {}\n", berth.http.port()),
    ] {
        assert!(headers.contains(&line), "no {line:?} in {headers}");
    }
    // Behind a load balancer that ends TLS: `X-Forwarded-Ssl: on` for every request, and
    // underscored names passed on when the app asks for them.
    berth
        .ssh(&format!("nginx:set {app} x-forwarded-ssl on"))
        .ok();
    berth
        .ssh("nginx:set --global underscore-in-headers on")
        .ok();
    let sent_by_client = || {
        curl(
            &host,
            &[
                "-H",
                "Api_Key: k1",
                "-H",
                "X-Forwarded-Ssl: off",
                &url("/headers"),
            ],
            None,
        )
    };
    let headers = sent_by_client();
    assert!(headers.contains("x-forwarded-ssl: on\n"), "{headers}");
    assert!(headers.contains("api_key: k1\n"), "{headers}");
    berth
        .ssh(&format!(
            "nginx:set {app} x-forwarded-ssl '$http_x_forwarded_ssl'"
        ))
        .ok();
    berth
        .ssh(&format!("nginx:set {app} underscore-in-headers off"))
        .ok();
    let headers = sent_by_client();
    assert!(headers.contains("x-forwarded-ssl: off\n"), "{headers}");
    assert!(
        !headers.contains("api_key"),
        "the app's own value wins: {headers}"
    );
    let bad = berth.ssh(&format!(
        "nginx:set {app} x-forwarded-for-value '$http_x_real_ip'"
    ));
    assert_eq!(bad.code, 1, "{bad:#?}");
    assert!(bad.stderr.contains("use $remote_addr"), "{bad:#?}");

    // Report rows with their padding squeezed: `Label: value`.
    let report = |app: &str| -> Vec<String> {
        let out = berth.ssh(&format!("nginx:report {app}")).ok().stdout;
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let rows = report(&app);
    for row in [
        "Nginx client max body size:",
        "Nginx computed client max body size: 1m",
        "Nginx proxy read timeout: 1h",
        "Nginx computed proxy read timeout: 1h",
        "Nginx computed client body timeout: 1s",
        "Nginx global proxy read timeout:",
        "Nginx computed x forwarded for value: $proxy_add_x_forwarded_for",
        "Nginx computed x forwarded proto value: $http_x_forwarded_proto",
        "Nginx global x forwarded proto value: $http_x_forwarded_proto",
        "Nginx computed x forwarded port value: $server_port",
        "Nginx computed underscore in headers: off",
        "Nginx global underscore in headers: on",
        "Nginx x forwarded ssl: $http_x_forwarded_ssl",
    ] {
        assert!(rows.iter().any(|r| r == row), "no {row:?} in {rows:#?}");
    }
    let rows = report(&other);
    assert!(
        rows.iter()
            .any(|r| r == "Nginx computed proxy read timeout: 60s"),
        "{rows:#?}"
    );

    let bad = berth.ssh(&format!("nginx:set {app} client-max-body-size lots"));
    assert_eq!(bad.code, 1, "{bad:#?}");
    assert!(
        bad.stderr.contains("Invalid client-max-body-size \"lots\""),
        "{bad:#?}"
    );
    let missing = berth.ssh("nginx:report no-such-app");
    assert_eq!(missing.code, 20, "{missing:#?}");
}
