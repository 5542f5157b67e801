//! A restart of the Docker engine itself (every container stops and the engine comes back):
//! every app serves again without a command. Its own test binary, with one test: it stops the
//! engine every other test uses (test binaries run one after another). It restarts `dockerd`
//! as scripts/setup-host.sh starts it, in the background, logging to
//! /var/log/berth-dockerd-restart.log.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{eventually, Berth};

fn engine_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn after_dockerd_restarts_every_app_serves_again_without_a_command() {
    let berth = Berth::start();
    let one = berth.deployed("engine-one", "one");
    let two = berth.deployed("engine-two", "two");
    berth.ssh(&format!("ps:scale {two} web=2")).ok();

    let stopped = Command::new("pkill")
        .args(["-TERM", "-x", "dockerd"])
        .status()
        .expect("pkill");
    assert!(stopped.success(), "no dockerd to restart");
    // Gone once its process is: it stops every container first, then removes its pid file.
    assert!(eventually(Duration::from_secs(90), || {
        !Command::new("pgrep")
            .args(["-x", "dockerd"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }));
    // As scripts/setup-host.sh starts it: in the background, left running after this test.
    let started = Command::new("sh")
        .args([
            "-c",
            "nohup dockerd >/var/log/berth-dockerd-restart.log 2>&1 </dev/null &",
        ])
        .status()
        .expect("start dockerd");
    assert!(started.success());
    assert!(eventually(Duration::from_secs(120), engine_answers));

    for (app, body) in [(&one, "one\n"), (&two, "two\n")] {
        assert!(
            eventually(Duration::from_secs(120), || berth
                .get(&Berth::host(app), "/")
                .body
                == body),
            "{app} does not serve again: {}",
            berth.log()
        );
    }
    assert!(eventually(Duration::from_secs(60), || {
        Berth::containers(&two)
            .iter()
            .filter(|(_, _, up)| *up)
            .count()
            == 2
    }));
}
