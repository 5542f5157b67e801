//! End to end: domains and basic auth through the real daemon, its proxy and real containers;
//! route and policy changes apply at once, without a deploy or restart.

mod support;

use support::http::{free_port, get_on};
use support::{repo, Berth};

fn deployed(berth: &Berth, base: &str, marker: &str) -> String {
    let app = berth.app(base);
    let source = repo::create(&repo::as_refs(&repo::web_app(marker)));
    berth.push(source.path(), &app, "main").ok();
    app
}

#[test]
fn domains_route_exact_and_wildcard_hosts_to_one_app_at_a_time() {
    let berth = Berth::start();
    let shop = deployed(&berth, "shop", "the shop");
    let blog = deployed(&berth, "blog", "the blog");
    let (exact, wild) = (format!("{shop}.example"), format!("*.{shop}.example"));

    let added = berth
        .ssh(&format!("domains:add {shop} {exact} {wild}"))
        .ok();
    assert!(added.stdout.contains(&exact), "{added:#?}");
    // Dokku's report info flags: one row's value alone, for scripts.
    let vhosts = berth
        .ssh(&format!("domains:report {shop} --domains-app-vhosts"))
        .ok()
        .stdout;
    assert_eq!(vhosts, format!("{} {exact} {wild}\n", Berth::host(&shop)));
    let every = berth.ssh("domains:report").ok().stdout;
    for app in [&shop, &blog] {
        let block = format!("=====> {app} domains information\n");
        assert!(
            every.contains(&block),
            "no app: every app's report\n{every}"
        );
    }
    let bad = berth.ssh(&format!("domains:report {shop} --domains-vhosts"));
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains(
            "Invalid flag passed, valid flags: --domains-app-enabled, --domains-app-vhosts, \
             --domains-global-enabled, --domains-global-vhosts"
        ),
        "{bad:#?}"
    );
    assert_eq!(berth.get(&exact, "/").body, "the shop\n");
    berth.get_with(&exact, "/?q=1", &[("X-Request-Id", "trace-42")]);
    let line = format!("berth::access: app={shop} id=trace-42 method=GET path=/?q=1 status=200");
    let logged = support::eventually(std::time::Duration::from_secs(10), || {
        berth.log().contains(&line)
    });
    assert!(logged, "a structured access line: {}", berth.log());
    assert_eq!(
        berth.get(&format!("a.b.{shop}.example"), "/").body,
        "the shop\n"
    );
    assert_eq!(
        berth.get(&Berth::host(&shop), "/").body,
        "the shop\n",
        "the default stays"
    );

    let taken = berth.ssh(&format!("domains:add {blog} {exact}"));
    assert_ne!(taken.code, 0);
    assert!(
        taken
            .stderr
            .contains(&format!("Domain {exact} is already used by app {shop}")),
        "{taken:#?}"
    );
    let covered = berth.ssh(&format!("domains:add {blog} api.{shop}.example"));
    assert_ne!(covered.code, 0, "{covered:#?}");
    // A wildcard over the domain an app already has leaves it that app's (exact beats
    // wildcard), and that app can still add domains of its own.
    let blog_host = Berth::host(&blog);
    let over_blog = format!("*.{}", blog_host.split_once('.').unwrap().1);
    berth.ssh(&format!("domains:add {shop} {over_blog}")).ok();
    berth
        .ssh(&format!("domains:add {blog} {blog}.example"))
        .ok();
    assert_eq!(berth.get(&blog_host, "/").body, "the blog\n");
    assert_eq!(
        berth.get(&format!("{blog}.example"), "/").body,
        "the blog\n"
    );
    berth
        .ssh(&format!("domains:remove {shop} {over_blog}"))
        .ok();
    let invalid = berth.ssh(&format!("domains:add {blog} bad_domain"));
    assert!(
        invalid.stderr.contains("is not a valid domain"),
        "{invalid:#?}"
    );

    let report = berth.ssh(&format!("domains:report {shop}")).ok();
    assert!(report.stdout.contains(&wild), "{report:#?}");
    berth.ssh(&format!("domains:disable {shop}")).ok();
    assert_eq!(berth.get(&exact, "/").status, 404);
    berth.ssh(&format!("domains:enable {shop}")).ok();
    assert_eq!(berth.get(&exact, "/").status, 200);
    berth.ssh("domains:disable --all").ok();
    assert_eq!(berth.get(&exact, "/").status, 404);
    assert_eq!(berth.get(&Berth::host(&blog), "/").status, 404);
    berth.ssh("domains:enable --all").ok();
    assert_eq!(berth.get(&exact, "/").status, 200);
    assert_eq!(berth.get(&Berth::host(&blog), "/").body, "the blog\n");

    berth.ssh(&format!("domains:set {shop} {exact}")).ok();
    assert_eq!(berth.get(&Berth::host(&shop), "/").status, 404);
    assert_eq!(berth.get(&format!("a.{shop}.example"), "/").status, 404);
    berth
        .ssh(&format!("domains:add {blog} a.{shop}.example"))
        .ok();
    assert_eq!(
        berth.get(&format!("a.{shop}.example"), "/").body,
        "the blog\n"
    );

    berth.ssh("domains:set-global apps.test").ok();
    berth.ssh(&format!("domains:reset {shop}")).ok();
    assert_eq!(
        berth.get(&format!("{shop}.apps.test"), "/").body,
        "the shop\n"
    );
    assert_eq!(berth.get(&Berth::host(&shop), "/").status, 404);
    let global = berth.ssh("domains:report --global").ok();
    assert!(global.stdout.contains("apps.test"), "{global:#?}");
}

