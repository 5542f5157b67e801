//! End to end: health checks gate every switch, and deploys under continuous load drop nothing.

mod support;

use std::time::{Duration, Instant};

use support::load::{Load, Sample};
use support::{eventually, repo, Berth};

/// A web app whose index says `marker` and whose /health says `health`, checked by app.json.
fn checked_app(marker: &str, health: &str) -> Vec<(&'static str, String)> {
    let mut files = repo::web_app(marker);
    files.push(("www/health", format!("{health}\n")));
    files.push((
        "app.json",
        r#"{"healthchecks": {"web": [{"type": "startup", "name": "health page", "path": "/health",
            "content": "ok", "attempts": 2, "wait": 1, "timeout": 2}]}}"#
            .to_string(),
    ));
    files
}

fn commit(source: &std::path::Path, files: &[(&'static str, String)], message: &str) {
    repo::commit(source, &repo::as_refs(files), message);
}

#[test]
fn a_failing_declared_check_keeps_the_old_release() {
    let berth = Berth::start();
    let app = berth.app("checked");
    let source = repo::create(&repo::as_refs(&checked_app("v1", "ok")));
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains("Check \"health page\" passed"),
        "{push:#?}"
    );

    commit(source.path(), &checked_app("v2", "sick"), "sick");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0);
    assert!(
        push.stderr
            .contains("Could not start web.1: check \"health page\" failed"),
        "{push:#?}"
    );
    assert!(push.stderr.contains("expected content \"ok\""), "{push:#?}");
    assert!(push.stderr.contains("container output"), "{push:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");
    assert!(berth
        .ssh(&format!("checks:run {app}"))
        .ok()
        .stdout
        .contains("All checks passed"));
}

#[test]
fn the_legacy_checks_file_is_honoured() {
    let berth = Berth::start();
    let app = berth.app("legacy");
    let mut files = repo::web_app("legacy");
    files.push((
        "CHECKS",
        "WAIT=0\nATTEMPTS=2\n/ expected-text\n".to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("deprecated"), "{push:#?}");
    assert!(
        push.stderr.contains("expected content \"expected-text\""),
        "{push:#?}"
    );
    commit(
        source.path(),
        &[("www/index.html", "has expected-text\n".to_string())],
        "fix",
    );
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(
        Berth::untagged_images(&app),
        Vec::<String>::new(),
        "the failed release's image goes once the next one takes its tag"
    );
}

#[test]
fn checks_settings_are_reported_and_set() {
    let berth = Berth::start();
    let app = berth.app("settings");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth.ssh(&format!("checks:skip {app} web")).ok();
    berth
        .ssh(&format!("checks:set {app} wait-to-retire 7"))
        .ok();
    berth
        .cli(&["checks:set", "--global", "wait-to-retire", "9"], b"")
        .ok();
    let report = berth.ssh(&format!("checks:report {app}")).ok().stdout;
    assert!(
        report.starts_with(&format!("=====> {app} checks information\n")),
        "{report}"
    );
    for (label, value) in [
        ("Checks skipped list:", "web"),
        ("Checks disabled list:", "none"),
        ("Checks computed wait to retire:", "7"),
        ("Checks global wait to retire:", "9"),
        ("Checks wait to retire:", "7"),
    ] {
        let row = format!("       {label:<32}{value}\n");
        assert!(report.contains(&row), "{row:?} in\n{report}");
    }
    let bad = berth.ssh(&format!("checks:set {app} wait 3"));
    assert_eq!(bad.code, 1);
    assert!(bad
        .stderr
        .contains("checks:set knows wait-to-retire and liveness-probe"));

    let source = repo::create(&repo::as_refs(&repo::web_app("skipped")));
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr
            .contains("Zero downtime checks have been skipped"),
        "{push:#?}"
    );
}

/// A deploy seen from the test: when its command started and returned, and what it serves.
struct Switch {
    started: Instant,
    returned: Instant,
    serves: &'static str,
}

/// Runs `deploy` (which must succeed) and records when it switched.
fn switch(serves: &'static str, deploy: impl FnOnce()) -> Switch {
    let started = Instant::now();
    deploy();
    Switch {
        started,
        returned: Instant::now(),
        serves,
    }
}

