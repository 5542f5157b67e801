//! End to end: certificates (certs:*, SNI, the HTTPS redirect, HSTS, HTTP/2), the URLs an app
//! answers on, and port mappings with their extra listeners, through the real daemon, openssl
//! and curl.

mod support;

use support::http::{free_port, get_on};
use support::{repo, Berth};

fn openssl_cert_tar(dir: &std::path::Path, host: &str) -> Vec<u8> {
    let status = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.crt",
            "-days",
            "30",
        ])
        .args([
            "-subj",
            &format!("/CN={host}"),
            "-addext",
            &format!("subjectAltName=DNS:{host}"),
        ])
        .output()
        .expect("run openssl");
    assert!(status.status.success(), "{status:?}");
    cert_tar(dir)
}

/// `server.crt` and `server.key` in `dir`, as the tar `certs:add` reads.
fn cert_tar(dir: &std::path::Path) -> Vec<u8> {
    let output = std::process::Command::new("tar")
        .current_dir(dir)
        .args(["-c", "server.crt", "server.key"])
        .output()
        .expect("run tar");
    output.stdout
}

/// Runs the real openssl in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

#[test]
fn certs_report_says_whether_a_trusted_authority_signed_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let root = [
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.crt"],
    ]
    .concat();
    openssl(
        dir.path(),
        &[&root[..], &["-days", "30", "-subj", "/CN=Berth Test Root"]].concat(),
    );
    let berth =
        Berth::start_with_env(&[("SSL_CERT_FILE", dir.path().join("ca.crt").to_str().unwrap())]);
    let app = berth.app("trusted");
    berth.ssh(&format!("apps:create {app}")).ok();
    let host = Berth::host(&app);
    let request = [
        &["req"][..],
        &ec,
        &["-keyout", "server.key", "-out", "server.csr"],
    ]
    .concat();
    openssl(
        dir.path(),
        &[&request[..], &["-subj", &format!("/CN={host}")]].concat(),
    );
    std::fs::write(
        dir.path().join("ext.cnf"),
        format!("subjectAltName=DNS:{host}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        dir.path(),
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
        ],
    );
    berth
        .ssh_input(&format!("certs:add {app}"), &cert_tar(dir.path()))
        .ok();
    let verified = berth
        .ssh(&format!("certs:report {app} --ssl-verified"))
        .ok();
    assert_eq!(verified.stdout, "verified by a certificate authority\n");

    berth.ssh(&format!("certs:generate {app}")).ok();
    let verified = berth
        .ssh(&format!("certs:report {app} --ssl-verified"))
        .ok();
    assert_eq!(verified.stdout, "self signed\n");
}

