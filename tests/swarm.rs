//! End to end on a single-node swarm: an app with `scheduler:set … docker-swarm` runs as one
//! Swarm service per process type, whose tasks the proxy reaches directly; deploys, scaling,
//! rollbacks and failing checks go through Berth's own cutover.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::load::Load;
use support::swarm::Swarm;
use support::{docker_lines, eventually, repo, Berth};

/// The app's services, as `ID RELEASE PROCESS RUNNING/REPLICAS`.
fn services(app: &str) -> Vec<String> {
    let ids = docker_lines(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.app={app}"),
    ]);
    ids.iter()
        .map(|id| {
            let labels = docker_lines(&[
                "service",
                "inspect",
                id,
                "--format",
                "{{index .Spec.Labels \"berth.release\"}} {{index .Spec.Labels \"berth.process\"}}",
            ]);
            let replicas = docker_lines(&[
                "service",
                "ls",
                "--filter",
                &format!("id={id}"),
                "--format",
                "{{.Replicas}}",
            ]);
            format!("{id} {} {}", labels.join(""), replicas.join(""))
        })
        .collect()
}

/// The app's containers that are not Swarm tasks.
fn plain_containers(app: &str) -> Vec<String> {
    docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=berth.app={app}"),
        "--format",
        "{{.ID}} {{.Label \"com.docker.swarm.service.id\"}}",
    ])
    .into_iter()
    .filter(|line| line.split_whitespace().count() < 2)
    .collect()
}

fn web_repo(marker: &str) -> tempfile::TempDir {
    repo::create(&repo::as_refs(&repo::web_app(marker)))
}

