//! End to end: a developer key granted one app, refused everything else with nothing changed;
//! the audit log; secrets as files in web, run and cron containers; commands and pushes through
//! Debian's sshd with Berth's forced command; the cap on a developer key's sessions.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{eventually, make_key, repo, Berth};

/// A developer key `bob`, added by the server's CLI.
fn developer(berth: &Berth) -> PathBuf {
    let bob = make_key(berth.dir.path(), "bob");
    let public = std::fs::read(bob.with_extension("pub")).unwrap();
    berth
        .cli(&["ssh-keys:add", "bob", "--role", "developer"], &public)
        .ok();
    bob
}

/// Every state file's text, to show that a refusal changed nothing.
fn state(berth: &Berth) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("repos") {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut found = Vec::new();
    walk(&berth.data_dir(), &mut found);
    found.sort();
    found
}

/// Lines of a spawned command's stdout, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A plugin `hello` whose `hello:app <app>` is an app's command and `hello:host` is not.
fn install_plugin(berth: &Berth) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugin.toml"),
        "name = \"hello\"\nversion = \"0.1.0\"\ndescription = \"Says hello\"\napp_commands = [\"hello:app\"]\n",
    )
    .unwrap();
    let commands = dir.path().join("commands");
    std::fs::write(
        &commands,
        "#!/bin/sh\ncase \"$1\" in\n  hello:app|hello:host) echo \"hello $2\" ;;\n  *) exit 10 ;;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&commands, std::fs::Permissions::from_mode(0o755)).unwrap();
    berth
        .cli(&["plugin:install", dir.path().to_str().unwrap()], b"")
        .ok();
    dir
}

