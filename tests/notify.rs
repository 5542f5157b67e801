//! End to end: the bundled `notify` plugin posts deploy results to local HTTP receivers, in
//! JSON and Slack's format, retrying a receiver that fails, without a slow receiver holding a
//! deploy.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use support::{eventually, repo, Berth};

/// One HTTP receiver on a local port: keeps every request's path and body, answers 500 to the
/// next `failures` requests and 200 to the others, and holds its answers while `held`.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
    failures: Arc<AtomicUsize>,
    held: Arc<(Mutex<bool>, Condvar)>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            port,
            bodies: Arc::default(),
            failures: Arc::default(),
            held: Arc::default(),
        };
        let (bodies, failures, held) = (
            receiver.bodies.clone(),
            receiver.failures.clone(),
            receiver.held.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (bodies, failures, held) = (bodies.clone(), failures.clone(), held.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(&stream);
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(value) = lower.strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    bodies
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    let (lock, released) = &*held;
                    drop(
                        released
                            .wait_while(lock.lock().unwrap(), |held| *held)
                            .unwrap(),
                    );
                    let failing = failures
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if failing { "500 Oops" } else { "200 OK" };
                    let _ = (&stream).write_all(
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        receiver
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    fn hold(&self, hold: bool) {
        let (lock, released) = &*self.held;
        *lock.lock().unwrap() = hold;
        released.notify_all();
    }
}

/// Whether `receiver` got `count` bodies containing `text` within a minute.
fn receives(receiver: &Receiver, text: &str, count: usize) -> bool {
    eventually(Duration::from_secs(60), || {
        receiver
            .bodies()
            .iter()
            .filter(|b| b.contains(text))
            .count()
            >= count
    })
}

#[test]
fn notify_posts_deploy_results_retrying_without_holding_the_deploy() {
    let berth = Berth::start();
    let (json, slack) = (Receiver::start(), Receiver::start());
    let added = berth.ssh(&format!("notify:add {}", json.url("/hook"))).ok();
    assert_eq!(
        added.stdout,
        format!(
            "-----> Deploys of every app are now posted to {} (json)\n",
            json.url("/hook")
        )
    );
    berth
        .ssh(&format!(
            "notify:add {} --format slack",
            slack.url("/slack")
        ))
        .ok();
    assert_eq!(
        berth.ssh("notify:list").ok().stdout,
        format!(
            "=====> Notified URLs\njson   {}\nslack  {}\n",
            json.url("/hook"),
            slack.url("/slack")
        )
    );
    for (bad, said) in [
        (
            "notify:add ftp://x",
            " !     Invalid URL ftp://x: use http:// or https://",
        ),
        (
            "notify:add http://x --format xml",
            " !     Format must be json or slack",
        ),
        (
            "notify:remove http://nowhere",
            " !     http://nowhere is not notified",
        ),
    ] {
        let refused = berth.ssh(bad);
        assert_eq!(
            (refused.code, refused.stderr.trim_end()),
            (1, said),
            "{bad}"
        );
    }
    let help = berth.ssh("help").ok().stdout;
    assert!(
        help.contains("notify:add <url> [--format json|slack]"),
        "{help}"
    );

    let tested = berth.ssh("notify:test").ok();
    assert!(
        tested
            .stdout
            .contains(&format!("{} answered 200", json.url("/hook"))),
        "{tested:#?}"
    );
    assert!(receives(&json, "\"event\":\"test\"", 1));
    assert!(receives(
        &slack,
        "{\"text\":\"Berth notifications reach this channel\"}",
        1
    ));

    // The JSON receiver fails once (retried after a second); the Slack one holds its answer
    // while the push completes.
    json.failures.store(1, Ordering::SeqCst);
    slack.hold(true);
    let app = berth.app("notified");
    let source = repo::create(&repo::as_refs(&repo::web_app("v1")));
    let pushed = berth.push(source.path(), &app, "main").ok();
    assert!(!pushed.stderr.contains("plugin notify"), "{pushed:#?}");
    let rev = repo::head(source.path());
    let succeeded = format!(
        "{{\"event\":\"deploy.succeeded\",\"app\":\"{app}\",\"release\":1,\"commit\":\"{rev}\",\"key\":\"alice\",\"duration_ms\":"
    );
    assert!(receives(&json, &succeeded, 2), "{:?}", json.bodies());
    let slack_text = format!("Deployed {app} v1 ({}) by alice in ", &rev[..7]);
    assert!(receives(&slack, &slack_text, 1), "{:?}", slack.bodies());
    slack.hold(false);
    let log = berth.data_dir().join("plugin-data/notify/deliveries.log");
    let delivered = |line: &str| {
        eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains(line))
        })
    };
    assert!(delivered(&format!(
        "deploy.succeeded {app} v1 -> {}: 200 (attempt 2)",
        json.url("/hook")
    )));
    assert!(
        delivered(&format!(
            "deploy.succeeded {app} v1 -> {}: 200 (attempt 1)",
            slack.url("/slack")
        )),
        "the held answer came after the push ended, on the first attempt"
    );

    // A failed deploy, with its reason; after notify:remove nothing more goes there.
    berth
        .ssh(&format!("notify:remove {}", slack.url("/slack")))
        .ok();
    let broken = repo::web_app("never served");
    let dockerfile = format!("{}RUN false\n", broken[0].1);
    repo::commit(source.path(), &[("Dockerfile", &dockerfile)], "bad");
    assert_ne!(berth.push(source.path(), &app, "main").code, 0);
    let failed = format!(
        "{{\"event\":\"deploy.failed\",\"app\":\"{app}\",\"release\":2,\"commit\":\"{}\",\"key\":\"alice\",\"duration_ms\":",
        repo::head(source.path())
    );
    assert!(receives(&json, &failed, 1), "{:?}", json.bodies());
    let reason = json
        .bodies()
        .into_iter()
        .find(|b| b.contains(&failed))
        .unwrap();
    assert!(reason.contains("\"reason\":\"App build failed"), "{reason}");
    assert_eq!(slack.bodies().len(), 2, "{:?}", slack.bodies());
}

