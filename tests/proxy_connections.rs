//! End to end: the proxy's client connections through the real daemon: restarts by handoff
//! that drop no request, and slow or idle clients (HTTP/1.1 and HTTP/2) that are disconnected.

mod support;

use support::{repo, Berth};

#[test]
fn a_handoff_waits_for_a_running_deploy_and_the_new_process_serves_its_release() {
    let mut berth = Berth::start();
    let app = berth.app("busy");
    let source = repo::create(&repo::as_refs(&repo::web_app("first")));
    berth.push(source.path(), &app, "main").ok();
    repo::commit_slow(source.path(), "second", 3);
    let mut pushing = berth.push_spawn(source.path(), &app, "main");
    let lines = support::wait_for_line(&mut pushing, "Building");
    berth.hand_over();
    let output: Vec<String> = lines.collect();
    assert!(pushing.wait().expect("push").success(), "{output:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "second\n");
    assert!(
        berth.log().contains("waiting for the running deploys"),
        "{}",
        berth.log()
    );
}

/// The load's clients never send a request again, as a load balancer in front may not: a
/// keep-alive connection the old process closed while a request was on its way would fail it.
#[test]
fn a_restart_by_handoff_drops_no_request() {
    let mut berth = Berth::start();
    let app = berth.deployed("handoff", "steady");
    let load = support::load::Load::start(berth.http, &Berth::host(&app), 16);
    load.wait_for_more(200);
    berth.hand_over();
    load.wait_for_more(500);
    let samples = load.stop();
    let failures: Vec<_> = samples.iter().filter(|s| s.outcome.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed, e.g. {:?}",
        failures.len(),
        samples.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(samples
        .iter()
        .all(|s| s.outcome.as_deref() == Ok("steady\n")));
    let listed = berth.ssh("apps:list").ok();
    assert!(
        listed.stdout.contains(&app),
        "the new daemon answers commands: {listed:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "steady\n");
}

/// Reads until the proxy closes `stream` (at most 20 s): what it sent, or None if still open.
fn until_closed(mut stream: std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut seen = Vec::new();
    stream.read_to_end(&mut seen).ok()?;
    Some(String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn slow_and_idle_clients_are_disconnected() {
    use std::io::Write;
    let berth = Berth::start_configured("", "client_header_timeout_secs = 1");
    let app = berth.deployed("patient", "served");
    let host = Berth::host(&app);

    let mut slow = std::net::TcpStream::connect(berth.http).unwrap();
    slow.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
        .unwrap();
    let answer = until_closed(slow).expect("a client that never finishes its headers is cut off");
    assert!(!answer.contains("served"), "{answer}");

    let mut idle = std::net::TcpStream::connect(berth.http).unwrap();
    idle.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let answer = until_closed(idle).expect("an idle keep-alive connection is closed");
    assert!(answer.ends_with("served\n"), "{answer}");

    // An HTTP/2 connection (TLS, ALPN h2) that sends nothing is closed too.
    berth.ssh(&format!("certs:generate {app}")).ok();
    h2_until_closed(&berth, &host, &[]);

    // One that served a request and then sends nothing gets a GOAWAY, then is closed.
    let frames = h2_until_closed(&berth, &host, &h2_get(&host));
    let kinds: Vec<u8> = frames.iter().map(|(kind, _)| *kind).collect();
    assert!(
        frames
            .iter()
            .any(|(kind, payload)| *kind == 0 && payload == b"served\n"),
        "the request is answered: {kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&7), "then GOAWAY: {kinds:?}");
}

/// HTTP/2 frame `kind` with `flags` on `stream`.
fn h2_frame(kind: u8, flags: u8, stream: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut frame = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    frame.extend([0, 0, 0, stream]);
    frame.extend(payload);
    frame
}

/// The client preface, SETTINGS and one GET for `/` on `host`.
fn h2_get(host: &str) -> Vec<u8> {
    // HPACK: :method GET, :scheme https, :path / (static table), :authority as a literal.
    let mut headers = vec![0x82, 0x87, 0x84, 0x41, u8::try_from(host.len()).unwrap()];
    headers.extend(host.as_bytes());
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend(h2_frame(4, 0, 0, &[]));
    bytes.extend(h2_frame(1, 0x5, 1, &headers));
    bytes
}

/// Over TLS with ALPN h2, sends `bytes` and then nothing more (stdin stays open); returns the
/// frames (type, payload) the proxy sent before it closed the connection, which it must within
/// 20 s.
fn h2_until_closed(berth: &Berth, host: &str, bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    use std::io::{Read, Write};
    let mut client = std::process::Command::new("openssl")
        .args(["s_client", "-quiet", "-alpn", "h2", "-servername", host])
        .arg("-connect")
        .arg(berth.https.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run openssl");
    let mut stdin = client.stdin.take().expect("stdin");
    stdin.write_all(bytes).unwrap();
    stdin.flush().unwrap();
    let mut stdout = client.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let _ = stdout.read_to_end(&mut seen);
        seen
    });
    let closed = support::eventually(std::time::Duration::from_secs(20), || {
        matches!(client.try_wait(), Ok(Some(_)))
    });
    let _ = client.kill();
    let _ = client.wait();
    drop(stdin);
    let all = reader.join().expect("reader");
    assert!(closed, "the idle HTTP/2 connection is closed: {all:?}");
    let mut rest = &all[..];
    let mut frames = Vec::new();
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        let end = (9 + len).min(rest.len());
        frames.push((rest[3], rest[9..end].to_vec()));
        rest = &rest[end..];
    }
    frames
}