#[test]
fn a_developer_key_uses_its_app_only_and_is_refused_everything_else_with_nothing_changed() {
    let berth = Berth::start();
    let bob = developer(&berth);
    let (mine, theirs) = (berth.app("mine"), berth.app("theirs"));
    berth.ssh(&format!("apps:create {theirs}")).ok();
    berth
        .ssh(&format!("config:set --no-restart {theirs} TOKEN=t0p"))
        .ok();
    berth.ssh(&format!("apps:create {mine}")).ok();
    berth.ssh(&format!("acl:add {mine} bob")).ok();
    assert_eq!(berth.ssh(&format!("acl:list {mine}")).ok().stdout, "bob\n");
    let _plugin = install_plugin(&berth);

    let source = repo::create(&repo::as_refs(&repo::web_app("bob's")));
    let pushed = berth.push_via(&bob, "berth", berth.ssh_port, source.path(), &mine);
    assert_eq!(pushed.code, 0, "{pushed:#?}");
    assert_eq!(berth.get(&Berth::host(&mine), "/").body, "bob's\n");
    berth
        .ssh_as(&bob, &format!("config:set {mine} GREETING=hi"))
        .ok();
    berth.ssh_as(&bob, &format!("ps:report {mine}")).ok();
    berth.ssh_as(&bob, &format!("logs {mine} -n 5")).ok();
    let apps = berth.ssh_as(&bob, "apps:list").ok().stdout;
    assert!(apps.contains(&mine) && !apps.contains(&theirs), "{apps}");
    assert_eq!(
        berth.ssh_as(&bob, &format!("hello:app {mine}")).ok().stdout,
        format!("hello {mine}\n")
    );

    let before = state(&berth);
    for (line, missing) in [
        (
            format!("config:show {theirs}"),
            format!("Key bob has no access to app {theirs} (acl:add {theirs} bob)"),
        ),
        (
            format!("config:set {theirs} TOKEN=stolen"),
            format!("Key bob has no access to app {theirs} (acl:add {theirs} bob)"),
        ),
        (
            "ssh-keys:add eve".to_string(),
            "Key bob is a developer key: SSH keys need an admin key".to_string(),
        ),
        (
            "config:set --global EVIL=1".to_string(),
            "Key bob is a developer key: global settings (--global, --all) need an admin key"
                .to_string(),
        ),
        (
            "plugin:install /tmp".to_string(),
            "Key bob is a developer key: plugins need an admin key".to_string(),
        ),
        (
            format!("acl:add {theirs} bob"),
            "Key bob is a developer key: ACLs need an admin key".to_string(),
        ),
        (
            format!("hello:app {theirs}"),
            format!("Key bob has no access to app {theirs} (acl:add {theirs} bob)"),
        ),
        (
            format!("hello:host {mine}"),
            "Key bob is a developer key: plugin commands that do not name one of your apps first need an admin key".to_string(),
        ),
        (
            "apps:create newapp".to_string(),
            "Key bob may not create apps (acl:set --global allow-create true allows developers)"
                .to_string(),
        ),
    ] {
        let refused = berth.ssh_as(&bob, &line);
        assert_eq!(refused.code, 1, "{line}: {refused:#?}");
        assert_eq!(refused.stderr, format!(" !     {missing}\n"), "{line}");
        assert_eq!(refused.stdout, "", "{line}");
    }
    let push = berth.push_via(&bob, "berth", berth.ssh_port, source.path(), &theirs);
    assert_ne!(push.code, 0);
    assert!(
        push.stderr
            .contains(&format!("Key bob has no access to app {theirs}")),
        "{push:#?}"
    );
    assert_eq!(state(&berth), before, "a refusal changed the state");

    berth.ssh(&format!("acl:remove {mine} bob")).ok();
    let refused = berth.ssh_as(&bob, &format!("config:show {mine}"));
    assert_eq!(refused.code, 1, "{refused:#?}");
    repo::commit(source.path(), &[("www/index.html", "again\n")], "again");
    let push = berth.push_via(&bob, "berth", berth.ssh_port, source.path(), &mine);
    assert_ne!(push.code, 0, "{push:#?}");
    assert_eq!(berth.get(&Berth::host(&mine), "/").body, "bob's\n");
    assert_eq!(
        berth.ssh_as(&bob, &format!("hello:app {mine}")).code,
        1,
        "after acl:remove"
    );

    let events = berth.ssh("events -n 100").ok().stdout;
    let commit = repo::head(source.path());
    for expected in [
        format!(" command config:set app={mine} key=bob source=127.0.0.1 status=0 "),
        format!(" command config:show app={theirs} key=bob source=127.0.0.1 status=1 "),
        format!(" push git-receive-pack app={mine} key=bob source=127.0.0.1 status=0 "),
        format!(" push git-receive-pack app={theirs} key=bob source=127.0.0.1 status=1 "),
        " command ssh-keys:add app=- key=bob".to_string(),
    ] {
        assert!(events.contains(&expected), "{expected} in {events}");
    }
    assert!(
        !events.contains(&format!("commit={commit}")),
        "a refused push deployed nothing"
    );
    assert!(
        !events.contains("stolen") && !events.contains("t0p"),
        "{events}"
    );
    let bobs = berth.ssh_as(&bob, "events -n 100").ok().stdout;
    assert!(!bobs.contains(&theirs) && !bobs.contains(&mine), "{bobs}");

    let mut follow = berth.ssh_spawn_as(&berth.key, "events -n 0 -t");
    let lines = lines_of(&mut follow);
    let mut seen = String::new();
    assert!(eventually(Duration::from_secs(30), || {
        berth.ssh(&format!("apps:exists {mine}")).ok();
        while let Ok(line) = lines.try_recv() {
            seen.push_str(&line);
        }
        seen.contains(&format!("command apps:exists app={mine} key=alice"))
    }));
    let _ = follow.kill();
    let _ = follow.wait();
}

