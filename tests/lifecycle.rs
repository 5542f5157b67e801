//! End to end: the daemon re-adopts running containers after a restart, and `apps:destroy`
//! removes everything an app had.

mod support;

use std::time::Duration;

use support::engine::EngineRelay;
use support::{eventually, repo, Berth};

#[test]
fn a_daemon_restart_keeps_routes_and_containers() {
    let mut berth = Berth::start();
    let app = berth.app("restart");
    let source = repo::create(&repo::as_refs(&repo::web_app("still here")));
    berth.push(source.path(), &app, "main").ok();
    let before = Berth::containers(&app);

    berth.restart();
    let response = berth.get(&Berth::host(&app), "/");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, "still here\n");
    assert_eq!(Berth::containers(&app), before, "adopted, not recreated");

    repo::commit(
        source.path(),
        &[("www/index.html", "after restart\n")],
        "v2",
    );
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "after restart\n");
}

#[test]
fn destroy_removes_containers_images_repo_and_state() {
    let berth = Berth::start();
    let app = berth.app("doomed");
    let source = repo::create(&repo::as_refs(&repo::web_app("bye")));
    berth.push(source.path(), &app, "main").ok();
    assert!(!Berth::images(&app).is_empty());

    let refused = berth.ssh(&format!("apps:destroy {app}"));
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("needs a terminal"), "{refused:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 200);

    berth.ssh(&format!("apps:destroy {app} --force")).ok();
    assert!(Berth::containers(&app).is_empty());
    assert!(Berth::images(&app).is_empty());
    assert!(!berth.data_dir().join(format!("repos/{app}.git")).exists());
    assert!(!berth.data_dir().join(format!("apps/{app}")).exists());
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 404);
    assert_eq!(berth.ssh(&format!("apps:exists {app}")).code, 20);
}

#[test]
fn destroy_with_a_terminal_asks_for_the_name() {
    let berth = Berth::start();
    let app = berth.app("confirm");
    berth.ssh(&format!("apps:create {app}")).ok();

    let wrong = berth.ssh_tty(&format!("apps:destroy {app}"), b"nope\r");
    assert_ne!(wrong.code, 0, "{wrong:#?}");
    assert_eq!(berth.ssh(&format!("apps:exists {app}")).code, 0);

    let typed = format!("{app}\r");
    let run = berth.ssh_tty(&format!("apps:destroy {app}"), typed.as_bytes());
    assert_eq!(run.code, 0, "{run:#?}");
    let shown = format!("{}{}", run.stdout, run.stderr);
    assert!(
        shown.contains(&format!("To proceed, type \"{app}\"")),
        "{run:#?}"
    );
    assert!(eventually(Duration::from_secs(5), || {
        berth.ssh(&format!("apps:exists {app}")).code == 20
    }));
}

fn remove_behind_berths_back(app: &str) {
    let ids: Vec<String> = Berth::containers(app).into_iter().map(|c| c.0).collect();
    let removed = std::process::Command::new("docker")
        .args(["rm", "-f"])
        .args(&ids)
        .output()
        .expect("docker rm");
    assert!(removed.status.success());
}

