//! End to end: domains, basic auth, maintenance mode, proxy:disable and access logs through the
//! real daemon, its proxy and real containers; route and policy changes apply at once, without a
//! deploy or restart. Certificates and ports: `proxy_tls.rs`; connections: `proxy_connections.rs`.

mod support;

use support::http::{free_port, get_on};
use support::Berth;

#[test]
fn domains_route_exact_and_wildcard_hosts_to_one_app_at_a_time() {
    let berth = Berth::start();
    let shop = berth.deployed("shop", "the shop");
    let blog = berth.deployed("blog", "the blog");
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
    // An exact domain under another app's wildcard is that app's (as with Dokku's nginx):
    // tenants on *.shop, the API on api.shop.
    berth
        .ssh(&format!("domains:add {blog} api.{shop}.example"))
        .ok();
    assert_eq!(
        berth.get(&format!("api.{shop}.example"), "/").body,
        "the blog\n"
    );
    assert_eq!(
        berth.get(&format!("tenant.{shop}.example"), "/").body,
        "the shop\n"
    );
    berth
        .ssh(&format!("domains:remove {blog} api.{shop}.example"))
        .ok();
    let absent = berth.ssh(&format!("domains:remove {blog} api.{shop}.example"));
    assert_eq!(absent.code, 1, "{absent:#?}");
    assert!(
        absent
            .stderr
            .contains(&format!("App {blog} has no domain api.{shop}.example")),
        "{absent:#?}"
    );
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
    let app = berth.deployed("private", "private page");
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
    let app = berth.deployed("upkeep", "open for business");
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

#[test]
fn proxy_disable_takes_an_app_off_the_proxy_until_enabled_again() {
    let mut berth = Berth::start();
    let app = berth.deployed("off", "back on");
    let other = berth.deployed("stays", "still served");
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

/// `[proxy] access_log_format = "combined"`: nginx's combined lines, which goaccess and log
/// shippers read, with the bytes each response body took, and the two workers' lines in the
/// order the requests were answered.
#[test]
fn access_log_in_nginx_combined_format_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("access.log");
    let berth = Berth::start_configured(
        "",
        &format!(
            "access_log = \"{}\"\naccess_log_format = \"combined\"\nworkers = 2\n",
            path.display()
        ),
    );
    let app = berth.deployed("combined", "combined page");
    let host = Berth::host(&app);
    for i in 0..30 {
        assert_eq!(berth.get(&host, &format!("/seq-{i}")).status, 404);
    }
    let page = berth.get_with(&host, "/", &[("Referer", "https://ref.example/\"x")]);
    assert_eq!(page.body, "combined page\n");
    // A CGI answer has no Content-Length: its size is counted as it is sent.
    let cgi = berth.get(&host, "/cgi-bin/env");
    assert!(cgi.body.contains("PORT="), "{cgi:#?}");

    let mut written = String::new();
    let done = support::eventually(std::time::Duration::from_secs(15), || {
        written = std::fs::read_to_string(&path).unwrap_or_default();
        written.contains("/cgi-bin/env")
    });
    assert!(done, "{written}");
    let lines: Vec<&str> = written.lines().collect();
    let order: Vec<usize> = lines
        .iter()
        .filter_map(|line| {
            line.split("GET /seq-")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(order, (0..30).collect::<Vec<_>>(), "{written}");
    let line = |path: &str| {
        let wanted = format!("\"GET {path} HTTP/1.0\"");
        *lines
            .iter()
            .find(|l| l.contains(&wanted))
            .unwrap_or_else(|| panic!("{written}"))
    };
    let first = line("/seq-0");
    assert!(first.starts_with("127.0.0.1 - - ["), "{first}");
    assert!(
        first.contains(" +0000] \"GET /seq-0 HTTP/1.0\" 404 "),
        "{first}"
    );
    assert_eq!(
        line("/").split_once("] ").map(|(_, rest)| rest),
        Some(r#""GET / HTTP/1.0" 200 14 "https://ref.example/\x22x" "berth-tests""#)
    );
    assert!(
        line("/cgi-bin/env").ends_with(&format!("\" 200 {} \"-\" \"berth-tests\"", cgi.body.len())),
        "{written}"
    );

    // nginx:access-logs shows the app's lines as written.
    let shown = berth.ssh(&format!("nginx:access-logs {app}")).ok().stdout;
    assert!(shown.contains(line("/cgi-bin/env")), "{shown}");
}

#[test]
fn access_logs_per_app_and_followed() {
    let berth = Berth::start();
    let shop = berth.deployed("logged", "logged");
    let other = berth.deployed("quiet", "quiet");
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