#[test]
fn a_secret_is_a_file_in_web_run_and_cron_containers_and_nowhere_else() {
    let berth = Berth::start();
    let app = berth.app("secret");
    let mut files = repo::web_app("v1");
    files.push((
        "www/cgi-bin/secret",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\ncat /run/secrets/db_password\n"
            .to_string(),
    ));
    files.push((
        "app.json",
        r#"{"cron": [{"command": "cat /run/secrets/db_password", "schedule": "@daily"}]}"#
            .to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();

    const VALUE: &str = "pa55-w0rd-9f8e7d";
    let set = berth
        .ssh_input(&format!("secrets:set {app} db_password"), VALUE.as_bytes())
        .ok();
    assert!(set.stdout.contains("Secret db_password set"), "{set:#?}");
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(releases.contains("v2*"), "a new release: {releases}");
    assert_eq!(berth.get(&Berth::host(&app), "/cgi-bin/secret").body, VALUE);
    let run = berth
        .ssh(&format!("run {app} cat /run/secrets/db_password"))
        .ok();
    assert_eq!(run.stdout, VALUE);
    let written = berth.ssh(&format!(
        "run {app} sh -c 'echo changed > /run/secrets/db_password'"
    ));
    assert_ne!(written.code, 0, "mounted read-only: {written:#?}");
    let json = berth
        .ssh(&format!("cron:list {app} --format json"))
        .ok()
        .stdout;
    let tasks: serde_json::Value = serde_json::from_str(&json).unwrap();
    let task = tasks[0]["id"].as_str().unwrap();
    assert_eq!(
        berth.ssh(&format!("cron:run {app} {task}")).ok().stdout,
        format!("{VALUE}\n"),
        "cron:run prints the task's lines, the last one without its newline too"
    );

    let listed = berth.ssh(&format!("secrets:list {app}")).ok().stdout;
    assert!(listed.contains("db_password"), "{listed}");
    let mut everywhere = vec![
        listed,
        berth.get(&Berth::host(&app), "/cgi-bin/env").body,
        berth.ssh(&format!("report {app}")).ok().stdout,
        berth.ssh(&format!("config:export {app}")).ok().stdout,
        berth.ssh(&format!("releases:info {app} v2")).ok().stdout,
        berth.ssh(&format!("ps:inspect {app}")).ok().stdout,
        berth.ssh("events -n 100").ok().stdout,
        berth.log(),
    ];
    everywhere.extend(state(&berth).into_iter().map(|(_, text)| text));
    for text in everywhere {
        assert!(!text.contains(VALUE), "the secret's value in {text}");
    }
    let stored = berth
        .data_dir()
        .join("apps")
        .join(&app)
        .join("secrets/db_password");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&stored).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    berth.ssh(&format!("secrets:unset {app} db_password")).ok();
    assert!(!stored.exists());
    let gone = berth.get(&Berth::host(&app), "/cgi-bin/secret").body;
    assert!(!gone.contains(VALUE), "{gone}");
    let bad = berth.ssh_input(&format!("secrets:set {app} ../escape"), b"x");
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.starts_with(" !     Invalid secret name"),
        "{bad:#?}"
    );
}