/// No failures; never an answer from `never`; every request sent after a deploy returned and
/// before the next one started is answered by that deploy's release.
fn assert_clean(samples: &[Sample], never: &str, switches: &[Switch]) {
    let failures: Vec<_> = samples.iter().filter(|s| s.outcome.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed requests, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    for sample in samples {
        let body = sample.outcome.as_deref().unwrap_or_default();
        assert_ne!(body, format!("{never}\n"), "the failing release answered");
        let switching = switches
            .iter()
            .any(|s| s.started <= sample.sent && sample.sent <= s.returned);
        if switching {
            continue;
        }
        if let Some(last) = switches.iter().rev().find(|s| s.returned < sample.sent) {
            assert_eq!(
                body,
                format!("{}\n", last.serves),
                "a request sent after the switch"
            );
        }
    }
}

#[test]
fn deploys_under_load_drop_nothing() {
    let berth = Berth::start();
    let app = berth.app("underload");
    let source = repo::create(&repo::as_refs(&checked_app("v1", "ok")));
    berth.push(source.path(), &app, "main").ok();

    let load = Load::start(berth.http, &Berth::host(&app), 16);
    load.wait_for_more(200);
    let mut switches = Vec::new();

    commit(source.path(), &checked_app("v2", "ok"), "v2");
    switches.push(switch("v2", || {
        berth.push(source.path(), &app, "main").ok();
    }));
    load.wait_for_more(200);

    commit(source.path(), &checked_app("broken", "sick"), "broken");
    assert_ne!(berth.push(source.path(), &app, "main").code, 0);
    load.wait_for_more(200);

    switches.push(switch("v1", || {
        berth.ssh(&format!("releases:rollback {app} v1")).ok();
    }));
    load.wait_for_more(200);

    let samples = load.stop();
    assert!(samples.len() > 800, "{} requests", samples.len());
    assert_clean(&samples, "broken", &switches);
}

#[test]
fn stop_first_deploys_hold_requests_instead_of_failing_them() {
    let berth = Berth::start();
    let app = berth.app("stopfirst");
    let source = repo::create(&repo::as_refs(&repo::web_app("before")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("checks:disable {app}")).ok();

    let load = Load::start(berth.http, &Berth::host(&app), 16);
    load.wait_for_more(200);
    repo::commit(source.path(), &[("www/index.html", "after\n")], "after");
    let switched = switch("after", || {
        let push = berth.push(source.path(), &app, "main").ok();
        assert!(
            push.stderr.contains("stopping the running release first"),
            "{push:#?}"
        );
    });
    load.wait_for_more(200);
    let samples = load.stop();
    assert_clean(&samples, "never", &[switched]);
    assert!(
        Berth::containers(&app).len() == 1,
        "{:?}",
        Berth::containers(&app)
    );
}

#[test]
fn a_push_killed_half_way_leaves_the_old_release_serving() {
    let berth = Berth::start();
    let app = berth.app("killed");
    let source = repo::create(&repo::as_refs(&repo::web_app("old")));
    berth.push(source.path(), &app, "main").ok();
    repo::commit_slow(source.path(), "new", 3);

    let mut pushing = berth.push_spawn(source.path(), &app, "main");
    drop(support::wait_for_line(&mut pushing, "Building"));
    support::interrupt(&mut pushing);

    assert!(
        eventually(Duration::from_secs(30), || berth
            .log()
            .contains("The client went away")),
        "the deploy notices the hangup:\n{}",
        berth.log()
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "old\n");
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(!releases.contains("v2"), "{releases}");
    assert!(
        eventually(Duration::from_secs(20), || Berth::containers(&app).len()
            == 1),
        "{:?}",
        Berth::containers(&app)
    );
}

#[test]
fn a_release_that_fails_requests_is_rolled_back_by_the_watch_window() {
    let berth = Berth::start();
    let app = berth.app("watched");
    let source = repo::create(&repo::as_refs(&repo::web_app("good")));
    berth.push(source.path(), &app, "main").ok();

    let failing = "FROM berth-base/busybox:latest\nCOPY broken /www\n\
                   CMD [\"/bin/sh\", \"-c\", \"exec httpd -f -p \\\"$PORT\\\" -h /www\"]\n";
    let cgi = "#!/bin/sh\nprintf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nbroken\\n'\n";
    repo::commit(
        source.path(),
        &[("Dockerfile", failing), ("broken/cgi-bin/index.cgi", cgi)],
        "serves 500s",
    );
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains("rolls back to v1 by itself"),
        "{push:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 500);

    assert!(
        eventually(Duration::from_secs(30), || berth
            .get(&Berth::host(&app), "/")
            .body
            == "good\n"),
        "the watch window rolls back:\n{}",
        berth.log()
    );
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(releases.contains("Automatic rollback to v1"), "{releases}");
    assert!(releases.contains("berth-watch"), "{releases}");
}

#[test]
fn command_and_uptime_checks_run_inside_the_container() {
    let berth = Berth::start();
    let app = berth.app("commandcheck");
    let mut files = repo::web_app("checked by command");
    files.push((
        "app.json",
        r#"{"healthchecks": {"web": [
            {"type": "startup", "name": "marker file", "command": ["/bin/sh", "-c", "test -f /www/ready"],
             "attempts": 1},
            {"type": "readiness", "name": "stays up", "uptime": 1}
        ]}}"#
            .to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0);
    assert!(
        push.stderr.contains("check \"marker file\" failed"),
        "{push:#?}"
    );
    assert!(push.stderr.contains("exited with 1"), "{push:#?}");

    commit(source.path(), &[("www/ready", "yes".to_string())], "ready");
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains("Check \"marker file\" passed"),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("Check \"stays up\" passed"),
        "{push:#?}"
    );
    assert_eq!(
        berth.get(&Berth::host(&app), "/").body,
        "checked by command\n"
    );
}