/// The id of the app's web instance number `index`.
fn container_of(app: &str, index: &str) -> String {
    let ids = support::docker_lines(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=berth.app={app}"),
        "--filter",
        &format!("label=berth.index={index}"),
    ]);
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

#[test]
fn an_instance_down_is_alerted_once_and_its_recovery_once() {
    let berth = Berth::start_with_admin("sample_secs = 1");
    let receiver = Receiver::start();
    berth
        .ssh(&format!("notify:add {}", receiver.url("/alerts")))
        .ok();
    let app = berth.deployed("alerted", "up");
    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let web2 = container_of(&app, "2");
    support::docker_lines(&["stop", "-t", "1", &web2]);
    assert!(
        receives(&receiver, "\"event\":\"replicas-below-desired\"", 1),
        "{:?}",
        receiver.bodies()
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "up\n");
    support::docker_lines(&["start", &web2]);
    assert!(
        receives(
            &receiver,
            "\"event\":\"replicas-below-desired.resolved\"",
            1
        ),
        "{:?}",
        receiver.bodies()
    );
    let alert = receiver
        .bodies()
        .into_iter()
        .find(|b| b.contains("\"event\":\"replicas-below-desired\""))
        .unwrap();
    assert!(
        alert.contains(&format!("\"app\":\"{app}\""))
            && alert.contains("\"reason\":\"1 of 2 web instances running\""),
        "{alert}"
    );
    // Three samples later, neither was repeated.
    let sampled_at = || {
        let metrics = support::http::get(berth.admin, "localhost", "/metrics").body;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("berth_sample_timestamp_seconds "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let then = sampled_at();
    assert!(eventually(Duration::from_secs(30), || sampled_at() >= then + 3.0));
    let alerts = receiver
        .bodies()
        .iter()
        .filter(|b| b.contains("replicas-below-desired"))
        .count();
    assert_eq!(alerts, 2, "{:?}", receiver.bodies());
}

#[test]
fn a_failing_liveness_check_takes_one_instance_out_without_a_failed_request_and_back() {
    let berth = Berth::start();
    let receiver = Receiver::start();
    berth
        .ssh(&format!("notify:add {}", receiver.url("/alerts")))
        .ok();
    let app = berth.app("alive");
    let mut files = repo::web_app("steady");
    files.push(("www/alive", "ok\n".to_string()));
    files.push((
        "app.json",
        r#"{"healthchecks": {"web": [{"type": "liveness", "name": "alive", "path": "/alive", "content": "ok", "attempts": 2, "wait": 1, "timeout": 2}]}}"#
            .to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let web2 = container_of(&app, "2");

    let load = support::load::Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    support::docker_lines(&["exec", &web2, "rm", "/www/alive"]);
    assert!(
        receives(&receiver, "\"event\":\"app-unhealthy\"", 1),
        "{:?}",
        receiver.bodies()
    );
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(
        report.contains("unhealthy (out of rotation); last failure")
            && report.contains("liveness check"),
        "{report}"
    );
    // Out of the proxy's rotation: web.1 alone takes requests, web.2 waits among the down.
    let route = berth.ssh(&format!("nginx:show-config {app}")).ok().stdout;
    let line = |label: &str| {
        route
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("Upstreams").contains("web.1") && !line("Upstreams").contains("web.2"),
        "{route}"
    );
    assert!(line("Down").contains("web.2"), "{route}");
    load.wait_for_more(100);
    // It passes again once the file is back (the restart kept the container's files).
    assert!(eventually(Duration::from_secs(30), || {
        support::docker_lines(&["exec", &web2, "sh", "-c", "echo ok > /www/alive"]);
        receiver
            .bodies()
            .iter()
            .any(|b| b.contains("\"event\":\"app-recovered\""))
    }));
    load.wait_for_more(100);
    load.stop_without_failures();
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(report.contains("healthy; last failure"), "{report}");
    let count = |event: &str| {
        receiver
            .bodies()
            .iter()
            .filter(|b| b.contains(&format!("\"event\":\"{event}\"")))
            .count()
    };
    assert_eq!((count("app-unhealthy"), count("app-recovered")), (1, 1));
}

#[test]
fn the_default_probe_opted_in_as_liveness_takes_a_frozen_instance_out_and_back() {
    let berth = Berth::start();
    let app = berth.app("probed");
    let source = repo::create(&repo::as_refs(&repo::web_app("probed")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let web2 = container_of(&app, "2");
    let upstreams = || {
        let route = berth.ssh(&format!("nginx:show-config {app}")).ok().stdout;
        route
            .lines()
            .find(|l| l.trim_start().starts_with("Upstreams"))
            .unwrap_or_default()
            .to_string()
    };
    // Off unless opted in: a frozen instance stays in rotation.
    support::docker_lines(&["pause", &web2]);
    let report = berth.ssh(&format!("checks:report {app}")).ok().stdout;
    let row = format!("       {:<32}false\n", "Checks computed liveness probe:");
    assert!(report.contains(&row), "{report}");
    berth
        .ssh(&format!("checks:set {app} liveness-probe true"))
        .ok();
    assert!(
        eventually(Duration::from_secs(60), || !upstreams().contains("web.2")),
        "{}",
        upstreams()
    );
    assert!(upstreams().contains("web.1"));
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(report.contains("liveness probe failed"), "{report}");
    support::docker_lines(&["unpause", &web2]);
    assert!(
        eventually(Duration::from_secs(60), || upstreams().contains("web.2")),
        "{}",
        upstreams()
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 200);
}
