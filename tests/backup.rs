//! End to end: `backup:export` on one daemon and `backup:import` on another, fresh one (the
//! first one's containers, images and service gone, as on a new host): the app serves again,
//! rebuilt from its repository, with its config, storage, developer key and ACL, and its
//! postgres rows restored through the plugin's own export and import. A truncated or altered
//! archive is refused with one line and nothing changed.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::services::Services;
use support::{make_key, repo, Berth};

/// `berth backup:export ARGS` on the server's CLI, its stdout into `archive`.
fn export(berth: &Berth, args: &[&str], archive: &Path) -> String {
    let file = std::fs::File::create(archive).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--config")
        .arg(&berth.config)
        .arg("backup:export")
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

/// What `backup:import` says about `bytes` on `berth`, which it must refuse.
fn refused(berth: &Berth, bytes: &[u8]) -> String {
    let run = berth.cli(&["backup:import"], bytes);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    run.stderr
}

#[test]
fn a_backup_brings_apps_keys_config_storage_and_services_back_on_a_fresh_host() {
    let services = Services::default();
    let first = Berth::start();
    let app = first.app("restored");
    let source = repo::create(&repo::as_refs(&repo::service_app()));
    first.push(source.path(), &app, "main").ok();
    let db = services.name("postgres");
    first
        .ssh(&format!(
            "postgres:create {db} --image berth-test/postgres --image-version 15"
        ))
        .ok();
    first.ssh(&format!("postgres:link {db} {app}")).ok();
    first.ssh(&format!("config:set {app} GREETING=kept")).ok();
    first.ssh(&format!("storage:ensure-directory {app}")).ok();
    let storage = first.data_dir().join("storage").join(&app);
    std::fs::write(storage.join("note.txt"), "from storage\n").unwrap();
    first
        .ssh(&format!(
            "storage:mount {app} {}:/www/shared",
            storage.display()
        ))
        .ok();
    first.ssh(&format!("ps:restart {app}")).ok();
    let keys = tempfile::tempdir().unwrap();
    let bob = make_key(keys.path(), "bob");
    let public = std::fs::read(bob.with_extension("pub")).unwrap();
    first
        .cli(&["ssh-keys:add", "bob", "--role", "developer"], &public)
        .ok();
    first.ssh(&format!("acl:add {app} bob")).ok();
    let host = Berth::host(&app);
    assert_eq!(
        first.get(&host, "/cgi-bin/pg-write?kept-row").body,
        "written\n"
    );

    let archive = first.dir.path().join("berth.tar.gz");
    let said = export(&first, &["--with-volumes"], &archive);
    assert!(
        said.contains(&format!("-----> Exporting 1 app(s): {app}")),
        "{said}"
    );
    assert!(said.contains(&format!("Postgres {db} exported")), "{said}");
    let bytes = std::fs::read(&archive).unwrap();

    // A fresh host: none of the first daemon's containers, images, service or network.
    drop(first);
    services.remove_all();
    let second = Berth::start();
    second.track(&app);

    let truncated = refused(&second, &bytes[..bytes.len() * 2 / 3]);
    assert!(
        truncated.starts_with(" !     The archive is incomplete"),
        "{truncated}"
    );
    let mut altered = bytes.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x20;
    // Whether the decompressor or a checksum notices first, the archive is refused whole.
    let corrupt = refused(&second, &altered);
    assert!(corrupt.starts_with(" !     The archive is "), "{corrupt}");
    assert!(corrupt.ends_with("; nothing was changed\n"), "{corrupt}");
    assert_eq!(second.ssh("apps:list").ok().stdout, "=====> My Apps\n");
    assert!(!second
        .data_dir()
        .join("repos")
        .join(format!("{app}.git"))
        .exists());

    let restored = second.cli(&["backup:import"], &bytes).ok();
    assert!(
        restored.stdout.contains("rebuilding commit"),
        "the image was gone, so it was built again: {restored:#?}"
    );
    assert!(
        restored.stdout.contains("-----> Backup restored"),
        "{restored:#?}"
    );
    assert_eq!(second.get(&host, "/cgi-bin/pg-read").body, "kept-row\n");
    assert_eq!(second.get(&host, "/shared/note.txt").body, "from storage\n");
    assert_eq!(
        second
            .ssh(&format!("config:get {app} GREETING"))
            .ok()
            .stdout,
        "kept\n"
    );
    let seen = second.ssh_as(&bob, "apps:list").ok().stdout;
    assert!(seen.contains(&app), "bob's key and ACL came back: {seen}");
    let again = refused(&second, &bytes);
    assert!(
        again.starts_with(&format!(" !     App {app} already exists on this host")),
        "{again}"
    );
}