/// The `HOSTNAME` of the instance that answered (each task's container has its own).
fn answering_host(berth: &Berth, app: &str) -> String {
    let env = berth.get(&Berth::host(app), "/cgi-bin/env").body;
    env.lines()
        .find_map(|line| line.strip_prefix("HOSTNAME="))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_app_on_the_swarm_is_one_service_whose_tasks_the_proxy_serves() {
    let _swarm = Swarm::join();
    let berth = Berth::start();
    let app = berth.app("swarmed");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("scheduler:set {app} selected docker-swarm"))
        .ok();
    berth
        .ssh_input(&format!("secrets:set --no-restart {app} token"), b"first")
        .ok();
    let mut files = repo::web_app("v1");
    files[0].1 = files[0]
        .1
        .replace("exec httpd", "echo started $DYNO; exec httpd");
    files.push((
        "app.json",
        r#"{"healthchecks": {"web": [{"type": "liveness", "name": "alive",
            "command": ["/bin/sh", "-c", "test -d /www"], "wait": 2}]}}"#
            .to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();

    let listed = services(&app);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let fields: Vec<&str> = listed[0].split_whitespace().collect();
    assert_eq!(fields[1..], ["1", "web", "1/1"], "{listed:?}");
    let health = docker_lines(&[
        "service",
        "inspect",
        fields[0],
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}",
    ]);
    assert_eq!(
        health,
        [r#"["CMD","/bin/sh","-c","test -d /www"]"#],
        "the swarm's health check is the declared command check"
    );
    assert_eq!(secret_seen(&app), "first");
    assert_eq!(swarm_secrets(&app).len(), 1);
    assert!(plain_containers(&app).is_empty(), "no plain container");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");
    let report = berth.ssh(&format!("scheduler:report {app}")).ok().stdout;
    assert!(report.contains("docker-swarm"), "{report}");

    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    let listed = services(&app);
    assert_eq!(listed.len(), 1, "still one service: {listed:?}");
    let id = listed[0].split_whitespace().next().unwrap().to_string();
    assert!(
        listed[0].ends_with(" 2/2"),
        "{listed:?} {:#?}",
        docker_lines(&["service", "ps", &id])
    );
    let mut seen = BTreeSet::new();
    let both = eventually(Duration::from_secs(30), || {
        seen.insert(answering_host(&berth, &app));
        seen.len() == 2
    });
    assert!(both, "the proxy answers from both tasks: {seen:?}");
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    for row in ["Scheduler:", "Swarm web v1:", "Swarm task web 2 v1:"] {
        assert!(report.contains(row), "{row} in {report}");
    }
    assert!(report.contains("2/2 running (swarmed-"), "{report}");
    assert!(report.contains("running on "), "{report}");

    berth
        .ssh_input(&format!("secrets:set {app} token"), b"second")
        .ok();
    assert_eq!(secret_seen(&app), "second");
    let pruned = eventually(Duration::from_secs(60), || swarm_secrets(&app).len() == 1);
    assert!(
        pruned,
        "the old value's secret goes with its service: {:?}",
        swarm_secrets(&app)
    );

    let load = Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    repo::commit(source.path(), &[("www/index.html", "v2\n")], "v2");
    berth.push(source.path(), &app, "main").ok();
    load.wait_for_more(100);
    load.stop_without_failures();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v2\n");
    let retired = eventually(Duration::from_secs(60), || services(&app).len() == 1);
    assert!(retired, "v1's service goes: {:?}", services(&app));
    assert!(
        services(&app)[0].contains(" 3 web 2/2"),
        "{:?}",
        services(&app)
    );

    berth.ssh(&format!("releases:rollback {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");
    let logs = berth.ssh(&format!("logs {app}")).ok().stdout;
    assert!(logs.contains("started web.1"), "{logs}");
    let run = berth.ssh(&format!("run {app} echo from-a-one-off")).ok();
    assert!(run.stdout.contains("from-a-one-off"), "{run:#?}");

    // Scaling down stops the task Berth drained (web.2), not one the swarm picks.
    let first = running_task(&app, 1);
    assert!(!first.is_empty(), "{:?}", services(&app));
    let load = Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    berth.ssh(&format!("ps:scale {app} web=1")).ok();
    let one_left = eventually(Duration::from_secs(60), || running_tasks(&app).len() == 1);
    load.wait_for_more(100);
    load.stop_without_failures();
    assert!(one_left, "{:?}", running_tasks(&app));
    assert_eq!(running_tasks(&app), [format!("{first} 1")]);
}

/// The app's Swarm secrets.
fn swarm_secrets(app: &str) -> Vec<String> {
    docker_lines(&[
        "secret",
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.app={app}"),
    ])
}

/// What the app's newest running task reads at `/run/secrets/token`.
fn secret_seen(app: &str) -> String {
    let newest = docker_lines(&[
        "ps",
        "-l",
        "-q",
        "--filter",
        &format!("label=berth.app={app}"),
    ]);
    docker_lines(&["exec", &newest[0], "cat", "/run/secrets/token"]).join("\n")
}

/// The app's running task containers, as `ID SLOT`.
fn running_tasks(app: &str) -> Vec<String> {
    docker_lines(&[
        "ps",
        "--filter",
        &format!("label=berth.app={app}"),
        "--format",
        "{{.ID}} {{.Label \"com.docker.swarm.task.name\"}}",
    ])
    .into_iter()
    .filter_map(|line| {
        let (id, task) = line.split_once(' ')?;
        let slot = task.split('.').nth(1)?;
        Some(format!("{id} {slot}"))
    })
    .collect()
}

/// The id of the running task container in `slot`.
fn running_task(app: &str, slot: u32) -> String {
    running_tasks(app)
        .into_iter()
        .find_map(|line| line.strip_suffix(&format!(" {slot}")).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn a_failing_check_on_the_swarm_leaves_the_old_release_serving_and_a_restart_adopts_it() {
    let _swarm = Swarm::join();
    let mut berth = Berth::start();
    berth
        .ssh("scheduler:set --global selected docker-swarm")
        .ok();
    let app = berth.app("swarmcheck");
    let mut files = repo::web_app("good");
    files.push(("www/health", "ok\n".to_string()));
    files.push((
        "app.json",
        r#"{"healthchecks": {"web": [{"type": "startup", "name": "health page", "path": "/health",
            "content": "ok", "attempts": 2, "wait": 1, "timeout": 2}]}}"#
            .to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(services(&app).len(), 1, "the global default took effect");

    repo::commit(source.path(), &[("www/health", "sick\n")], "sick");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr.contains("check \"health page\" failed"),
        "{push:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "good\n");
    let listed = services(&app);
    assert_eq!(
        listed.len(),
        1,
        "the failed release's service is gone: {listed:?}"
    );
    assert!(listed[0].contains(" 1 web "), "{listed:?}");

    let version = |service: &str| {
        docker_lines(&[
            "service",
            "inspect",
            service,
            "--format",
            "{{.Version.Index}}",
        ])
    };
    let service = listed[0].split_whitespace().next().unwrap().to_string();
    let before = version(&service);
    berth.restart();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "good\n");
    assert_eq!(version(&service), before, "adopted as it was, not updated");
    assert_eq!(services(&app), listed);

    // A task that dies is replaced by the swarm, and the proxy follows the replacement.
    let dead = running_task(&app, 1);
    docker_lines(&["kill", &dead]);
    let followed = eventually(Duration::from_secs(60), || {
        let now = running_task(&app, 1);
        !now.is_empty() && now != dead && berth.get(&Berth::host(&app), "/").body == "good\n"
    });
    assert!(followed, "{:?}", running_tasks(&app));
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(report.contains("Running:"), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.contains("Running:") && l.ends_with("true")),
        "the replaced task is not reported beside its replacement: {report}"
    );
}