#[test]
fn basic_auth_guards_an_app_and_survives_a_restart() {
    let mut berth = Berth::start();
    let app = deployed(&berth, "private", "private page");
    let host = Berth::host(&app);
    let refused = berth.ssh(&format!("http-auth:enable {app}"));
    assert!(refused.stderr.contains("has no users yet"), "{refused:#?}");
    berth
        .ssh(&format!("http-auth:enable {app} ann 's3cret pass'"))
        .ok();
    let denied = berth.get(&host, "/");
    assert_eq!(denied.status, 401);
    assert!(
        denied
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("Basic"),
        "{denied:#?}"
    );
    // "ann:s3cret pass" in base64.
    let good = [("Authorization", "Basic YW5uOnMzY3JldCBwYXNz")];
    assert_eq!(berth.get_with(&host, "/", &good).body, "private page\n");
    let wrong = [("Authorization", "Basic YW5uOndyb25n")];
    assert_eq!(berth.get_with(&host, "/", &wrong).status, 401);

    let state =
        std::fs::read_to_string(berth.data_dir().join(format!("apps/{app}/app.toml"))).unwrap();
    assert!(!state.contains("s3cret"), "the password is stored hashed");
    let report = berth.ssh(&format!("http-auth:report {app}")).ok();
    assert!(report.stdout.contains("ann"), "{report:#?}");

    berth.restart();
    assert_eq!(
        berth.get(&host, "/").status,
        401,
        "still guarded after a restart"
    );
    berth
        .ssh(&format!("http-auth:add-allowed-ip {app} 127.0.0.0/8"))
        .ok();
    assert_eq!(berth.get(&host, "/").status, 200);
    berth
        .ssh(&format!("http-auth:remove-allowed-ip {app} 127.0.0.0/8"))
        .ok();
    assert_eq!(berth.get(&host, "/").status, 401);
    berth.ssh(&format!("http-auth:disable {app}")).ok();
    assert_eq!(berth.get(&host, "/").status, 200);
}

