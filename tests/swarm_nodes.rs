//! End to end on a swarm of two nodes: the manager (this machine's engine, where Berth runs)
//! and a worker (a second engine on this machine, `scripts/swarm-node.sh`). Tasks on the
//! worker are reached at its address and the port it publishes for each task; they pull the
//! image from the registry Berth pushed it to; scaling down and a node that leaves go through
//! Berth's checked cutover and the proxy's following of tasks. Its own test binary: the other
//! swarm tests assume one node.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::load::Load;
use support::registry::Registry;
use support::swarm::{Swarm, Worker};
use support::{docker_lines, eventually, repo, Berth};

/// The app's task containers on the manager's engine.
fn on_manager(app: &str) -> Vec<String> {
    docker_lines(&["ps", "-q", "--filter", &format!("label=berth.app={app}")])
}

/// The app's task containers on the worker's engine.
fn on_worker(worker: &Worker, app: &str) -> Vec<String> {
    worker.lines(&["ps", "-q", "--filter", &format!("label=berth.app={app}")])
}

/// The `HOSTNAME`s of the instances that answer within a few dozen requests.
fn answering_hosts(berth: &Berth, app: &str) -> BTreeSet<String> {
    (0..30)
        .map(|_| berth.get(&Berth::host(app), "/cgi-bin/env").body)
        .filter_map(|env| {
            env.lines()
                .find_map(|line| line.strip_prefix("HOSTNAME="))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn tasks_on_another_node_are_served_at_its_published_ports_and_outlive_the_node_leaving() {
    let _swarm = Swarm::join();
    let mut worker = Worker::join(1);
    let registry = Registry::start("ci");
    let berth = Berth::start();
    let server = &registry.server;
    berth
        .ssh(&format!("registry:set --global server {server}"))
        .ok();
    let password = format!("{}\n", registry.password);
    berth
        .ssh_input(&format!("registry:login {server} ci"), password.as_bytes())
        .ok();
    let app = berth.app("spread");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("scheduler:set {app} selected docker-swarm"))
        .ok();
    berth
        .ssh(&format!(
            "scheduler-docker-swarm:set {app} placement node.role==worker"
        ))
        .ok();
    let mut files = repo::web_app("remote");
    files[0].1 = files[0]
        .1
        .replace("exec httpd", "echo started $DYNO on the worker; exec httpd");
    // A command check, which only the swarm can run on the worker (as the service's health
    // check): the deploy counts on its verdict there.
    files.push((
        "app.json",
        r#"{"healthchecks": {"web": [{"type": "startup", "name": "files",
            "command": ["/bin/sh", "-c", "test -d /www"]}]}}"#
            .to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    let pushed = berth.push(source.path(), &app, "main").ok();
    let said = format!("{}{}", pushed.stdout, pushed.stderr);
    assert!(said.contains(&format!("to {server}/{app}:1")), "{said}");

    // The task runs on the worker, which pulled the image; the proxy reaches it there.
    assert_eq!(on_worker(&worker, &app).len(), 1);
    assert!(on_manager(&app).is_empty(), "{:?}", on_manager(&app));
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "remote\n");
    // What the swarm knows of it, where the manager's engine has no container to ask.
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    let row = format!("       {:<31}running (CID: ", "Status web 1:");
    assert!(report.contains(&row), "{report}");
    let inspected = berth.ssh(&format!("ps:inspect {app}")).ok().stdout;
    assert!(
        inspected.contains("\"NodeID\""),
        "the swarm's task: {inspected}"
    );
    assert!(
        inspected.contains("\"PORT=<hidden>\"") && !inspected.contains("PORT=5000"),
        "config values stay hidden: {inspected}"
    );
    // Its logs, which the manager's engine cannot read from a container, come from the swarm.
    let logs = berth.ssh(&format!("logs {app}")).ok().stdout;
    assert!(logs.contains("started web.1 on the worker"), "{logs}");

    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    assert_eq!(on_worker(&worker, &app).len(), 2);
    let both = eventually(Duration::from_secs(30), || {
        answering_hosts(&berth, &app).len() == 2
    });
    assert!(both, "the proxy answers from both tasks on the worker");

    let load = Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    repo::commit(source.path(), &[("www/index.html", "again\n")], "again");
    berth.push(source.path(), &app, "main").ok();
    load.wait_for_more(100);
    load.stop_without_failures();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "again\n");

    // The swarm, not Berth, would pick the task a scale-down removes: a restart instead.
    let load = Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    let scaled = berth.ssh(&format!("ps:scale {app} web=1")).ok();
    assert!(
        scaled.stdout.contains("restarting at the new scale"),
        "{scaled:#?}"
    );
    load.wait_for_more(100);
    load.stop_without_failures();
    let one = eventually(Duration::from_secs(60), || {
        on_worker(&worker, &app).len() == 1
    });
    assert!(one, "{:?}", on_worker(&worker, &app));

    // Spread over both nodes, then the worker goes away: its task is started again on the
    // manager, and the proxy follows it there.
    berth
        .ssh(&format!("scheduler-docker-swarm:set {app} placement"))
        .ok();
    berth
        .ssh(&format!("ps:scale --skip-deploy {app} web=2"))
        .ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    let spread = eventually(Duration::from_secs(60), || {
        on_worker(&worker, &app).len() == 1 && on_manager(&app).len() == 1
    });
    assert!(spread, "one task on each node");
    worker.leave();
    let moved = eventually(Duration::from_secs(120), || on_manager(&app).len() == 2);
    assert!(moved, "the swarm starts the lost task on the manager");
    let served = eventually(Duration::from_secs(60), || {
        answering_hosts(&berth, &app).len() == 2
    });
    assert!(served, "the proxy answers from both tasks on the manager");
    let mut report = String::new();
    let healthy = eventually(Duration::from_secs(60), || {
        report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
        report.contains("2/2 running")
    });
    assert!(healthy, "{report}");
    assert!(report.contains(", whose node is down)"), "{report}");
}