#[test]
fn apps_whose_containers_vanished_are_restored() {
    let mut berth = Berth::start();
    let app = berth.app("restore");
    let source = repo::create(&repo::as_refs(&repo::web_app("restored")));
    berth.push(source.path(), &app, "main").ok();

    remove_behind_berths_back(&app);
    // The removed container leaves the route: 502.
    assert_ne!(berth.get(&Berth::host(&app), "/").body, "restored\n");
    let run = berth.ssh(&format!("ps:restore {app}")).ok();
    assert!(run.stdout.contains(&format!("Restoring {app}")), "{run:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "restored\n");
    let nothing = berth.ssh("ps:restore").ok();
    assert!(
        nothing.stdout.contains("Nothing to restore"),
        "{nothing:#?}"
    );

    remove_behind_berths_back(&app);
    berth.restart();
    assert!(
        eventually(Duration::from_secs(30), || berth
            .get(&Berth::host(&app), "/")
            .body
            == "restored\n"),
        "the daemon restores it at start:\n{}",
        berth.log()
    );

    // ps:set restore false: neither ps:restore nor the daemon's start brings it back.
    berth.ssh(&format!("ps:set {app} restore false")).ok();
    let report = berth.ssh(&format!("ps:report {app} --restore")).ok().stdout;
    assert_eq!(report, "false\n");
    remove_behind_berths_back(&app);
    let kept = berth.ssh(&format!("ps:restore {app}")).ok();
    assert!(kept.stdout.contains("Nothing to restore"), "{kept:#?}");
    berth.restart();
    assert!(
        Berth::containers(&app).is_empty(),
        "not restored at start: {:?}",
        Berth::containers(&app)
    );
    berth.ssh(&format!("ps:start {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "restored\n");
}

fn docker(args: &[&str]) -> String {
    let output = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker");
    assert!(output.status.success(), "docker {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn address_of(container: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{(index .NetworkSettings.Networks \"berth\").IPAddress}}",
        container,
    ])
}

/// What a crash or an engine restart can do: while the instance `id` is down, another
/// container takes its address, and answers on the app's port there. The placeholders carry
/// the app's label (cleaned up with it) as one-offs (invisible to Berth).
/// Returns the address it had.
fn stop_and_take_address(app: &str, id: &str) -> String {
    let old = address_of(id);
    let env = docker(&[
        "inspect",
        "-f",
        "{{range .Config.Env}}{{println .}}{{end}}",
        id,
    ]);
    let port = env
        .lines()
        .find_map(|line| line.strip_prefix("PORT="))
        .expect("PORT")
        .to_string();
    docker(&["stop", "-t", "1", id]);
    let label = format!("berth.app={app}");
    let taken = (0..20).any(|_| {
        let placeholder = docker(&[
            "run",
            "-d",
            "--network",
            "berth",
            "--label",
            &label,
            "--label",
            "berth.oneoff=true",
            "berth-base/busybox:latest",
            "httpd",
            "-f",
            "-p",
            &port,
        ]);
        address_of(&placeholder) == old
    });
    assert!(taken, "no placeholder got {old}");
    old
}

/// `stop_and_take_address`, then the instance starts again, at another address.
fn restart_elsewhere(app: &str, id: &str) {
    let old = stop_and_take_address(app, id);
    docker(&["start", id]);
    assert_ne!(address_of(id), old);
}

/// The app's only container.
fn only_container(app: &str) -> String {
    match &Berth::containers(app)[..] {
        [(id, _, _)] => id.clone(),
        other => panic!("one container: {other:?}"),
    }
}

#[test]
fn an_instance_restarted_with_a_new_address_keeps_serving() {
    let berth = Berth::start();
    let app = berth.app("moved");
    let source = repo::create(&repo::as_refs(&repo::web_app("followed")));
    berth.push(source.path(), &app, "main").ok();
    let id = only_container(&app);
    let old = stop_and_take_address(&app, &id);
    let down = format!("App {app} has no running container\n");
    let refused = || {
        let response = berth.get(&Berth::host(&app), "/");
        response.status == 502 && response.body == down
    };
    assert!(
        eventually(Duration::from_secs(10), refused),
        "the stopped instance leaves the route:\n{}",
        berth.log()
    );
    for _ in 0..3 {
        let response = berth.get(&Berth::host(&app), "/");
        assert_eq!(
            (response.status, response.body.as_str()),
            (502, down.as_str()),
            "nothing goes to the container that took its address:\n{}",
            berth.log()
        );
    }
    docker(&["start", &id]);
    assert_ne!(address_of(&id), old);
    assert!(
        eventually(Duration::from_secs(30), || berth
            .get(&Berth::host(&app), "/")
            .body
            == "followed\n"),
        "the route follows the instance to its new address:\n{}",
        berth.log()
    );
    assert!(berth.log().contains("runs again"), "{}", berth.log());
}

#[test]
fn what_happened_while_the_engine_was_unreachable_is_caught_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = EngineRelay::start(dir.path());
    let berth = Berth::start_on_engine(&relay.url());
    let moved = berth.app("unseen");
    let removed = berth.app("vanished");
    for app in [&moved, &removed] {
        let source = repo::create(&repo::as_refs(&repo::web_app(app)));
        berth.push(source.path(), app, "main").ok();
    }

    // While the daemon cannot reach the engine (its connections cut, as when dockerd restarts),
    // one app's container comes back at another address and the other app's disappears.
    relay.cut();
    restart_elsewhere(&moved, &only_container(&moved));
    docker(&["rm", "-f", &only_container(&removed)]);
    relay.reconnect();

    for app in [&moved, &removed] {
        assert!(
            eventually(Duration::from_secs(60), || berth
                .get(&Berth::host(app), "/")
                .body
                == format!("{app}\n")),
            "{app} serves again:\n{}",
            berth.log()
        );
    }
    assert!(
        berth.log().contains("the engine answers again"),
        "{}",
        berth.log()
    );
}

#[test]
fn restart_policy_and_inspect() {
    let berth = Berth::start();
    let app = berth.app("policy");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("ps:set {app} restart-policy always"))
        .ok();
    let bad = berth.ssh(&format!("ps:set {app} restart-policy sometimes"));
    assert!(
        bad.stderr.contains("Invalid restart-policy specified"),
        "{bad:#?}"
    );
    berth
        .ssh(&format!("config:set --no-restart {app} SECRET=hunter2"))
        .ok();
    let source = repo::create(&repo::as_refs(&repo::web_app("policy")));
    berth.push(source.path(), &app, "main").ok();

    let inspect = berth.ssh(&format!("ps:inspect {app}")).ok().stdout;
    let parsed: serde_json::Value = serde_json::from_str(&inspect).expect("json");
    assert_eq!(parsed[0]["HostConfig"]["RestartPolicy"]["Name"], "always");
    assert!(
        inspect.contains("SECRET=<hidden>") && !inspect.contains("hunter2"),
        "{inspect}"
    );
}

