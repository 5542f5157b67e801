//! End to end: apps reach each other's instances by name on a shared network, across
//! redeploys; apps on different private networks cannot reach each other, by name or address,
//! either way; the proxy still reaches every web instance; network:* refuses what would break.

mod support;

use std::time::Duration;

use support::services::Networks;
use support::{eventually, repo, Berth};

/// The body `GET /` at `address` (`HOST:PORT`, the port may be `$PORT`) answers from inside
/// the app's running web instance (`enter`), or the failure. (busybox's `nc`: its static
/// `wget` crashes resolving names.)
fn fetched_in(berth: &Berth, app: &str, address: &str) -> Result<String, String> {
    let (host, port) = address.rsplit_once(':').unwrap();
    let run = berth.ssh(&format!(
        "enter {app} web sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 {host} {port}'"
    ));
    match run.stdout.split_once("\r\n\r\n") {
        Some((head, body)) if run.code == 0 && head.contains(" 200 ") => Ok(body.to_string()),
        _ => Err(format!("{run:#?}")),
    }
}

/// An app `base` on `network` (its initial network), deployed serving `marker`.
fn deployed_on(berth: &Berth, base: &str, network: &str, marker: &str) -> String {
    let app = berth.app(base);
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("network:set {app} initial-network {network}"))
        .ok();
    let source = repo::create(&repo::as_refs(&repo::web_app(marker)));
    berth.push(source.path(), &app, "main").ok();
    app
}

/// The address (`IP:PORT`) the app's web instance listens on.
fn listener(berth: &Berth, app: &str) -> String {
    let report = berth.ssh(&format!("network:report {app} --network-web-listeners"));
    report.ok().stdout.trim().to_string()
}

#[test]
fn apps_on_a_shared_network_reach_each_other_by_name_across_redeploys() {
    let berth = Berth::start();
    let back = berth.app("back");
    let source = repo::create(&repo::as_refs(&repo::web_app("back v1")));
    berth.push(source.path(), &back, "main").ok();
    let front = berth.deployed("front", "front v1");
    for name in [back.clone(), format!("{back}.web")] {
        let url = format!("{name}:$PORT");
        assert_eq!(fetched_in(&berth, &front, &url), Ok("back v1\n".into()));
    }
    repo::commit(source.path(), &[("www/index.html", "back v2\n")], "v2");
    berth.push(source.path(), &back, "main").ok();
    // Old and new instances answer to the name until the old ones retire (1 s here).
    let url = format!("{back}:$PORT");
    let follows = eventually(Duration::from_secs(30), || {
        fetched_in(&berth, &front, &url) == Ok("back v2\n".into())
    });
    assert!(follows, "the name follows the new release");

    // Scaled, the name resolves to every instance.
    berth.ssh(&format!("ps:scale {back} web=2")).ok();
    let both = eventually(Duration::from_secs(30), || {
        let found = berth.ssh(&format!("enter {front} web nslookup {back}.web"));
        let addresses = found.stdout.lines().filter(|l| l.starts_with("Address:"));
        addresses.filter(|l| !l.ends_with(":53")).count() == 2
    });
    assert!(both, "{back}.web names both instances");
}

#[test]
fn apps_on_different_private_networks_cannot_reach_each_other() {
    let networks = Networks::new(2);
    let berth = Berth::start();
    let (one, two) = (&networks.0[0], &networks.0[1]);
    for network in [one, two] {
        let created = berth.ssh(&format!("network:create {network}")).ok();
        assert_eq!(
            created.stdout,
            format!("-----> Creating network {network}\n")
        );
    }
    let again = berth.ssh(&format!("network:create {one}"));
    assert_eq!(
        (again.code, again.stderr.trim_end()),
        (1, format!(" !     Network {one} already exists").as_str())
    );
    assert_eq!(berth.ssh(&format!("network:exists {one}")).code, 0);
    assert_eq!(berth.ssh("network:exists nowhere-at-all").code, 1);
    assert!(berth.ssh("network:list").ok().stdout.contains(one));
    let missing = berth.ssh(&format!(
        "network:set {} initial-network nowhere",
        berth.app("x")
    ));
    assert_ne!(missing.code, 0);

    let a = deployed_on(&berth, "alpha", one, "alpha v1");
    let b = deployed_on(&berth, "bravo", two, "bravo v1");
    assert_eq!(berth.get(&Berth::host(&a), "/").body, "alpha v1\n");
    assert_eq!(berth.get(&Berth::host(&b), "/").body, "bravo v1\n");
    for (app, marker) in [(&a, "alpha v1\n"), (&b, "bravo v1\n")] {
        let own = fetched_in(&berth, app, &format!("{app}:$PORT"));
        assert_eq!(own, Ok(marker.into()), "{app} reaches itself by name");
    }
    for (from, to) in [(&a, &b), (&b, &a)] {
        let by_name = fetched_in(&berth, from, &format!("{to}:$PORT"));
        assert!(by_name.is_err(), "{from} reached {to} by name: {by_name:?}");
        let address = listener(&berth, to);
        let by_address = fetched_in(&berth, from, &address);
        assert!(
            by_address.is_err(),
            "{from} reached {to} at {address}: {by_address:?}"
        );
    }

    // An app on Berth's network that joins `one` after its checks reaches alpha by name.
    let c = berth.app("charlie");
    berth.ssh(&format!("apps:create {c}")).ok();
    berth
        .ssh(&format!("network:set {c} attach-post-deploy {one}"))
        .ok();
    let source = repo::create(&repo::as_refs(&repo::web_app("charlie v1")));
    berth.push(source.path(), &c, "main").ok();
    let url = format!("{a}.web:$PORT");
    assert_eq!(fetched_in(&berth, &c, &url), Ok("alpha v1\n".into()));
    let report = berth.ssh(&format!("network:report {c}")).ok().stdout;
    let line = report
        .lines()
        .find(|l| l.contains("Network attach post deploy:"));
    assert!(line.unwrap().ends_with(&format!(" {one}")), "{report}");
    let info = berth.ssh(&format!("network:info {one}")).ok().stdout;
    assert!(info.contains(&a) && info.contains(&c), "{info}");

    // In use: refused; --force detaches charlie but alpha runs on it.
    let refused = berth.ssh(&format!("network:destroy {one}"));
    assert!(
        refused
            .stderr
            .contains(&format!("Network {one} is in use by apps")),
        "{refused:#?}"
    );
    let forced = berth.ssh(&format!("network:destroy --force {one}"));
    assert!(
        forced
            .stderr
            .contains("(initial-network); set another first"),
        "{forced:#?}"
    );
    berth.ssh(&format!("network:set {a} initial-network")).ok();
    berth.ssh(&format!("ps:restart {a}")).ok();
    let destroyed = berth.ssh(&format!("network:destroy --force {one}")).ok();
    assert!(
        destroyed.stdout.contains(&format!("Detached {c}")),
        "{destroyed:#?}"
    );
    assert_eq!(berth.ssh(&format!("network:exists {one}")).code, 1);
    for (app, marker) in [(&a, "alpha v1\n"), (&c, "charlie v1\n")] {
        let body = berth.get(&Berth::host(app), "/").body;
        assert_eq!(body, marker, "{app} serves on Berth's network");
    }
}
