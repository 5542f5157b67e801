//! End to end: Procfile process types, scaling (under load), ps:report, stop/start/restart,
//! and Docker's restart policy for a crashed instance.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use support::load::Load;
use support::{eventually, repo, Berth};

/// A web process serving www/ and a worker that logs a line a second.
fn procfile_app(marker: &str) -> Vec<(&'static str, String)> {
    let mut files = repo::web_app(marker);
    files.push((
        "Procfile",
        "web: exec httpd -f -p \"$PORT\" -h /www\nworker: while true; do echo \"working as $DYNO\"; sleep 1; done\n"
            .to_string(),
    ));
    files
}

fn processes(app: &str) -> Vec<String> {
    let mut list = support::docker_lines(&[
        "ps",
        "--filter",
        &format!("label=berth.app={app}"),
        "--format",
        "{{.Label \"berth.process\"}}.{{.Label \"berth.index\"}}",
    ]);
    list.sort();
    list
}

#[test]
fn procfile_types_scale_and_balance() {
    let berth = Berth::start();
    let app = berth.app("procs");
    berth.ssh(&format!("apps:create {app}")).ok();
    let nothing = berth.ssh(&format!("ps:scale {app}")).ok().stdout;
    assert_eq!(
        nothing,
        format!("-----> Scaling for {app}\nproctype: qty\n--------: ---\nnone\n")
    );
    let source = repo::create(&repo::as_refs(&procfile_app("procs")));
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(processes(&app), vec!["web.1"]);

    // The counts line up under `qty`.
    let shown = berth.ssh(&format!("ps:scale {app}")).ok().stdout;
    assert_eq!(
        shown,
        format!(
            "-----> Scaling for {app}\nproctype: qty\n--------: ---\nweb:      1\nworker:   0\n"
        )
    );
    berth.ssh(&format!("ps:scale {app} web=3 worker=1")).ok();
    assert_eq!(processes(&app), vec!["web.1", "web.2", "web.3", "worker.1"]);

    let dynos: BTreeSet<String> = (0..9)
        .filter_map(|_| {
            let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
            env.lines()
                .find_map(|l| l.strip_prefix("DYNO=").map(str::to_string))
        })
        .collect();
    assert_eq!(
        dynos,
        BTreeSet::from(["web.1".into(), "web.2".into(), "web.3".into()])
    );

    let bad = berth.ssh(&format!("ps:scale {app} clock=1"));
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("clock is not a valid process name to scale up"),
        "{bad:#?}"
    );
    let bad = berth.ssh(&format!("ps:scale {app} web=lots"));
    assert!(bad.stderr.contains("Invalid count for web"), "{bad:#?}");

    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(
        report.starts_with(&format!("=====> {app} ps information\n")),
        "{report}"
    );
    assert!(report.contains("Status worker 1:"), "{report}");
    assert!(report.contains("running (CID: "), "{report}");
    // Dokku's info flags, its dotted instance names too.
    let one = berth
        .ssh(&format!("ps:report {app} --status-worker.1"))
        .ok();
    assert!(one.stdout.starts_with("running (CID: "), "{one:#?}");
    let running = berth.ssh(&format!("ps:report {app} --running")).ok();
    assert_eq!(running.stdout, "true\n");
    let json = berth
        .ssh(&format!("ps:report {app} --format json"))
        .ok()
        .stdout;
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(parsed["deployed"], "true");
    assert!(parsed["status-web-3"]
        .as_str()
        .unwrap_or_default()
        .starts_with("running"));

    // --skip-deploy records the counts for the next deploy or restart.
    berth
        .ssh(&format!("ps:scale --skip-deploy {app} worker=2"))
        .ok();
    assert_eq!(processes(&app), vec!["web.1", "web.2", "web.3", "worker.1"]);
    let json = berth
        .ssh(&format!("ps:scale {app} --format json"))
        .ok()
        .stdout;
    assert_eq!(
        json,
        "[{\"process_type\":\"web\",\"quantity\":3},{\"process_type\":\"worker\",\"quantity\":2}]\n"
    );
    berth.ssh(&format!("ps:restart {app} worker")).ok();
    assert!(
        eventually(Duration::from_secs(20), || processes(&app)
            == vec!["web.1", "web.2", "web.3", "worker.1", "worker.2"]),
        "{:?}",
        processes(&app)
    );

    berth.ssh(&format!("ps:scale {app} web=1 worker=0")).ok();
    assert!(
        eventually(Duration::from_secs(20), || processes(&app) == vec!["web.1"]),
        "{:?}",
        processes(&app)
    );
}