#[test]
fn https_picks_each_apps_certificate_by_sni_and_redirects_plain_http() {
    let berth = Berth::start();
    let shop = berth.deployed("tlsshop", "secure shop");
    let blog = berth.deployed("tlsblog", "secure blog");
    let (shop_host, blog_host) = (Berth::host(&shop), Berth::host(&blog));

    let generated = berth.ssh(&format!("certs:generate {shop}")).ok();
    assert!(generated.stdout.contains("self-signed"), "{generated:#?}");
    let dir = tempfile::tempdir().unwrap();
    let tar = openssl_cert_tar(dir.path(), &blog_host);
    berth.ssh_input(&format!("certs:add {blog}"), &tar).ok();

    let shop_tls = berth.curl_https(&shop_host, "/", &["-v", "--http2"]);
    assert_eq!(shop_tls.code, 0, "{shop_tls:#?}");
    assert!(shop_tls.stdout.ends_with("secure shop\n"), "{shop_tls:#?}");
    assert!(
        shop_tls.stdout.starts_with("HTTP/2 200"),
        "HTTP/2 by ALPN: {shop_tls:#?}"
    );
    assert!(
        shop_tls.stderr.contains(&format!("CN={shop_host}")),
        "{shop_tls:#?}"
    );
    assert!(
        shop_tls
            .stdout
            .contains("strict-transport-security: max-age=15724800; includeSubDomains\r\n"),
        "Dokku's header: {shop_tls:#?}"
    );
    // Over HTTP/2 too, header lists up to [proxy] client_max_header_size (32k) pass, and
    // larger ones are refused.
    for (bytes, status) in [(24 << 10, "HTTP/2 200"), (40 << 10, "HTTP/2 431")] {
        let big = format!("X-Big: {}", "b".repeat(bytes));
        let answer = berth.curl_https(&shop_host, "/", &["--http2", "-H", &big]);
        assert!(
            answer.stdout.starts_with(status),
            "{bytes}: {}",
            &answer.stdout[..answer.stdout.len().min(300)]
        );
    }
    berth
        .ssh(&format!("nginx:set {shop} hsts-include-subdomains false"))
        .ok();
    berth
        .ssh(&format!("nginx:set {shop} hsts-preload true"))
        .ok();
    let preload = berth.curl_https(&shop_host, "/", &["-v", "--http2"]);
    assert!(
        preload
            .stdout
            .contains("strict-transport-security: max-age=15724800; preload\r\n"),
        "{preload:#?}"
    );
    let shown = berth
        .ssh(&format!("nginx:report {shop} --nginx-hsts-preload"))
        .ok();
    assert_eq!(shown.stdout, "true\n");
    let blog_tls = berth.curl_https(&blog_host, "/", &["-v", "--http1.1"]);
    assert!(blog_tls.stdout.ends_with("secure blog\n"), "{blog_tls:#?}");
    assert!(
        blog_tls.stderr.contains(&format!("CN={blog_host}")),
        "{blog_tls:#?}"
    );

    let plain = berth.get(&shop_host, "/some/page?x=1");
    assert_eq!(plain.status, 301);
    assert_eq!(
        plain.header("location"),
        Some(format!("https://{shop_host}:{}/some/page?x=1", berth.https.port()).as_str())
    );
    berth.ssh(&format!("certs:set {shop} redirect false")).ok();
    assert_eq!(berth.get(&shop_host, "/").body, "secure shop\n");

    let report = berth.ssh(&format!("certs:report {blog}")).ok();
    assert!(report.stdout.contains(&blog_host), "{report:#?}");
    assert!(
        report
            .stdout
            .contains("Ssl enabled:                   true"),
        "{report:#?}"
    );

    for part in ["crt", "key"] {
        let shown = berth.ssh(&format!("certs:show {blog} {part}")).ok().stdout;
        let file = std::fs::read_to_string(dir.path().join(format!("server.{part}"))).unwrap();
        assert_eq!(shown, file, "certs:show {part} prints the PEM as added");
    }
    let bad_part = berth.ssh(&format!("certs:show {blog} pem"));
    assert_eq!(bad_part.code, 1);
    assert!(bad_part.stderr.contains("crt or key"), "{bad_part:#?}");

    let mismatched = berth.ssh_input(&format!("certs:add {shop}"), b"not a tar");
    assert_ne!(mismatched.code, 0);
    assert!(
        mismatched.stderr.contains("server.crt and server.key"),
        "{mismatched:#?}"
    );

    berth.ssh(&format!("certs:remove {blog}")).ok();
    let none = berth.ssh(&format!("certs:show {blog} crt"));
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("has no certificate"), "{none:#?}");
    let gone = berth.curl_https(&blog_host, "/", &[]);
    assert_ne!(gone.code, 0, "no certificate, no handshake: {gone:#?}");
    assert_eq!(
        berth.get(&blog_host, "/").body,
        "secure blog\n",
        "no redirect either"
    );
}

/// Fetches each URL (one per line, on this machine) and checks it answers `body`, not a redirect.
fn every_url_serves(urls: &str, body: &str) {
    for url in urls.lines() {
        let authority = url.split_once("://").unwrap().1;
        let resolve = format!("{authority}:127.0.0.1");
        let fetched = std::process::Command::new("curl")
            .args(["-sSk", "--max-time", "30", "--resolve", &resolve, url])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&fetched.stdout),
            body,
            "{url}: {fetched:?}"
        );
    }
}