#[test]
fn maintenance_mode_answers_503_until_turned_off_and_survives_a_restart() {
    let mut berth = Berth::start();
    let app = deployed(&berth, "upkeep", "open for business");
    let host = Berth::host(&app);
    berth.ssh(&format!("maintenance:on {app}")).ok();
    let down = berth.get(&host, "/");
    assert_eq!(down.status, 503, "{down:#?}");
    assert_eq!(
        down.body,
        format!("{app} is down for maintenance; try again shortly\n")
    );
    assert_eq!(down.header("retry-after"), Some("60"));
    let enabled = berth.ssh(&format!("maintenance:report {app} --maintenance-enabled"));
    assert_eq!(enabled.ok().stdout, "true\n");

    // The maintenance plugin's custom page: a tar holding maintenance.html, made by real tar.
    let dir = tempfile::tempdir().expect("temp dir");
    let page = "<!doctype html><h1>Back at five</h1>\n";
    std::fs::create_dir(dir.path().join("maintenance")).expect("mkdir");
    std::fs::write(dir.path().join("maintenance/maintenance.html"), page).expect("write");
    std::fs::write(dir.path().join("maintenance/style.css"), "h1{color:red}").expect("write");
    let tar = std::process::Command::new("tar")
        .current_dir(dir.path())
        .args(["-cf", "-", "maintenance"])
        .output()
        .expect("tar");
    assert!(tar.status.success(), "{tar:?}");
    berth
        .ssh_input(&format!("maintenance:custom-page {app}"), &tar.stdout)
        .ok();
    let custom = berth.get(&host, "/");
    assert_eq!((custom.status, custom.body.as_str()), (503, page));
    assert_eq!(
        custom.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    let style = berth.get(&host, "/style.css");
    assert_eq!(
        (style.status, style.body.as_str()),
        (200, "h1{color:red}"),
        "the page's stylesheet is served"
    );
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );

    berth.restart();
    let after = berth.get(&host, "/");
    assert_eq!(
        (after.status, after.body.as_str()),
        (503, page),
        "still on, with its page, after a restart"
    );
    assert_eq!(berth.get(&host, "/style.css").status, 200);
    berth
        .ssh_input(&format!("maintenance:custom-page {app}"), b"")
        .ok();
    assert!(berth
        .get(&host, "/")
        .body
        .contains("is down for maintenance"));
    assert_eq!(
        berth.get(&host, "/style.css").status,
        503,
        "its files went with it"
    );
    berth.ssh(&format!("maintenance:off {app}")).ok();
    assert_eq!(berth.get(&host, "/").body, "open for business\n");
    assert_eq!(berth.ssh("maintenance:on no-such-app").code, 20);

    // Dokku's habit after such changes; nothing to build here.
    let built = berth.ssh(&format!("proxy:build-config {app}")).ok();
    assert!(built.stdout.contains("no config to build"), "{built:#?}");
    berth.ssh("proxy:build-config --all").ok();
    assert_eq!(berth.ssh("proxy:build-config no-such-app").code, 20);
}

/// A certificate for `host` made by the real openssl, as a tar of server.crt and server.key.
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
    let shop = deployed(&berth, "tlsshop", "secure shop");
    let blog = deployed(&berth, "tlsblog", "secure blog");
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
    let app = deployed(&berth, "urls", "reached");
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

    let other = deployed(&berth, "ports2", "follows PORT");
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
    let app = deployed(&berth, "extra", "on many ports");
    let other = deployed(&berth, "other", "not mapped");
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

