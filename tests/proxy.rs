//! End to end: domains and basic auth through the real daemon, its proxy and real containers;
//! route and policy changes apply at once, without a deploy or restart.

mod support;

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
    assert_eq!(berth.get(&exact, "/").body, "the shop\n");
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
    assert_eq!(berth.get(&format!("{shop}.apps.test"), "/").body, "the shop\n");
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
