//! Crash safety: a daemon killed with `kill -9` in the middle of a deploy comes back serving the
//! last good release, without the half-deployed container, and takes pushes; a daemon started
//! while Docker does not answer waits for it, says so, and serves once it does.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::engine::EngineRelay;
use support::{eventually, repo, wait_for_line, Berth};

#[test]
fn a_daemon_killed_while_a_new_container_starts_comes_back_serving_the_last_good_release() {
    let mut berth = Berth::start();
    let app = berth.app("killed");
    let source = repo::create(&repo::as_refs(&repo::web_app("v1")));
    berth.push(source.path(), &app, "main").ok();
    // v2's container takes a minute to answer: the deploy sits in its checks.
    let slow = "FROM berth-base/busybox:latest\nCOPY www /www\n\
                CMD [\"/bin/sh\", \"-c\", \"sleep 60; exec httpd -f -p \\\"$PORT\\\" -h /www\"]\n";
    repo::commit(
        source.path(),
        &[("Dockerfile", slow), ("www/index.html", "v2\n")],
        "slow",
    );
    let mut push = berth.push_spawn(source.path(), &app, "main");
    let _ = wait_for_line(&mut push, "Deploying");
    assert!(eventually(Duration::from_secs(30), || {
        Berth::containers(&app)
            .iter()
            .any(|(_, release, _)| release == "2")
    }));
    berth.kill();
    let _ = push.wait();

    berth.restart();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");
    assert!(
        eventually(Duration::from_secs(30), || {
            Berth::containers(&app)
                .iter()
                .all(|(_, release, _)| release == "1")
        }),
        "{:?}",
        Berth::containers(&app)
    );
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(
        releases.contains("v1*") && !releases.contains("v2"),
        "{releases}"
    );
    repo::commit(
        source.path(),
        &[
            ("Dockerfile", repo::web_app("x")[0].1.as_str()),
            ("www/index.html", "v3\n"),
        ],
        "fast again",
    );
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v3\n");
}

#[test]
fn a_daemon_started_while_docker_does_not_answer_waits_for_it_and_says_so() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = Arc::new(EngineRelay::start(relay_dir.path()));
    let mut berth = Berth::start_on_engine(&relay.url());
    let app = berth.deployed("waits", "up");
    berth.stop();
    relay.cut();
    let log = berth.dir.path().join("daemon.log");
    let waker = {
        let relay = relay.clone();
        std::thread::spawn(move || {
            let said = eventually(Duration::from_secs(60), || {
                std::fs::read_to_string(&log)
                    .is_ok_and(|text| text.contains("waiting for the Docker engine"))
            });
            relay.reconnect();
            said
        })
    };
    berth.restart();
    assert!(
        waker.join().unwrap(),
        "the daemon said it waits: {}",
        berth.log()
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "up\n");
}
