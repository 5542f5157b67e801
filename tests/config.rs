//! End to end: config vars over SSH keep their exact bytes, reach the app through a new
//! release, and come back with a rollback.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{repo, Berth};

fn deployed_app(berth: &Berth, name: &str) -> String {
    let app = berth.app(name);
    let source = repo::create(&repo::as_refs(&repo::web_app("configured")));
    berth.push(source.path(), &app, "main").ok();
    app
}

fn app_env(berth: &Berth, app: &str) -> String {
    berth.get(&Berth::host(app), "/cgi-bin/env").body
}

#[test]
fn tricky_values_survive_exactly() {
    let berth = Berth::start();
    let app = deployed_app(&berth, "tricky");
    let set = berth
        .ssh(&format!(
            "config:set {app} 'SPACES=a  b' 'EQUALS=x=y=z' \"QUOTES=it's \\\"q\\\"\" 'UNICODE=ünï ☃' 'MULTI=line1\nline2' 'EMPTY='"
        ))
        .ok();
    assert!(
        set.stdout.contains("-----> Setting config vars"),
        "{set:#?}"
    );
    for (key, value) in [
        ("SPACES", "a  b"),
        ("EQUALS", "x=y=z"),
        ("QUOTES", "it's \"q\""),
        ("UNICODE", "ünï ☃"),
        ("MULTI", "line1\nline2"),
        ("EMPTY", ""),
    ] {
        let got = berth.ssh(&format!("config:get {app} {key}")).ok().stdout;
        assert_eq!(got, format!("{value}\n"), "{key}");
    }
    // Typed into a shell: `ssh … config:set app "TYPED='hello world'"` keeps the value whole,
    // while `ssh … config:set app 'SPLIT=hello world'` reaches the server as two words.
    berth
        .ssh_words(&["config:set", "--no-restart", &app, "TYPED='hello world'"])
        .ok();
    let got = berth.ssh(&format!("config:get {app} TYPED")).ok().stdout;
    assert_eq!(got, "hello world\n");
    let split = berth.ssh_words(&["config:set", &app, "SPLIT=hello world"]);
    assert!(
        split.stderr.contains(
            "Invalid env pair: world (a value with spaces needs quotes that reach the server"
        ),
        "{split:#?}"
    );
    // base64 of "tab\there\r\nand $HOME"
    berth
        .ssh(&format!(
            "config:set --encoded {app} ENCODED=dGFiCWhlcmUNCmFuZCAkSE9NRQ=="
        ))
        .ok();
    let got = berth.ssh(&format!("config:get {app} ENCODED")).ok().stdout;
    assert_eq!(got, "tab\there\r\nand $HOME\n");

    let env = app_env(&berth, &app);
    assert!(env.contains("SPACES=a  b\n"), "{env}");
    assert!(env.contains("EQUALS=x=y=z\n"), "{env}");
    assert!(env.contains("UNICODE=ünï ☃\n"), "{env}");

    let json = berth
        .ssh(&format!("config:export --format json {app}"))
        .ok()
        .stdout;
    let parsed: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&json).expect("json export");
    assert_eq!(parsed["MULTI"], "line1\nline2");
    assert_eq!(parsed["QUOTES"], "it's \"q\"");

    // Every export format imports back to the same bytes.
    let copy = berth.app("tricky-copy");
    berth.ssh(&format!("apps:create {copy}")).ok();
    for format in ["shell", "exports", "envfile", "json"] {
        let exported = berth
            .ssh(&format!("config:export --format {format} {app}"))
            .ok()
            .stdout;
        berth
            .ssh_input(
                &format!("config:import --replace --format {format} {copy}"),
                exported.as_bytes(),
            )
            .ok();
        let copied = berth
            .ssh(&format!("config:export --format json {copy}"))
            .ok()
            .stdout;
        assert_eq!(copied, json, "{format}");
    }
    // config:bundle: one file per variable, unpacked by the real tar.
    let bundle = berth.ssh(&format!("config:bundle {app}")).ok().stdout;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut untar = std::process::Command::new("tar")
        .args(["-x", "-C"])
        .arg(dir.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run tar");
    std::io::Write::write_all(&mut untar.stdin.take().expect("stdin"), bundle.as_bytes())
        .expect("feed tar");
    assert!(untar.wait().expect("tar").success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("MULTI")).unwrap(),
        "line1\nline2"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("UNICODE")).unwrap(),
        "ünï ☃"
    );

    // Dokku's formats for other tools: export only.
    let list = berth
        .ssh(&format!("config:export --format json-list {app}"))
        .ok()
        .stdout;
    let list: Vec<std::collections::BTreeMap<String, String>> =
        serde_json::from_str(&list).expect("json-list export");
    let from_list: std::collections::BTreeMap<String, String> = list
        .into_iter()
        .map(|item| (item["name"].clone(), item["value"].clone()))
        .collect();
    assert_eq!(from_list, parsed);
    let keys = berth
        .ssh(&format!("config:export --format docker-args-keys {app}"))
        .ok()
        .stdout;
    assert!(keys.contains("--env=MULTI --env=QUOTES"), "{keys}");
    let refused = berth.ssh_input(&format!("config:import --format json-list {copy}"), b"[]");
    assert_eq!(refused.code, 1, "{refused:#?}");
    let imported = berth
        .ssh_input(
            &format!("config:import {app}"),
            b"# from a .env file\nexport IMPORTED='from stdin'\n",
        )
        .ok();
    assert!(
        imported.stdout.contains("IMPORTED:  from stdin"),
        "{imported:#?}"
    );
    assert!(
        app_env(&berth, &app).contains("IMPORTED=from stdin\n"),
        "an import restarts the app"
    );
    let broken = berth.ssh_input(&format!("config:import {app}"), b"A='unclosed\n");
    assert_eq!(
        (broken.code, broken.stderr.as_str()),
        (1, " !     Cannot import: the value of A has no closing '\n")
    );

    let missing = berth.ssh(&format!("config:get {app} NOPE"));
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("NOPE is not set"), "{missing:#?}");
    for (line, message) in [
        (
            format!("config:set {app} NOEQUALS"),
            "Invalid env pair: NOEQUALS",
        ),
        (
            format!("config:set {app} 1BAD=x"),
            "Invalid key name: '1BAD'",
        ),
        (
            format!("config:set {app} 'A B=x'"),
            "Invalid key name: 'A B'",
        ),
    ] {
        let run = berth.ssh(&line);
        assert_eq!(run.code, 1, "{line}");
        assert!(run.stderr.contains(message), "{line}: {run:#?}");
    }
}