#[test]
fn scaling_and_restarting_under_load_drop_nothing() {
    let berth = Berth::start();
    let app = berth.app("scaleload");
    let source = repo::create(&repo::as_refs(&procfile_app("steady")));
    berth.push(source.path(), &app, "main").ok();
    let before = Berth::containers(&app);

    let load = Load::start(berth.http, &Berth::host(&app), 16);
    load.wait_for_more(200);
    berth.ssh(&format!("ps:scale {app} web=3")).ok();
    load.wait_for_more(200);
    berth.ssh(&format!("ps:scale {app} web=1")).ok();
    load.wait_for_more(200);
    berth.ssh(&format!("ps:restart {app}")).ok();
    load.wait_for_more(200);
    let samples = load.stop();

    let failures: Vec<_> = samples.iter().filter(|s| s.outcome.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    assert!(samples
        .iter()
        .all(|s| s.outcome.as_deref() == Ok("steady\n")));
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(
        !releases.contains("v2"),
        "scale and restart make no release: {releases}"
    );
    assert!(
        eventually(Duration::from_secs(20), || {
            let now = Berth::containers(&app);
            now.len() == 1 && now[0].0 != before[0].0
        }),
        "restart replaced the container: {:?}",
        Berth::containers(&app)
    );
}

#[test]
fn an_instance_waiting_to_retire_is_never_taken_back() {
    let mut berth = Berth::start();
    let app = berth.app("rescale");
    let source = repo::create(&repo::as_refs(&repo::web_app("rescaled")));
    berth.push(source.path(), &app, "main").ok();
    berth
        .ssh(&format!("checks:set {app} wait-to-retire 3"))
        .ok();
    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let two = ids_of(&app, "web");
    assert_eq!(two.len(), 2);
    // web.2 waits 3 s to retire; scaling up again starts a new web.2 rather than keeping it.
    berth.ssh(&format!("ps:scale {app} web=1")).ok();
    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let settled = eventually(Duration::from_secs(30), || {
        let now = ids_of(&app, "web");
        now.len() == 2 && now.iter().any(|id| !two.contains(id))
    });
    assert!(
        settled,
        "two instances after the retirement: {:?}",
        processes(&app)
    );
    let show = berth.ssh(&format!("nginx:show-config {app}")).ok().stdout;
    assert!(
        show.contains("web.1 ") && show.contains("web.2 "),
        "both are routed: {show}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "rescaled\n");

    // A daemon stopped while an instance waits to retire retires it when it starts again.
    berth
        .ssh(&format!("checks:set {app} wait-to-retire 600"))
        .ok();
    berth.ssh(&format!("ps:scale {app} web=1")).ok();
    assert_eq!(ids_of(&app, "web").len(), 2, "web.2 waits to retire");
    berth.restart();
    let retired = eventually(Duration::from_secs(30), || ids_of(&app, "web").len() == 1);
    assert!(retired, "{:?}", processes(&app));
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "rescaled\n");
}

/// The ids of the app's containers of one process type.
fn ids_of(app: &str, process: &str) -> Vec<String> {
    support::docker_lines(&[
        "ps",
        "--filter",
        &format!("label=berth.app={app}"),
        "--filter",
        &format!("label=berth.process={process}"),
        "--format",
        "{{.ID}}",
    ])
}

#[test]
fn one_process_type_restarts_alone() {
    let berth = Berth::start();
    let app = berth.app("restartone");
    let source = repo::create(&repo::as_refs(&procfile_app("one at a time")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("ps:scale {app} worker=1")).ok();
    let (web, worker) = (ids_of(&app, "web"), ids_of(&app, "worker"));
    assert_eq!((web.len(), worker.len()), (1, 1));

    let restarted = berth.ssh(&format!("ps:restart {app} worker")).ok();
    assert!(
        restarted
            .stdout
            .contains(&format!("Restarting {app}'s worker processes")),
        "{restarted:#?}"
    );
    assert!(
        eventually(Duration::from_secs(20), || {
            let now = ids_of(&app, "worker");
            now.len() == 1 && now != worker
        }),
        "the worker was replaced: {:?}",
        ids_of(&app, "worker")
    );
    assert_eq!(ids_of(&app, "web"), web, "web was left alone");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one at a time\n");

    let worker = ids_of(&app, "worker");
    berth.ssh(&format!("ps:restart {app} web")).ok();
    assert!(
        eventually(Duration::from_secs(20), || {
            let now = ids_of(&app, "web");
            now.len() == 1 && now != web
        }),
        "web was replaced: {:?}",
        ids_of(&app, "web")
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one at a time\n");
    assert_eq!(ids_of(&app, "worker"), worker, "the worker was left alone");

    let unknown = |name: &str| {
        format!("{app} has no process type {name}; its process types are: web, worker")
    };
    for (process, message) in [("clock", unknown("clock")), ("'bad!'", unknown("bad!"))] {
        let refused = berth.ssh(&format!("ps:restart {app} {process}"));
        assert_eq!(refused.code, 1, "{refused:#?}");
        assert!(refused.stderr.contains(&message), "{refused:#?}");
    }
    // A stop-first restart of web that fails starts web again, and only web: the worker,
    // never stopped, is not started a second time.
    berth.ssh(&format!("checks:disable {app} web")).ok();
    berth
        .ssh(&format!("resource:limit --process-type web --cpu 64 {app}"))
        .ok();
    let failed = berth.ssh(&format!("ps:restart {app} web"));
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert_eq!(ids_of(&app, "worker"), worker, "the worker was left alone");
    berth.ssh(&format!("ps:stop {app}")).ok();
    let stopped = berth.ssh(&format!("ps:restart {app} worker"));
    assert!(
        stopped.stderr.contains(&format!(
            "{app} is stopped; start all of it with ps:start {app}"
        )),
        "{stopped:#?}"
    );
}

#[test]
fn stop_and_start() {
    let berth = Berth::start();
    let app = berth.app("stopstart");
    let source = repo::create(&repo::as_refs(&repo::web_app("back")));
    berth.push(source.path(), &app, "main").ok();

    berth.ssh(&format!("ps:stop {app}")).ok();
    assert!(Berth::containers(&app).is_empty());
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 502);
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(
        report.contains("Restore:") && report.contains("false"),
        "{report}"
    );

    berth.ssh(&format!("ps:start {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "back\n");
    let again = berth.ssh(&format!("ps:start {app}")).ok();
    assert!(again.stdout.contains("already running"), "{again:#?}");

    // An instance stopped behind Berth's back (Docker does not restart a killed container)
    // leaves the app partly running: ps:start brings it back whole.
    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let id = Berth::containers(&app)[0].0.clone();
    support::docker_lines(&["kill", &id]);
    assert!(
        eventually(Duration::from_secs(20), || Berth::containers(&app)
            .iter()
            .any(|(_, _, running)| !running)),
        "killed: {:?}",
        Berth::containers(&app)
    );
    let running = berth.ssh(&format!("ps:report {app} --running")).ok();
    assert_eq!(running.stdout, "mixed\n");
    berth
        .ssh(&format!("checks:set {app} wait-to-retire 60"))
        .ok();
    let started = berth.ssh(&format!("ps:start {app}")).ok();
    assert!(!started.stdout.contains("already running"), "{started:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "back\n");
    // The replaced instances are listed while they wait to retire, but not counted.
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    let squeezed: Vec<String> = report
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for row in ["Processes: 2", "Running: true"] {
        assert!(squeezed.iter().any(|r| r == row), "no {row:?} in {report}");
    }
    let retiring: Vec<&String> = squeezed
        .iter()
        .filter(|r| r.ends_with(", retiring"))
        .collect();
    assert_eq!(retiring.len(), 2, "{report}");
    assert!(
        retiring
            .iter()
            .any(|r| r.starts_with("Status web") && r.contains("exited")),
        "{report}"
    );
}

#[test]
fn a_crashed_instance_is_restarted_by_its_policy() {
    let berth = Berth::start();
    let app = berth.app("crash");
    let source = repo::create(&repo::as_refs(&repo::web_app("resilient")));
    berth.push(source.path(), &app, "main").ok();
    let id = Berth::containers(&app)[0].0.clone();

    // The container dies with its process, taking this exec session with it: its status says
    // nothing about the kill.
    let _ = Command::new("docker")
        .args(["exec", &id, "killall", "-9", "httpd"])
        .status();
    let started = Instant::now();
    assert!(
        eventually(Duration::from_secs(30), || berth
            .ssh(&format!("ps:report {app}"))
            .stdout
            .contains("running (CID: ")
            && berth
                .ssh(&format!("ps:report {app}"))
                .stdout
                .contains("restarted 1 times")),
        "ps:report after {:?}: {}",
        started.elapsed(),
        berth.ssh(&format!("ps:report {app}")).stdout
    );
}

#[test]
fn logs_merge_instances_and_follow() {
    let berth = Berth::start();
    let app = berth.app("logs");
    let source = repo::create(&repo::as_refs(&procfile_app("logged")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("ps:scale {app} worker=1")).ok();
    assert!(
        eventually(Duration::from_secs(20), || berth
            .ssh(&format!("logs {app} -p worker -n 3"))
            .stdout
            .lines()
            .count()
            == 3),
        "three worker lines"
    );
    let worker = berth.ssh(&format!("logs {app} -p worker -n 3")).ok().stdout;
    for line in worker.lines() {
        assert!(
            line.ends_with(&format!(" {app}[worker.1]: working as worker.1")),
            "{line}"
        );
        assert!(
            line.starts_with("20") && line.contains('T'),
            "timestamped: {line}"
        );
    }
    let quiet = berth
        .ssh(&format!("logs {app} -p worker -n 2 -q"))
        .ok()
        .stdout;
    assert_eq!(quiet, "working as worker.1\nworking as worker.1\n");

    let mut follow = berth.ssh_spawn(&format!("logs {app} -t -n 0 -p worker"));
    let stdout = follow.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    for _ in 0..2 {
        let line = lines.next().expect("a live line").expect("read");
        assert!(
            line.contains(&format!("{app}[worker.1]: working")),
            "{line}"
        );
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let bad = berth.ssh(&format!("logs {app} -n lots"));
    assert_eq!(bad.code, 1);
    // A process type the app lacks and a name none could have get the same answer.
    for process in ["clock", "web.x"] {
        let refused = berth.ssh(&format!("logs {app} -p {process}"));
        assert_eq!(refused.code, 1, "{refused:#?}");
        assert_eq!(
            refused.stderr,
            format!(
                " !     {app} has no process type {process}; its process types are: web, worker\n"
            )
        );
    }
}

#[test]
fn an_app_json_formation_wins_over_ps_scale() {
    let berth = Berth::start();
    let app = berth.app("formation");
    let mut files = procfile_app("formed");
    files.push((
        "app.json",
        r#"{"formation": {"web": {"quantity": 2}, "worker": {"quantity": 1}}}"#.to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(processes(&app), vec!["web.1", "web.2", "worker.1"]);
    let refused = berth.ssh(&format!("ps:scale {app} web=5"));
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("formation key and cannot be manually scaled"),
        "{refused:#?}"
    );
}
