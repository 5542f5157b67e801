//! End to end: `backup:export` on one daemon and `backup:import` on another, fresh one (the
//! first one's containers, images and service gone, as on a new host): the app serves again,
//! rebuilt from its repository, with its config, storage, developer key and ACL, and its
//! postgres rows restored through the plugin's own export and import, serving its certificate.
//! A truncated or altered archive is refused with one line and nothing changed. Archives are
//! streamed: exporting and importing a large storage directory leaves the daemons' peak memory
//! far below its size.

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
    first.ssh(&format!("certs:generate {app}")).ok();
    let cert_of = |berth: &Berth| {
        let report = format!("certs:report {app} --ssl-starts-at");
        berth.ssh(&report).ok().stdout
    };
    let certificate = cert_of(&first);

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
    assert_eq!(cert_of(&second), certificate);
    let over_tls = |path: &str| second.curl_https(&host, path, &[]).ok().stdout;
    assert!(over_tls("/cgi-bin/pg-read").ends_with("\r\n\r\nkept-row\n"));
    assert!(over_tls("/shared/note.txt").ends_with("\r\n\r\nfrom storage\n"));
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

#[test]
fn a_backup_schedule_is_kept_shown_and_refused_when_malformed() {
    let mut berth = Berth::start();
    let refusal = |berth: &Berth, line: &str| {
        let run = berth.ssh(line);
        assert_ne!(run.code, 0, "{run:#?}");
        run.stderr
    };
    assert_eq!(
        refusal(&berth, "backup:schedule-cat"),
        " !     No backup is scheduled\n"
    );
    assert!(refusal(&berth, "backup:schedule '0 3 * * *' ../etc")
        .starts_with(" !     Invalid backup directory"));
    assert!(refusal(&berth, "backup:schedule 'at three' nightly")
        .starts_with(" !     Invalid schedule"));
    assert!(
        refusal(&berth, "backup:schedule --apps ghost '0 3 * * *' nightly")
            .contains("App ghost does not exist")
    );
    let set = berth
        .ssh("backup:schedule --keep 3 --with-volumes '0 3 * * *' nightly")
        .ok();
    assert!(
        set.stdout
            .contains("into <data_dir>/backups/nightly, keeping the last 3"),
        "{set:#?}"
    );
    berth.restart();
    assert_eq!(
        berth.ssh("backup:schedule-cat").ok().stdout,
        "0 3 * * * nightly --keep 3 --with-volumes\n"
    );
    berth.ssh("backup:unschedule").ok();
    assert_eq!(
        refusal(&berth, "backup:schedule-cat"),
        " !     No backup is scheduled\n"
    );
}

/// 96 MiB that gzip cannot shrink.
const LARGE: usize = 96 << 20;

#[test]
fn a_large_archive_streams_through_both_daemons_without_being_held_in_memory() {
    let first = Berth::start();
    let app = first.app("large");
    first.ssh(&format!("apps:create {app}")).ok();
    first.ssh(&format!("storage:ensure-directory {app}")).ok();
    let storage = first.data_dir().join("storage").join(&app);
    let mut noise = vec![0u8; LARGE];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in noise.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(storage.join("noise.bin"), &noise).unwrap();
    first
        .ssh(&format!("storage:mount {app} {}:/data", storage.display()))
        .ok();
    let archive = first.dir.path().join("large.tar.gz");
    let before = first.peak_rss_kib();
    export(&first, &["--with-volumes"], &archive);
    let grown = first.peak_rss_kib() - before;
    assert!(
        std::fs::metadata(&archive).unwrap().len() > LARGE as u64,
        "the noise is in the archive"
    );
    assert!(
        grown < (LARGE as u64 / 1024) / 4,
        "export grew by {grown} KiB"
    );

    let second = Berth::start();
    second.track(&app);
    let before = second.peak_rss_kib();
    let file = std::fs::File::open(&archive).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--config")
        .arg(&second.config)
        .arg("backup:import")
        .stdin(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let grown = second.peak_rss_kib() - before;
    assert!(
        grown < (LARGE as u64 / 1024) / 4,
        "import grew by {grown} KiB"
    );
    let restored = second
        .data_dir()
        .join("storage")
        .join(&app)
        .join("noise.bin");
    assert!(std::fs::read(restored).unwrap() == noise);
}