#[test]
fn urls_name_every_way_to_reach_an_app() {
    let berth = Berth::start();
    let app = berth.deployed("urls", "reached");
    let host = Berth::host(&app);
    let urls = berth.ssh(&format!("urls {app}")).ok().stdout;
    assert_eq!(urls, format!("http://{host}:{}\n", berth.http.port()));
    every_url_serves(&urls, "reached\n");

    let www = format!("www.{host}");
    let (http, https) = (free_port(), free_port());
    berth
        .ssh(&format!("domains:add {app} {www} '*.{host}'"))
        .ok();
    berth
        .ssh(&format!(
            "ports:add {app} http:{http}:5000 https:{https}:5000 tcp:{}:5000",
            free_port()
        ))
        .ok();
    berth.ssh(&format!("certs:generate {app}")).ok();
    let main_https = berth.https.port();
    let enabled = berth.ssh(&format!("certs:report {app} --ssl-enabled"));
    assert_eq!(enabled.ok().stdout, "true\n");
    let dir = berth
        .ssh(&format!("certs:report {app} --ssl-dir"))
        .ok()
        .stdout;
    let dir = std::path::Path::new(dir.trim_end());
    assert!(
        dir.join("server.crt").is_file(),
        "{dir:?} holds the certificate"
    );
    let json = berth
        .ssh(&format!("certs:report --format json {app}"))
        .ok()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&json).expect("one JSON object");
    assert_eq!(json["ssl-enabled"], "true");
    assert_eq!(json["ssl-hostnames"], format!("{host} {www} *.{host}"));
    let urls = berth.ssh(&format!("urls {app}")).ok().stdout;
    let expected: String = [&host, &www]
        .iter()
        .map(|h| format!("https://{h}:{main_https}\nhttps://{h}:{https}\n"))
        .collect();
    assert_eq!(
        urls, expected,
        "plain HTTP redirects; wildcards and TCP ports are not URLs"
    );
    every_url_serves(&urls, "reached\n");

    // The live route, as nginx:show-config shows it.
    let shown = berth.ssh(&format!("nginx:show-config {app}")).ok().stdout;
    let row = |label: &str| {
        shown
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(&format!("{label}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {label} row: {shown}"))
            .to_string()
    };
    assert_eq!(row("Hosts"), format!("*.{host} {host} {www}"), "{shown}");
    assert!(row("Upstreams").starts_with("web.1 "), "{shown}");
    assert_eq!(row("Down"), "none");
    assert_eq!(row("Https redirect"), format!("to port {main_https}"));
    assert_eq!(row("Urls"), urls.trim_end().replace('\n', " "));

    berth.ssh(&format!("certs:set {app} redirect false")).ok();
    let urls = berth.ssh(&format!("urls {app}")).ok().stdout;
    let main_http = berth.http.port();
    let mut extra = [(http, "http"), (https, "https")];
    extra.sort();
    let expected: String = [&host, &www]
        .iter()
        .map(|h| {
            let [(first, a), (second, b)] = extra;
            format!(
                "https://{h}:{main_https}\nhttp://{h}:{main_http}\n\
                 {a}://{h}:{first}\n{b}://{h}:{second}\n"
            )
        })
        .collect();
    assert_eq!(urls, expected);
    every_url_serves(&urls, "reached\n");
    let first = berth.ssh(&format!("url {app}")).ok().stdout;
    assert_eq!(first, format!("https://{host}:{main_https}\n"));
    assert_eq!(berth.ssh("urls nosuch").code, 20);
}

#[test]
fn port_mappings_pick_the_port_the_app_listens_on() {
    let berth = Berth::start();
    let app = berth.app("ports");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth.ssh(&format!("ports:set {app} http:80:3000")).ok();
    let fixed = [
        (
            "Dockerfile",
            "FROM berth-base/busybox:latest\nCOPY www /www\nCMD [\"httpd\", \"-f\", \"-p\", \"3000\", \"-h\", \"/www\"]\n",
        ),
        ("www/index.html", "on 3000\n"),
    ];
    berth.push(repo::create(&fixed).path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "on 3000\n");
    let list = berth.ssh(&format!("ports:list {app}")).ok();
    assert!(list.stdout.contains("http    80         3000"), "{list:#?}");

    let bad = berth.ssh(&format!("ports:add {app} http:443:3000"));
    assert!(bad.stderr.contains("Invalid port mapping"), "{bad:#?}");

    let other = berth.deployed("ports2", "follows PORT");
    let moved = berth.ssh(&format!("ports:set {other} http:80:4000")).ok();
    assert!(
        moved.stdout.contains("Deploying"),
        "a change is a release: {moved:#?}"
    );
    let env = berth.get(&Berth::host(&other), "/cgi-bin/env").body;
    assert!(env.contains("PORT=4000"), "{env}");
    let report = berth.ssh(&format!("ports:report {other}")).ok();
    assert!(report.stdout.contains("http:80:4000"), "{report:#?}");
}