#[test]
fn proxy_disable_takes_an_app_off_the_proxy_until_enabled_again() {
    let mut berth = Berth::start();
    let app = deployed(&berth, "off", "back on");
    let other = deployed(&berth, "stays", "still served");
    let host = Berth::host(&app);
    let tcp = free_port();
    berth.ssh(&format!("ports:add {app} tcp:{tcp}:5000")).ok();
    assert!(get_on(tcp, None).contains("back on"));

    let disabled = berth.ssh(&format!("proxy:disable {app}")).ok();
    assert!(
        disabled
            .stdout
            .contains(&format!("Disabling proxy for {app}")),
        "{disabled:#?}"
    );
    assert_eq!(berth.get(&host, "/").status, 404);
    let closed = support::eventually(std::time::Duration::from_secs(10), || {
        get_on(tcp, None) == "refused"
    });
    assert!(closed, "its mapped port closes");
    assert_eq!(berth.get(&Berth::host(&other), "/").body, "still served\n");
    let running = berth.ssh(&format!("ps:report {app} --running")).ok();
    assert_eq!(running.stdout.trim(), "true", "its containers keep running");
    let enabled = berth
        .ssh(&format!("proxy:report {app} --proxy-enabled"))
        .ok();
    assert_eq!(enabled.stdout.trim(), "false");
    assert!(berth
        .ssh(&format!("urls {app}"))
        .ok()
        .stdout
        .trim()
        .is_empty());
    let again = berth.ssh(&format!("proxy:disable {app}")).ok();
    assert!(again.stdout.contains("already disabled"), "{again:#?}");

    berth.restart();
    assert_eq!(
        berth.get(&host, "/").status,
        404,
        "still off after a restart"
    );
    assert_eq!(get_on(tcp, None), "refused");
    let claimed = berth.ssh(&format!("ports:add {other} tcp:{tcp}:5000"));
    assert!(
        claimed.stderr.contains("already used by app"),
        "a disabled app keeps its ports: {claimed:#?}"
    );

    let refused = berth.ssh(&format!("proxy:set {app} type caddy"));
    assert!(
        refused.stderr.contains("Proxy type caddy is not available"),
        "{refused:#?}"
    );
    let mapping = berth.ssh(&format!("proxy:set {app} http:80:5000"));
    assert!(
        mapping.stderr.contains("Detected potential port mapping"),
        "{mapping:#?}"
    );
    berth.ssh(&format!("proxy:set {app} type berth")).ok();

    berth.ssh("proxy:enable --all").ok();
    assert_eq!(berth.get(&host, "/").body, "back on\n");
    assert!(
        get_on(tcp, None).contains("back on"),
        "its port opens again"
    );
    let report = berth.ssh("proxy:report").ok();
    assert!(
        report
            .stdout
            .contains(&format!("=====> {other} proxy information"))
            && report.stdout.contains("Proxy computed type:"),
        "{report:#?}"
    );
    let missing = berth.ssh("proxy:disable nosuchapp");
    assert!(
        missing.stderr.contains("App nosuchapp does not exist"),
        "{missing:#?}"
    );
}

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