/// Debian's sshd on a free loopback port, reading `authorized_keys`; killed when dropped.
struct Sshd {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Sshd {
    fn start(authorized_keys: &Path) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let host_key = dir.path().join("host_key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key)
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = support::http::free_port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nPermitRootLogin prohibit-password\nStrictModes no\nLogLevel ERROR\n",
                host_key.display(),
                authorized_keys.display(),
                dir.path().join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start /usr/sbin/sshd (Debian's openssh-server)");
        let up = eventually(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "sshd did not listen on {port}");
        Sshd {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user sshd logs keys in as: whoever runs the tests (and the daemon).
fn login_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn commands_and_pushes_through_debian_sshd_behave_as_through_the_embedded_server() {
    let keys_dir = tempfile::tempdir().unwrap();
    let authorized = keys_dir.path().join("authorized_keys");
    let berth = Berth::start_with_ssh(&format!(
        "authorized_keys_file = \"{}\"",
        authorized.display()
    ));
    let bob = developer(&berth);
    let written = std::fs::read_to_string(&authorized).unwrap();
    assert!(
        written.contains("ssh-command --socket")
            && written.contains("--key bob\",restrict ssh-ed25519"),
        "{written}"
    );
    let sshd = Sshd::start(&authorized);
    let user = login_user();

    let app = berth.app("viasshd");
    let source = repo::create(&repo::as_refs(&repo::web_app("through sshd")));
    let pushed = berth.push_via(&berth.key, &user, sshd.port, source.path(), &app);
    assert_eq!(pushed.code, 0, "{pushed:#?}");
    assert!(pushed.stderr.contains("-----> Building"), "{pushed:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "through sshd\n");
    berth.ssh(&format!("acl:add {app} bob")).ok();

    for (key, line) in [
        (&berth.key, format!("config:set --no-restart {app} A=1")),
        (&berth.key, format!("config:show {app}")),
        (&berth.key, "apps:fly".to_string()),
        (&berth.key, "apps:create 'unclosed".to_string()),
        (&bob, format!("config:get {app} A")),
        (&bob, "apps:list".to_string()),
        (&bob, "ssh-keys:list".to_string()),
        (&bob, "config:show --global".to_string()),
    ] {
        let embedded = berth.ssh_as(key, &line);
        let host = berth.ssh_at(sshd.port, &user, key, &line);
        assert_eq!(
            (host.code, &host.stdout, &host.stderr),
            (embedded.code, &embedded.stdout, &embedded.stderr),
            "{line}"
        );
    }
    let refused = berth.push_via(&bob, &user, sshd.port, source.path(), "other");
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("Key bob may not create apps"),
        "{refused:#?}"
    );

    berth.ssh("ssh-keys:remove bob").ok();
    let gone = std::fs::read_to_string(&authorized).unwrap();
    assert!(!gone.contains("--key bob"), "{gone}");
    assert_eq!(berth.ssh_at(sshd.port, &user, &bob, "apps:list").code, 255);
}

#[test]
fn a_developer_key_holds_at_most_its_cap_of_sessions() {
    let berth = Berth::start_with_ssh("developer_sessions = 1");
    let bob = developer(&berth);
    let mut first = berth.ssh_spawn_as(&bob, "events -t");
    assert!(eventually(Duration::from_secs(30), || {
        berth.ssh("ssh-keys:sessions").ok().stdout.contains("bob ")
    }));
    let refused = berth.ssh_as(&bob, "apps:list");
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        " !     Key bob has 1 sessions open, the most a developer key may have ([ssh] developer_sessions)\n"
    );
    berth.ssh("apps:list").ok();
    let _ = first.kill();
    let _ = first.wait();
    assert!(eventually(Duration::from_secs(30), || berth
        .ssh_as(&bob, "apps:list")
        .code
        == 0));
}

#[test]
fn a_clone_from_the_server_gives_the_pushed_history_only_to_keys_that_may_use_the_app() {
    let berth = Berth::start();
    let bob = developer(&berth);
    let mine = berth.app("mine");
    let theirs = berth.app("theirs");
    let source = repo::create(&repo::as_refs(&repo::web_app("one")));
    repo::commit(source.path(), &[("www/index.html", "two\n")], "two");
    berth.push(source.path(), &mine, "main").ok();
    berth.ssh(&format!("apps:create {theirs}")).ok();
    berth.ssh(&format!("acl:add {mine} bob")).ok();
    let pushed = repo::head(source.path());

    for key in [&berth.key, &bob] {
        let (cloned, dir) = berth.clone_as(key, &mine);
        cloned.ok();
        assert_eq!(repo::head(&dir.path().join("clone")), pushed);
    }
    let (refused, _) = berth.clone_as(&bob, &theirs);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains(&format!("Key bob has no access to app {theirs}")),
        "{refused:#?}"
    );
    for outside in ["../../etc", "repos/../keys", "%2e%2e/etc"] {
        let (refused, _) = berth.clone_as(&berth.key, outside);
        assert_ne!(refused.code, 0, "{outside}: {refused:#?}");
    }
}

#[test]
fn a_developer_cannot_deploy_another_apps_code_by_image_id_or_docker_io_alias_or_pull_from_inside()
{
    let berth = Berth::start();
    let bob = developer(&berth);
    let theirs = berth.deployed("theirs", "their code");
    let mine = berth.app("mine");
    berth.ssh(&format!("apps:create {mine}")).ok();
    berth.ssh(&format!("acl:add {mine} bob")).ok();
    let id = support::docker_lines(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("berth/{theirs}:1"),
    ]);
    for image in [
        id[0].clone(),
        id[0].trim_start_matches("sha256:")[..12].to_string(),
        format!("docker.io/berth/{theirs}:1"),
    ] {
        let refused = berth.ssh_as(&bob, &format!("git:from-image {mine} {image}"));
        assert_ne!(refused.code, 0, "{image}: {refused:#?}");
        assert!(
            refused
                .stderr
                .contains(&format!("holds the code of app {theirs}")),
            "{image}: {refused:#?}"
        );
    }
    // Nor make the engine pull from a registry on the server's own network.
    for image in ["127.0.0.1:5999/thing:1", "localhost:2375/v1.41/x:1"] {
        let refused = berth.ssh_as(&bob, &format!("git:from-image {mine} {image}"));
        assert_ne!(refused.code, 0, "{image}: {refused:#?}");
        assert!(
            refused.stderr.contains("own network"),
            "{image}: {refused:#?}"
        );
    }
    let releases = berth.ssh(&format!("releases {mine}")).ok();
    assert!(!releases.stdout.contains("v1"), "{releases:#?}");
    // An admin may (apps:clone does the same).
    berth
        .ssh(&format!("git:from-image {mine} docker.io/berth/{theirs}:1"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&mine), "/").body, "their code\n");
}
