//! End to end: the bundled postgres and redis plugins on the test images built from Debian's
//! packages (scripts/service-images.sh): create, link to an app that writes through
//! DATABASE_URL / REDIS_URL, survive restarts of the service, the app and the daemon, export,
//! destroy, create, import, and refuse bad input with one line and nothing changed.

mod support;

use std::process::Command;
use std::time::Duration;

use support::load::Load;
use support::services::Services;
use support::{eventually, repo, unique, Berth};

/// A local tag of an image, removed when dropped.
struct Tag(String);

impl Tag {
    fn new(image: &str, tag: &str) -> Tag {
        let status = Command::new("docker").args(["tag", image, tag]).status();
        assert!(status.unwrap().success());
        Tag(tag.to_string())
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.0]).output();
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

    berth
        .ssh(&format!(
            "config:set --no-restart {app} DATABASE_URL=elsewhere"
        ))
        .ok();
    assert_eq!(
        refused(&berth, &format!("postgres:link {db} {app}")),
        format!(" !     App {app} already has DATABASE_URL; link with --alias NAME")
    );
    let networks = format!("network:report {app} --network-attach-post-create");
    assert_eq!(berth.ssh(&networks).ok().stdout, "\n", "nothing changed");
    berth
        .ssh(&format!("config:unset --no-restart {app} DATABASE_URL"))
        .ok();
    berth.ssh(&format!("postgres:link {db} {app}")).ok();
    assert_eq!(
        berth.ssh(&networks).ok().stdout,
        format!("berth-postgres-{db}\n")
    );
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
    let password = dsn.split([':', '@']).nth(2).unwrap().to_string();
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(!report.contains(&password));
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-write?alpha"), "written\n");
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");

    berth.ssh(&format!("postgres:restart {db}")).ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    berth.ssh(&format!("ps:restart {app}")).ok();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    berth.restart();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-read"), "alpha\n");
    let query = b"SELECT body FROM notes;\n";
    let connected = berth.ssh_input(&format!("postgres:connect {db}"), query);
    assert!(connected.ok().stdout.contains("alpha"));
    let prompt = format!("{}=#", db.replace('-', "_"));
    let typed = berth.ssh_typing(
        &format!("postgres:connect {db}"),
        &[(&prompt, b"SELECT body FROM notes;\n"), ("alpha", b"\\q\n")],
    );
    assert!(typed.contains("(1 row)"), "psql on a terminal: {typed}");

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

    // Backups: by hand, keeping the last two; on a schedule, restored.
    let dumps = || -> Vec<std::path::PathBuf> {
        let dir = berth.data_dir().join("backups/nightly");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "dump"));
        files.sort();
        files
    };
    for _ in 0..3 {
        berth
            .ssh(&format!("postgres:backup {db} nightly --keep 2"))
            .ok();
    }
    assert_eq!(dumps().len(), 2, "{:?}", dumps());
    for file in dumps() {
        std::fs::remove_file(file).unwrap();
    }
    assert_eq!(
        refused(&berth, &format!("postgres:backup {db} ../escape")),
        " !     Invalid backup directory \"../escape\": a name (lowercase letters, digits, - and _) under <data_dir>/backups/"
    );
    berth
        .ssh(&format!(
            "postgres:backup-schedule {db} '* * * * *' nightly"
        ))
        .ok();
    let scheduled = eventually(Duration::from_secs(150), || !dumps().is_empty());
    assert!(scheduled, "no scheduled backup: {}", berth.log());
    berth.ssh(&format!("postgres:backup-unschedule {db}")).ok();
    let backup = std::fs::read(&dumps()[0]).unwrap();
    assert_eq!(read(&berth, &app, "/cgi-bin/pg-write?beta"), "written\n");
    berth
        .ssh_input(&format!("postgres:import {db}"), &backup)
        .ok();
    assert_eq!(
        read(&berth, &app, "/cgi-bin/pg-read"),
        "alpha\n",
        "the backup restored"
    );
    berth.ssh(&format!("postgres:destroy {db} --force")).ok();
    assert!(
        !berth.log().contains(&password),
        "the password never reaches the log"
    );
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
    // Linking restarts the app through the cutover: no request fails meanwhile.
    let load = Load::start(berth.http, &Berth::host(&app), 8);
    load.wait_for_more(100);
    berth.ssh(&format!("redis:link {store} {app}")).ok();
    load.wait_for_more(100);
    let samples = load.stop();
    let failed: Vec<_> = samples.iter().filter(|s| s.outcome.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert!(samples
        .iter()
        .all(|s| s.outcome.as_deref() == Ok("services\n")));
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-write?bravo"), "OK\n");
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");
    berth.ssh(&format!("redis:restart {store}")).ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    berth.restart();
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");

    // The listing commands, the container's output and a command in it, stop and start.
    assert!(berth
        .ssh("redis:list")
        .ok()
        .stdout
        .contains(&format!("\n{store}\n")));
    let exists = berth.ssh(&format!("redis:exists {store}")).ok().stdout;
    assert_eq!(exists, format!("-----> Service {store} exists\n"));
    assert_eq!(
        berth.ssh(&format!("redis:links {store}")).ok().stdout,
        format!("{app}\n")
    );
    berth.ssh(&format!("redis:linked {store} {app}")).ok();
    assert!(berth
        .ssh(&format!("redis:logs {store} 50"))
        .ok()
        .stdout
        .contains("Ready to accept connections"));
    let entered = berth
        .ssh(&format!("redis:enter {store} redis-cli --version"))
        .ok();
    assert!(entered.stdout.starts_with("redis-cli 7."), "{entered:#?}");
    let policy = Command::new("docker")
        .args(["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}"])
        .arg(format!("berth.redis.{store}"))
        .output()
        .unwrap();
    assert_eq!(policy.stdout, b"always\n", "back after a host reboot");
    berth.ssh(&format!("redis:stop {store}")).ok();
    assert_eq!(
        berth
            .ssh(&format!("redis:info {store} --status"))
            .ok()
            .stdout,
        "exited\n"
    );
    berth.ssh(&format!("redis:start {store}")).ok();
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

    // Another image on the same data (a local tag of the test image).
    let tag = unique("next");
    let image = Tag::new("berth-test/redis:7", &format!("berth-test/redis:{tag}"));
    let upgrade = format!("redis:upgrade {store} --image-version {tag}");
    berth.ssh(&upgrade).ok();
    assert_eq!(
        berth
            .ssh(&format!("redis:info {store} --version"))
            .ok()
            .stdout,
        format!("{}\n", image.0)
    );
    assert_eq!(read(&berth, &app, "/cgi-bin/redis-read"), "bravo\n");
    assert_eq!(
        refused(&berth, &upgrade),
        format!(" !     Service {store} already running {}", image.0)
    );
    berth.ssh(&format!("redis:unlink {store} {app}")).ok();
    assert_eq!(berth.ssh(&format!("redis:linked {store} {app}")).code, 1);
    assert_eq!(berth.ssh(&format!("config:get {app} REDIS_URL")).code, 1);
    let networks = format!("network:report {app} --network-attach-post-create");
    assert_eq!(berth.ssh(&networks).ok().stdout, "\n");
    berth.ssh(&format!("redis:destroy {store} --force")).ok();
    assert_eq!(berth.ssh(&format!("redis:exists {store}")).code, 1);
}

#[test]
fn crafted_images_and_passwords_cannot_inject_docker_options_or_settings() {
    let berth = Berth::start();
    for (line, said) in [
        (
            "postgres:create evil --image -v/:/host",
            " !     Invalid image \"-v/:/host\": a name such as postgres or registry.example.com/team/postgres",
        ),
        (
            "redis:create evil --image-version --privileged",
            " !     Invalid image version \"--privileged\": a tag such as 16 or 16.4-bookworm",
        ),
        (
            "postgres:create evil --password 'abcdefgh\nPOSTGRES_HOST_AUTH_METHOD=trust'",
            " !     Invalid password: use letters, digits and ._~+/=- only",
        ),
        (
            "redis:create evil --password 'abcdefgh dir /etc'",
            " !     Invalid password: use letters, digits and ._~+/=- only",
        ),
        (
            "postgres:create ../evil",
            " !     Please specify a valid name for the service: lowercase letters, digits, - and _",
        ),
    ] {
        assert_eq!(refused(&berth, line), said, "{line}");
    }
    assert!(!berth.data_dir().join("plugin-data/postgres/evil").exists());
    assert!(!berth.data_dir().join("plugin-data/redis/evil").exists());
}
