//! End to end: the bundled postgres and redis plugins on the test images built from Debian's
//! packages (scripts/service-images.sh): create, link to an app that writes through
//! DATABASE_URL / REDIS_URL, survive restarts of the service, the app and the daemon, export,
//! destroy, create, import, and refuse bad input with one line and nothing changed.

mod support;

use std::process::Command;

use support::{repo, unique, Berth};

/// Service containers and networks a test made, removed when it ends (declared before the
/// `Berth`, so after it).
#[derive(Default)]
struct Services(std::sync::Mutex<Vec<(&'static str, String)>>);

impl Services {
    fn name(&self, kind: &'static str) -> String {
        let name = unique("svc");
        self.0.lock().unwrap().push((kind, name.clone()));
        name
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for (kind, name) in self.0.lock().unwrap().iter() {
            let container = format!("berth.{kind}.{name}");
            let _ = Command::new("docker")
                .args(["rm", "-f", &container])
                .output();
            let network = format!("berth-{kind}-{name}");
            let _ = Command::new("docker")
                .args(["network", "rm", &network])
                .output();
        }
    }
}

/// What GET `path` answers through the proxy.
fn read(berth: &Berth, app: &str, path: &str) -> String {
    berth.get(&Berth::host(app), path).body
}

fn refused(berth: &Berth, line: &str) -> String {
    let run = berth.ssh(line);
    assert_eq!(run.code, 1, "{line}: {run:#?}");
    run.stderr.trim_end().to_string()
}

#[test]
fn a_postgres_service_keeps_an_apps_rows_through_restarts_export_and_import() {
    let services = Services::default();
    let mut berth = Berth::start();
    let app = berth.app("pgapp");
    let source = repo::create(&repo::as_refs(&repo::service_app()));
    berth.push(source.path(), &app, "main").ok();
    let db = services.name("postgres");
    let create = format!("postgres:create {db} --image berth-test/postgres --image-version 15");
    let created = berth.ssh(&create).ok();
    assert!(
        created
            .stdout
            .contains(&format!("=====> Postgres container created: {db}")),
        "{created:#?}"
    );
    assert!(created
        .stdout
        .contains(" postgres://postgres:********@berth-postgres-"));
    assert_eq!(
        refused(&berth, &create),
        format!(" !     Postgres service {db} already exists")
    );
    assert_eq!(
        refused(&berth, &format!("postgres:link nothing-here {app}")),
        " !     Postgres service nothing-here does not exist"
    );
    assert_eq!(
        refused(&berth, &format!("postgres:link {db} no-such-app")),
        " !     App no-such-app does not exist"
    );

    berth.ssh(&format!("postgres:link {db} {app}")).ok();
    let dsn = berth.cli(&["postgres:info", &db, "--dsn"], b"").ok().stdout;
    assert!(
        !dsn.contains("********"),
        "the server's CLI sees the password"
    );
    assert_eq!(
        berth
            .ssh(&format!("config:get {app} DATABASE_URL"))
            .ok()
            .stdout,
        dsn
    );
    assert!(!berth
        .ssh(&format!("ps:report {app}"))
        .ok()
        .stdout
        .contains(dsn.trim()));
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-write?alpha"), "written\n");
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");

    berth.ssh(&format!("postgres:restart {db}")).ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    berth.ssh(&format!("ps:restart {app}")).ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    berth.restart();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");

    let (code, dump) = berth.ssh_bytes(&format!("postgres:export {db}"));
    assert_eq!(
        (code, &dump[..5]),
        (0, &b"PGDMP"[..]),
        "a custom-format dump"
    );
    assert_eq!(
        refused(&berth, &format!("postgres:destroy {db}")),
        format!(
            " !     Cannot delete linked service: it is linked to {app}; postgres:destroy {db} --force unlinks them first"
        )
    );
    berth.ssh(&format!("postgres:destroy {db} --force")).ok();
    assert_eq!(
        berth.ssh(&format!("config:get {app} DATABASE_URL")).code,
        1,
        "unlinked first"
    );
    berth.ssh(&create).ok();
    berth.ssh(&format!("postgres:link {db} {app}")).ok();
    assert_ne!(
        read(&berth, &app, "/cgi-bin/pg-read"),
        "alpha\n",
        "a new, empty database"
    );
    berth
        .ssh_input(&format!("postgres:import {db}"), &dump)
        .ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    let corrupt = berth.ssh_input(&format!("postgres:import {db}"), b"PGDMP not really");
    assert_eq!(corrupt.code, 1, "{corrupt:#?}");
    assert!(
        corrupt.stderr.ends_with(&format!(
            " !     Import into {db} failed; its data is as it was\n"
        )),
        "{corrupt:#?}"
    );
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    berth.ssh(&format!("postgres:destroy {db} --force")).ok();
}

#[test]
fn a_redis_service_keeps_a_key_through_restarts_export_and_import() {
    let services = Services::default();
    let mut berth = Berth::start();
    let app = berth.app("rdapp");
    let source = repo::create(&repo::as_refs(&repo::service_app()));
    berth.push(source.path(), &app, "main").ok();
    let store = services.name("redis");
    let create = format!("redis:create {store} --image berth-test/redis --image-version 7");
    berth.ssh(&create).ok();
    berth.ssh(&format!("redis:link {store} {app}")).ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-write?bravo"), "OK\n");
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");
    berth.ssh(&format!("redis:restart {store}")).ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    berth.restart();
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");

    let (code, dump) = berth.ssh_bytes(&format!("redis:export {store}"));
    assert_eq!((code, &dump[..5]), (0, &b"REDIS"[..]), "an RDB file");
    berth.ssh(&format!("redis:destroy {store} --force")).ok();
    berth.ssh(&create).ok();
    berth.ssh(&format!("redis:link {store} {app}")).ok();
    assert_eq!(
        read(&berth, &app, "/cgi-bin/redis-read"),
        "\n",
        "a new, empty store"
    );
    berth
        .ssh_input(&format!("redis:import {store}"), &dump)
        .ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");
    let corrupt = berth.ssh_input(&format!("redis:import {store}"), b"not a dump");
    assert_eq!(corrupt.code, 1, "{corrupt:#?}");
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");
    berth.ssh(&format!("redis:destroy {store} --force")).ok();
}