#[test]
fn a_config_change_is_a_release_and_rollback_restores_config() {
    let berth = Berth::start();
    let app = deployed_app(&berth, "release");
    berth.ssh(&format!("config:set {app} GREETING=hello")).ok();
    assert!(app_env(&berth, &app).contains("GREETING=hello\n"));
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(
        releases.contains("v2*") && releases.contains("Set GREETING config vars"),
        "{releases}"
    );

    berth
        .ssh(&format!("config:set --no-restart {app} LATER=1"))
        .ok();
    assert!(!app_env(&berth, &app).contains("LATER=1"));
    assert!(!berth
        .ssh(&format!("releases {app}"))
        .ok()
        .stdout
        .contains("v3"));

    berth.ssh(&format!("config:unset {app} GREETING")).ok();
    let env = app_env(&berth, &app);
    assert!(
        !env.contains("GREETING=") && env.contains("LATER=1\n"),
        "{env}"
    );

    berth.ssh(&format!("releases:rollback {app} v2")).ok();
    assert!(app_env(&berth, &app).contains("GREETING=hello\n"));
    assert_eq!(
        berth.ssh(&format!("config:keys {app}")).ok().stdout,
        "GREETING\n"
    );

    berth.ssh(&format!("config:clear {app}")).ok();
    assert_eq!(berth.ssh(&format!("config:keys {app}")).ok().stdout, "");
    assert!(!app_env(&berth, &app).contains("GREETING="));
}

#[test]
fn global_config_and_show() {
    let berth = Berth::start();
    let app = berth.app("global");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth.ssh("config:set --global SHARED=everyone TZ=UTC").ok();
    berth.ssh(&format!("config:set {app} TZ=Europe/Paris")).ok();

    let show = berth.ssh(&format!("config:show {app}")).ok().stdout;
    assert_eq!(show, format!("=====> {app} env vars\nTZ:  Europe/Paris\n"));
    let merged = berth
        .ssh(&format!("config:show --merged {app}"))
        .ok()
        .stdout;
    assert_eq!(
        merged,
        format!("=====> {app} env vars\nSHARED:  everyone\nTZ:      Europe/Paris\n")
    );
    let exports = berth
        .ssh(&format!("config:export --merged {app}"))
        .ok()
        .stdout;
    assert_eq!(
        exports,
        "export SHARED='everyone'\nexport TZ='Europe/Paris'\n"
    );

    let source = repo::create(&repo::as_refs(&repo::web_app("global")));
    berth.push(source.path(), &app, "main").ok();
    let env = app_env(&berth, &app);
    assert!(
        env.contains("SHARED=everyone\n") && env.contains("TZ=Europe/Paris\n"),
        "{env}"
    );

    for file in [format!("apps/{app}/app.toml"), "global.toml".to_string()] {
        let mode = std::fs::metadata(berth.data_dir().join(&file))
            .expect("config file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}