#[test]
fn enter_runs_commands_in_a_running_container() {
    let berth = Berth::start();
    let app = berth.app("enter");
    let source = repo::create(&repo::as_refs(&repo::web_app("entered")));
    berth.push(source.path(), &app, "main").ok();

    let run = berth
        .ssh(&format!("enter {app} web cat /www/index.html"))
        .ok();
    assert_eq!(run.stdout, "entered\n");
    let failed = berth.ssh(&format!("enter {app} web.1 sh -c 'exit 5'"));
    assert_eq!(failed.code, 5);
    let missing = berth.ssh(&format!("enter {app} worker"));
    assert!(
        missing.stderr.contains("has no running worker.1"),
        "{missing:#?}"
    );
    // Dokku's --container-id, with the short id `docker ps` shows.
    let id = Berth::containers(&app)[0].0.clone();
    let by_id = berth
        .ssh(&format!(
            "enter {app} --container-id {id} cat /www/index.html"
        ))
        .ok();
    assert_eq!(by_id.stdout, "entered\n");
    let other = berth.ssh(&format!("enter {app} --container-id abc123"));
    assert!(
        other
            .stderr
            .contains(&format!("{app} has no running container abc123")),
        "{other:#?}"
    );

    let session = berth.ssh_tty(
        &format!("enter {app} web sh -c 'test -t 0 && read line && echo inside-$line; exit 3'"),
        b"42\n",
    );
    assert_eq!(session.code, 3, "{session:#?}");
    assert!(session.stdout.contains("inside-42"), "{session:#?}");
}