#[test]
fn extra_http_https_and_tcp_ports_open_at_once_and_survive_restarts_and_handoffs() {
    let mut berth = Berth::start();
    let app = berth.deployed("extra", "on many ports");
    let other = berth.deployed("other", "not mapped");
    let host = Berth::host(&app);
    let (http, https, tcp) = (free_port(), free_port(), free_port());
    let added = berth
        .ssh(&format!(
            "ports:add {app} http:{http}:5000 https:{https}:5000 tcp:{tcp}:5000"
        ))
        .ok();
    assert!(
        !added.stdout.contains("Deploying"),
        "PORT did not change: {added:#?}"
    );
    assert!(get_on(http, Some(&host)).contains("on many ports"));
    assert!(
        get_on(http, Some(&Berth::host(&other))).starts_with("HTTP/1.0 404"),
        "an app answers only on the ports it maps"
    );
    assert!(
        get_on(tcp, None).contains("on many ports"),
        "passthrough needs no Host"
    );
    berth.ssh(&format!("certs:generate {app}")).ok();
    berth.ssh(&format!("certs:set {app} redirect false")).ok();
    let secure = std::process::Command::new("curl")
        .args(["-sSk", "--resolve", &format!("{host}:{https}:127.0.0.1")])
        .arg(format!("https://{host}:{https}/"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&secure.stdout), "on many ports\n");

    // An extra listener added without a restart goes without one too.
    let extra = free_port();
    for verb in ["ports:add", "ports:remove"] {
        let changed = berth.ssh(&format!("{verb} {other} http:{extra}:5000")).ok();
        assert!(!changed.stdout.contains("Deploying"), "{changed:#?}");
    }
    let taken = berth.ssh(&format!("ports:add {other} tcp:{tcp}:5000"));
    assert!(taken.stderr.contains("already used by app"), "{taken:#?}");
    let clash = berth.ssh(&format!("ports:add {other} https:{http}:5000"));
    assert!(clash.stderr.contains("is already http"), "{clash:#?}");
    let busy = berth.ssh(&format!("ports:add {other} tcp:{}:22", berth.ssh_port));
    assert!(busy.stderr.contains("cannot listen on port"), "{busy:#?}");
    assert!(
        !berth
            .ssh(&format!("ports:report {other}"))
            .ok()
            .stdout
            .contains("tcp:"),
        "a port that cannot open is not stored"
    );

    berth.restart();
    assert!(
        get_on(tcp, None).contains("on many ports"),
        "opened again at start"
    );
    berth.hand_over();
    let after = get_on(http, Some(&host));
    assert!(
        after.contains("on many ports"),
        "{after:?}\n{}",
        berth.log()
    );
    assert!(get_on(tcp, None).contains("on many ports"));

    berth
        .ssh(&format!("ports:remove {app} tcp:{tcp}:5000"))
        .ok();
    let closed = support::eventually(std::time::Duration::from_secs(10), || {
        get_on(tcp, None) == "refused"
    });
    assert!(closed, "the TCP port closes");
    assert!(get_on(http, Some(&host)).contains("on many ports"));

    berth
        .ssh(&format!(
            "ports:set {app} http:80:5000 https:{http}:5000 https:{https}:5000"
        ))
        .ok();
    let switched = std::process::Command::new("curl")
        .args(["-sSk", "--resolve", &format!("{host}:{http}:127.0.0.1")])
        .arg(format!("https://{host}:{http}/"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&switched.stdout),
        "on many ports\n",
        "one ports:set turns an HTTP port into an HTTPS one: {switched:?}"
    );

    // Dokku's short form: a bare host port removes its mappings.
    let removed = berth.ssh(&format!("ports:remove {app} {http}")).ok();
    assert!(
        removed.stdout.contains(&format!("https:{https}:5000"))
            && !removed.stdout.contains(&format!(":{http}:")),
        "{removed:#?}"
    );
    let closed = support::eventually(std::time::Duration::from_secs(10), || {
        get_on(http, None) == "refused"
    });
    assert!(closed, "the port closes");
}

/// One TLS 1.2 handshake with `openssl s_client` for `host`, resuming the session in
/// `session_in` if given and saving it to `session_out` if given; what s_client printed.
fn tls12_handshake(
    berth: &Berth,
    host: &str,
    session_in: Option<&std::path::Path>,
    session_out: Option<&std::path::Path>,
) -> String {
    let mut command = std::process::Command::new("openssl");
    command
        .args(["s_client", "-tls1_2", "-connect"])
        .arg(berth.https.to_string())
        .args(["-servername", host]);
    if let Some(path) = session_in {
        command.arg("-sess_in").arg(path);
    }
    if let Some(path) = session_out {
        command.arg("-sess_out").arg(path);
    }
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl s_client");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn tls_sessions_resume_however_many_clients_came_since() {
    let berth = Berth::start();
    let app = berth.deployed("resume", "resumed");
    let host = Berth::host(&app);
    berth.ssh(&format!("certs:generate {app}")).ok();
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("session.pem");
    let first = tls12_handshake(&berth, &host, None, Some(&session));
    assert!(first.contains("New, TLSv1.2"), "{first}");
    // More clients than a server-side session cache of a few hundred entries keeps.
    for _ in 0..300 {
        tls12_handshake(&berth, &host, None, None);
    }
    let again = tls12_handshake(&berth, &host, Some(&session), None);
    assert!(again.contains("Reused, TLSv1.2"), "{again}");
}