#[test]
fn a_restart_by_handoff_drops_no_request() {
    let mut berth = Berth::start();
    let app = deployed(&berth, "handoff", "steady");
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
    let app = deployed(&berth, "patient", "served");
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

#[test]
fn access_logs_per_app_and_followed() {
    let berth = Berth::start();
    let shop = deployed(&berth, "logged", "logged");
    let other = deployed(&berth, "quiet", "quiet");
    assert_eq!(berth.get(&Berth::host(&shop), "/shop-page").status, 404);
    assert_eq!(berth.get(&Berth::host(&other), "/other-page").status, 404);

    // Lines are written (and kept) once a second.
    let mut logged = String::new();
    let seen = support::eventually(std::time::Duration::from_secs(10), || {
        logged = berth.ssh(&format!("nginx:access-logs {shop}")).ok().stdout;
        logged.contains("path=/shop-page")
    });
    assert!(seen, "{logged}");
    assert!(logged.contains(&format!("app={shop} ")), "{logged}");
    assert!(logged.contains("status=404"), "{logged}");
    assert!(
        !logged.contains("other-page"),
        "only this app's lines: {logged}"
    );

    // -t: new lines as they are written, until the client goes away.
    let mut follow = berth.ssh_spawn(&format!("nginx:access-logs -t {shop}"));
    let stdout = follow.stdout.take().expect("stdout");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let followed = (0..20).any(|_| {
        berth.get(&Berth::host(&other), "/other-later");
        berth.get(&Berth::host(&shop), "/followed");
        std::iter::from_fn(|| {
            received
                .recv_timeout(std::time::Duration::from_millis(500))
                .ok()
        })
        .any(|line| {
            assert!(!line.contains("other-later"), "another app's line: {line}");
            line.contains("path=/followed")
        })
    });
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(followed, "a new request shows up while following");

    // The proxy's own answers are the app's lines too: basic auth's 401, and the 502 of an app
    // with no running container.
    berth
        .ssh(&format!("http-auth:enable {shop} ann secret"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&shop), "/guarded").status, 401);
    berth.ssh(&format!("http-auth:disable {shop}")).ok();
    berth.ssh(&format!("ps:stop {shop}")).ok();
    assert_eq!(berth.get(&Berth::host(&shop), "/stopped").status, 502);
    let seen = support::eventually(std::time::Duration::from_secs(10), || {
        logged = berth.ssh(&format!("nginx:access-logs {shop}")).ok().stdout;
        logged.contains("path=/guarded status=401") && logged.contains("path=/stopped status=502")
    });
    assert!(seen, "{logged}");
    let errors = berth.ssh(&format!("nginx:error-logs {shop}")).ok().stdout;
    assert!(
        errors.contains(
            "the app has no running instance, client: 127.0.0.1, request: \"GET /stopped\""
        ),
        "the 502's reason: {errors}"
    );
    assert!(
        !errors.contains("/guarded"),
        "a 401 is not an error: {errors}"
    );

    // error-log-path off: the app's failures are not kept while it is off.
    berth
        .ssh(&format!("nginx:set {shop} error-log-path off"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&shop), "/unkept").status, 502);
    let refused = berth.ssh(&format!("nginx:error-logs {shop}"));
    assert!(
        refused
            .stderr
            .contains(&format!("The error log is off for {shop}")),
        "{refused:#?}"
    );
    berth.ssh(&format!("nginx:set {shop} error-log-path")).ok();
    let errors = berth.ssh(&format!("nginx:error-logs {shop}")).ok().stdout;
    assert!(
        errors.contains("/stopped") && !errors.contains("/unkept"),
        "{errors}"
    );

    // access-log-path off: none of the app's lines. Two requests on one connection go through
    // one proxy worker, which writes its lines in order: once the second is in the log, the
    // first would be too.
    berth
        .ssh(&format!("nginx:set {other} access-log-path off"))
        .ok();
    let computed = berth
        .ssh(&format!(
            "nginx:report {other} --nginx-computed-access-log-path"
        ))
        .ok();
    assert_eq!(computed.stdout.trim(), "off");
    let refused = berth.ssh(&format!("nginx:access-logs {other}"));
    assert!(
        refused
            .stderr
            .contains(&format!("The access log is off for {other}")),
        "{refused:#?}"
    );
    let mut stream = std::net::TcpStream::connect(berth.http).unwrap();
    let requests = format!(
        "GET /unlogged HTTP/1.1\r\nHost: {}\r\n\r\nGET /logged-after HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        Berth::host(&other),
        Berth::host(&shop)
    );
    std::io::Write::write_all(&mut stream, requests.as_bytes()).unwrap();
    let mut answers = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answers).unwrap();
    assert_eq!(answers.matches("HTTP/1.1 ").count(), 2, "{answers}");
    let after = support::eventually(std::time::Duration::from_secs(10), || {
        berth.log().contains("path=/logged-after")
    });
    assert!(after, "{}", berth.log());
    assert!(!berth.log().contains("path=/unlogged"), "{}", berth.log());

    let missing = berth.ssh("nginx:access-logs no-such-app");
    assert_eq!(missing.code, 20, "{missing:#?}");
}