#[test]
fn moving_an_app_to_the_swarm_and_back_is_a_checked_cutover() {
    let _swarm = Swarm::join();
    let berth = Berth::start();
    let app = berth.app("mover");
    berth.push(web_repo("moving").path(), &app, "main").ok();
    assert!(services(&app).is_empty());

    berth
        .ssh(&format!(
            "scheduler-docker-swarm:set {app} placement node.role==manager"
        ))
        .ok();
    let load = Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    berth
        .ssh(&format!("scheduler:set {app} selected docker-swarm"))
        .ok();
    load.wait_for_more(100);
    let service = services(&app)[0]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let placement = docker_lines(&[
        "service",
        "inspect",
        &service,
        "--format",
        "{{json .Spec.TaskTemplate.Placement.Constraints}}",
    ]);
    assert_eq!(placement, [r#"["node.role==manager"]"#]);
    let moved = eventually(Duration::from_secs(30), || {
        plain_containers(&app).is_empty()
    });
    assert!(
        moved,
        "the plain container retires: {:?}",
        plain_containers(&app)
    );
    assert_eq!(services(&app).len(), 1);
    berth.ssh(&format!("ps:restart {app}")).ok();
    load.wait_for_more(100);
    let restarted = eventually(Duration::from_secs(60), || {
        let now = services(&app);
        now.len() == 1 && !now[0].starts_with(&service[..12])
    });
    assert!(
        restarted,
        "a restart is a new service: {:?}",
        services(&app)
    );

    berth
        .ssh(&format!("scheduler:set {app} selected docker-local"))
        .ok();
    load.wait_for_more(100);
    load.stop_without_failures();
    let back = eventually(Duration::from_secs(60), || services(&app).is_empty());
    assert!(back, "the service goes: {:?}", services(&app));
    assert_eq!(plain_containers(&app).len(), 1);
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "moving\n");

    berth
        .ssh(&format!("scheduler:set {app} selected docker-swarm"))
        .ok();
    berth.ssh(&format!("ps:stop {app}")).ok();
    let stopped = eventually(Duration::from_secs(60), || services(&app).is_empty());
    assert!(stopped, "ps:stop removes the service: {:?}", services(&app));
    berth.ssh(&format!("ps:start {app}")).ok();
    assert_eq!(services(&app).len(), 1);
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "moving\n");
}

#[test]
fn a_swarm_app_pushed_to_a_registry_runs_the_image_its_nodes_pull_with_the_login() {
    let _swarm = Swarm::join();
    let registry = support::registry::Registry::start("ci");
    let berth = Berth::start();
    let server = &registry.server;
    let app = berth.app("registered");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("scheduler:set {app} selected docker-swarm"))
        .ok();
    berth
        .ssh(&format!("registry:set {app} server {server}"))
        .ok();
    berth
        .ssh(&format!("registry:set {app} push-on-release true"))
        .ok();
    let password = format!("{}\n", registry.password);
    berth
        .ssh_input(&format!("registry:login {server} ci"), password.as_bytes())
        .ok();
    berth.push(web_repo("pulled").path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "pulled\n");
    // The registry's name, which this host had not kept: the manager pulled it with the login.
    let id = docker_lines(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.app={app}"),
    ]);
    let image = docker_lines(&[
        "service",
        "inspect",
        &id[0],
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    ]);
    assert!(
        image[0].starts_with(&format!("{server}/{app}:1")),
        "{image:?}"
    );
}

#[test]
fn an_update_the_swarm_rolls_back_leaves_the_release_serving_and_is_reported() {
    let _swarm = Swarm::join();
    let berth = Berth::start();
    let app = berth.app("rolled");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("scheduler:set {app} selected docker-swarm"))
        .ok();
    berth.push(web_repo("kept").path(), &app, "main").ok();
    let id = services(&app)[0]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    // An update made outside Berth whose task cannot start: the swarm rolls it back.
    let update = std::process::Command::new("docker")
        .args(["service", "update", "--detach", "--image"])
        .args(["berth-base/absent:none", &id])
        .output()
        .expect("docker service update");
    assert!(update.status.success(), "{update:?}");
    let mut report = String::new();
    let rolled = eventually(Duration::from_secs(120), || {
        report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
        report.contains("Swarm web v1 update:") && report.contains("rollback_completed")
    });
    assert!(rolled, "{report}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "kept\n");
    assert!(report.contains("1/1 running"), "{report}");
}
