//! End to end: apps:lock/unlock/report, storage mounts kept across deploys, resource limits.

mod support;

use std::process::Command;
use std::time::Duration;

use support::http::{free_port, get_on};
use support::{eventually, repo, Berth};

fn inspect(id: &str, format: &str) -> String {
    let output = Command::new("docker")
        .args(["inspect", "-f", format, id])
        .output()
        .expect("docker inspect");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn a_locked_app_refuses_deploys() {
    let berth = Berth::start();
    let app = berth.app("locked");
    let source = repo::create(&repo::as_refs(&repo::web_app("v1")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("apps:lock {app}")).ok();
    let locked = berth.ssh(&format!("apps:locked {app}")).ok();
    assert!(locked.stdout.contains("is locked"), "{locked:#?}");
    let report = berth.ssh(&format!("apps:report {app}")).ok().stdout;
    assert!(
        report.contains("App locked:") && report.contains("true"),
        "{report}"
    );
    assert!(
        report.contains("App current release:") && report.contains("v1"),
        "{report}"
    );

    repo::commit(source.path(), &[("www/index.html", "v2\n")], "v2");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("is locked"), "{push:#?}");
    let restart = berth.ssh(&format!("ps:restart {app}"));
    assert_eq!(restart.code, 1);
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");

    berth.ssh(&format!("apps:unlock {app}")).ok();
    let unlocked = berth.ssh(&format!("apps:locked {app}"));
    assert_eq!(unlocked.code, 1, "{unlocked:#?}");
    assert!(
        unlocked
            .stderr
            .contains("is not locked and not being deployed"),
        "{unlocked:#?}"
    );
    repo::commit_slow(source.path(), "v2", 3);
    let mut pushing = berth.push_spawn(source.path(), &app, "main");
    let lines = support::wait_for_line(&mut pushing, "Building");
    let deploying = berth.ssh(&format!("apps:locked {app}")).ok();
    assert!(
        deploying.stdout.contains("is being deployed"),
        "{deploying:#?}"
    );
    lines.for_each(drop);
    assert!(pushing.wait().expect("push").success());
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v2\n");
}

#[test]
fn storage_mounts_survive_deploys() {
    let berth = Berth::start();
    let app = berth.app("storage");
    berth.ssh(&format!("apps:create {app}")).ok();
    let made = berth
        .ssh(&format!("storage:ensure-directory {app}"))
        .ok()
        .stdout;
    let dir = berth.data_dir().join("storage").join(&app);
    assert!(made.contains(&dir.display().to_string()), "{made}");
    std::fs::write(dir.join("greeting.html"), "from the host\n").expect("write host file");

    let mount = format!("{}:/www/shared", dir.display());
    berth.ssh(&format!("storage:mount {app} {mount}")).ok();
    let again = berth.ssh(&format!("storage:mount {app} {mount}"));
    assert!(again.stderr.contains("already exists"), "{again:#?}");
    let outside = berth.ssh(&format!("storage:mount {app} /etc:/host-etc"));
    assert_eq!(outside.code, 1);
    assert!(
        outside.stderr.starts_with(
            " !     Cannot mount /etc: over SSH only directories made by storage:ensure-directory"
        ),
        "{outside:#?}"
    );
    let bad = berth.ssh(&format!("storage:mount {app} /a/../etc:/x"));
    assert!(bad.stderr.contains("Invalid mount"), "{bad:#?}");

    let source = repo::create(&repo::as_refs(&repo::web_app("v1")));
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(
        berth.get(&Berth::host(&app), "/shared/greeting.html").body,
        "from the host\n"
    );
    repo::commit(source.path(), &[("www/index.html", "v2\n")], "v2");
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(
        berth.get(&Berth::host(&app), "/shared/greeting.html").body,
        "from the host\n"
    );

    let list = berth.ssh(&format!("storage:list {app}")).ok().stdout;
    assert!(list.contains(&mount), "{list}");
    let run_mounts = berth
        .ssh(&format!("storage:report {app} --storage-run-mounts"))
        .ok()
        .stdout;
    assert_eq!(run_mounts, format!("-v {mount}\n"));
    berth.ssh(&format!("storage:unmount {app} {mount}")).ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    assert_eq!(
        berth
            .get(&Berth::host(&app), "/shared/greeting.html")
            .status,
        404
    );
}

#[test]
fn resource_limits_reach_the_containers() {
    let berth = Berth::start();
    let app = berth.app("limits");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("resource:limit --memory 256m --cpu 0.5 {app}"))
        .ok();
    berth
        .ssh(&format!(
            "resource:reserve --memory 64m --process-type web {app}"
        ))
        .ok();
    let bad = berth.ssh(&format!("resource:limit --memory 3 {app}"));
    assert!(bad.stderr.contains("Invalid memory size"), "{bad:#?}");
    let report = berth.ssh(&format!("resource:report {app}")).ok().stdout;
    assert!(
        report.contains("Default limit memory:") && report.contains("256m"),
        "{report}"
    );
    assert!(
        report.contains("web reserve memory:") && report.contains("64m"),
        "{report}"
    );

    let source = repo::create(&repo::as_refs(&repo::web_app("limited")));
    berth.push(source.path(), &app, "main").ok();
    let id = Berth::containers(&app)[0].0.clone();
    assert_eq!(
        inspect(&id, "{{.HostConfig.Memory}}"),
        (256u64 << 20).to_string()
    );
    assert_eq!(inspect(&id, "{{.HostConfig.NanoCpus}}"), "500000000");
    assert_eq!(
        inspect(&id, "{{.HostConfig.MemoryReservation}}"),
        (64u64 << 20).to_string()
    );

    // Cleared, the next restart runs without them.
    berth.ssh(&format!("resource:limit-clear {app}")).ok();
    berth
        .ssh(&format!("resource:reserve-clear --process-type web {app}"))
        .ok();
    let report = berth.ssh(&format!("resource:report {app}")).ok().stdout;
    assert!(
        !report.contains("256m") && !report.contains("64m"),
        "{report}"
    );
    berth.ssh(&format!("ps:restart {app}")).ok();
    let containers = Berth::containers(&app);
    let restarted = containers
        .iter()
        .find(|c| c.0 != id)
        .unwrap_or_else(|| panic!("the restart's container: {containers:?}"));
    assert_eq!(inspect(&restarted.0, "{{.HostConfig.Memory}}"), "0");
    assert_eq!(
        inspect(&restarted.0, "{{.HostConfig.MemoryReservation}}"),
        "0"
    );
}

#[test]
fn ps_set_procfile_path_and_stop_timeout_apply_from_the_next_deploy() {
    let berth = Berth::start();
    let app = berth.app("psset");
    let mut files = repo::web_app("top");
    files.push(("www/alt/index.html", "alt procfile\n".to_string()));
    files.push((
        "deploy/Procfile",
        "web: exec httpd -f -p \"$PORT\" -h /www/alt\n".to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "top\n");
    let first = Berth::containers(&app)[0].0.clone();
    assert_ne!(inspect(&first, "{{.Config.StopTimeout}}"), "7");

    berth
        .ssh(&format!("ps:set {app} procfile-path deploy/Procfile"))
        .ok();
    let set = berth
        .ssh(&format!("ps:set {app} stop-timeout-seconds 7"))
        .ok();
    assert!(
        set.stdout.contains("Setting stop-timeout-seconds to 7"),
        "{set:#?}"
    );
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "alt procfile\n");
    let containers = Berth::containers(&app);
    let rebuilt = containers
        .iter()
        .find(|c| c.0 != first)
        .unwrap_or_else(|| panic!("the rebuild's container: {containers:?}"));
    assert_eq!(inspect(&rebuilt.0, "{{.Config.StopTimeout}}"), "7");
    let report = berth
        .ssh(&format!("ps:report {app} --stop-timeout-seconds"))
        .ok();
    assert_eq!(report.stdout, "7\n");
    let report = berth.ssh(&format!("ps:report {app} --procfile-path")).ok();
    assert_eq!(report.stdout, "deploy/Procfile\n");
    let unset = berth.ssh(&format!("ps:set {app} procfile-path")).ok();
    assert!(
        unset
            .stdout
            .contains("Unsetting procfile-path (back to Procfile)"),
        "{unset:#?}"
    );
}

#[test]
fn run_passes_output_and_exit_status_back() {
    let berth = Berth::start();
    let app = berth.app("oneoff");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("config:set --no-restart {app} 'WHO=the app'"))
        .ok();
    let mut files = repo::web_app("runs");
    files.push((
        "Procfile",
        "web: exec httpd -f -p \"$PORT\" -h /www\ngreet: echo \"hello from $DYNO\"\n".to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();

    let run = berth
        .ssh(&format!("run {app} sh -c 'echo \"I am $WHO\"; ls /www'"))
        .ok();
    assert_eq!(run.stdout, "I am the app\ncgi-bin\nindex.html\n");
    let greet = berth.ssh(&format!("run {app} greet")).ok();
    assert_eq!(greet.stdout, "hello from run.1\n");
    let failed = berth.ssh(&format!("run {app} sh -c 'echo bye; exit 7'"));
    assert_eq!(
        (failed.code, failed.stdout.as_str(), failed.stderr.as_str()),
        (7, "bye\n", "")
    );
    // A terminal: the shell reads a line typed at it. (Not an interactive ash: its line editor
    // queries the cursor position and would eat the typed line as the terminal's answer.)
    let interactive = berth.ssh_tty(
        &format!("run {app} sh -c 'test -t 0 && read line && echo got-$line; exit 6'"),
        b"typed\n",
    );
    assert_eq!(interactive.code, 6, "{interactive:#?}");
    assert!(interactive.stdout.contains("got-typed"), "{interactive:#?}");
    let flagged = berth.ssh_tty(
        &format!(
            "run -e 'WHO=a guest' --env=EXTRA=x=y --no-tty {app} sh -c 'test -t 0 || echo \"no tty, $WHO, $EXTRA\"'"
        ),
        b"",
    );
    assert_eq!(flagged.code, 0, "{flagged:#?}");
    assert!(
        flagged.stdout.contains("no tty, a guest, x=y"),
        "-e overrides the config for the run only; --no-tty: {flagged:#?}"
    );
    let bad = berth.ssh(&format!("run -e 'not a pair' {app} true"));
    assert_eq!(
        (bad.code, bad.stderr.as_str()),
        (1, " !     -e takes KEY=VALUE, not \"not a pair\"\n")
    );
    let piped = berth
        .ssh_input(&format!("run {app} cat"), b"from stdin\n")
        .ok();
    assert_eq!(piped.stdout, "from stdin\n");
    assert_eq!(
        Berth::containers(&app).len(),
        1,
        "one-off containers are removed"
    );
    let report = berth.ssh(&format!("ps:report {app}")).ok().stdout;
    assert!(!report.contains("Status run"), "{report}");
}

#[test]
fn detached_one_offs_are_listed_followed_and_stopped() {
    let mut berth = Berth::start();
    let app = berth.app("detached");
    berth
        .push(
            repo::create(&repo::as_refs(&repo::web_app("bg"))).path(),
            &app,
            "main",
        )
        .ok();
    let empty = berth.ssh(&format!("run:list {app}")).ok().stdout;
    assert_eq!(
        empty,
        format!("=====> {app} run containers\nNAME  COMMAND  CREATED\nnone\n")
    );
    let started = berth
        .ssh(&format!(
            "run:detached -e WHO=cron {app} sh -c 'echo started by $WHO; exec sleep 600'"
        ))
        .ok();
    let name = started.stdout.trim().to_string();
    assert!(name.starts_with(&format!("{app}.run.")), "{started:#?}");
    let list = berth.ssh(&format!("run:list {app}")).ok().stdout;
    assert!(
        list.starts_with(&format!("=====> {app} run containers\nNAME")) && list.contains(&name),
        "{list}"
    );
    // Columns line up however long the command.
    let lines: Vec<&str> = list.lines().skip(1).collect();
    let created = lines[0].find("CREATED").expect("CREATED");
    assert!(lines[1][created..].starts_with("20"), "{list}");
    let json = berth
        .ssh(&format!("run:list {app} --format json"))
        .ok()
        .stdout;
    let entries: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(entries[0]["name"], name.as_str(), "{json}");

    let dyno = name.split('.').take(3).collect::<Vec<_>>()[1..].join(".");
    let tagged = format!("{app}[{dyno}]: started by cron");
    assert!(
        eventually(Duration::from_secs(10), || berth
            .ssh(&format!("run:logs {app}"))
            .ok()
            .stdout
            .contains(&tagged)),
        "{tagged}"
    );
    let quiet = berth.ssh(&format!("run:logs --container {name} -q")).ok();
    assert_eq!(quiet.stdout, "started by cron\n");

    // A one-off that ends is gone by itself.
    let quick = berth.ssh(&format!("run:detached {app} true")).ok();
    let quick = quick.stdout.trim().to_string();
    assert!(
        eventually(Duration::from_secs(10), || !berth
            .ssh(&format!("run:list {app}"))
            .ok()
            .stdout
            .contains(&quick)),
        "{quick} is removed when it exits"
    );

    berth.ssh(&format!("run:stop --container {name}")).ok();
    assert!(!berth
        .ssh(&format!("run:list {app}"))
        .ok()
        .stdout
        .contains(&name));
    let missing = berth.ssh(&format!("run:stop --container {name}"));
    assert_eq!(
        (missing.code, missing.stderr.as_str()),
        (
            1,
            format!(" !     No running one-off container is named {name}\n").as_str()
        )
    );

    // A run whose client goes away is killed, not left to finish.
    let mut session = berth.ssh_spawn(&format!("run {app} sh -c 'echo up; exec sleep 600'"));
    let listed = || {
        berth
            .ssh(&format!("run:list {app}"))
            .ok()
            .stdout
            .contains("sleep 600")
    };
    assert!(
        eventually(Duration::from_secs(10), listed),
        "the run starts"
    );
    let _ = session.kill();
    let _ = session.wait();
    assert!(
        eventually(Duration::from_secs(10), || !listed()),
        "the run outlived its client"
    );

    // A time to live stops a one-off: attached, detached, and across a daemon restart.
    let expired = berth.ssh(&format!("run --ttl-seconds 1 {app} sleep 600"));
    assert_eq!(
        (expired.code, expired.stderr.as_str()),
        (
            1,
            " !     The run was stopped: its time to live (1s, --ttl-seconds) is up\n"
        )
    );
    let short = berth
        .ssh(&format!("run:detached --ttl-seconds 2 {app} sleep 600"))
        .ok();
    let short = short.stdout.trim().to_string();
    let restarted = berth
        .ssh(&format!("run:detached --ttl-seconds 4 {app} sleep 600"))
        .ok();
    let restarted = restarted.stdout.trim().to_string();
    berth.restart();
    for name in [&short, &restarted] {
        assert!(
            eventually(Duration::from_secs(30), || !berth
                .ssh(&format!("run:list {app}"))
                .ok()
                .stdout
                .contains(name.as_str())),
            "{name} outlived its time to live"
        );
    }

    // Destroying the app stops its one-offs too.
    berth.ssh(&format!("run:detached {app} sleep 600")).ok();
    berth.ssh(&format!("apps:destroy {app} --force")).ok();
    assert!(
        Berth::containers(&app).is_empty(),
        "{:?}",
        Berth::containers(&app)
    );
}

#[test]
fn predeploy_and_postdeploy_scripts() {
    let berth = Berth::start();
    let app = berth.app("scripts");
    let app_json = |pre: &str| {
        format!(
            r#"{{"scripts": {{"dokku": {{"predeploy": "{pre}", "postdeploy": "echo post ran for $DYNO"}}}}}}"#
        )
    };
    let mut files = repo::web_app("scripted");
    files.push(("app.json", app_json("echo migrating")));
    let source = repo::create(&repo::as_refs(&files));
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr
            .contains("Running predeploy script: echo migrating"),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("remote:        migrating"),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("post ran for postdeploy.1"),
        "{push:#?}"
    );

    repo::commit(
        source.path(),
        &[
            ("app.json", &app_json("echo cannot migrate; exit 3")),
            ("www/index.html", "never\n"),
        ],
        "bad migration",
    );
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0);
    assert!(
        push.stderr
            .contains("The predeploy script failed with exit status 3"),
        "{push:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "scripted\n");
}

#[test]
fn clone_and_rename() {
    let berth = Berth::start();
    let app = berth.app("original");
    let copy = berth.app("copy");
    let renamed = berth.app("renamed");
    let source = repo::create(&repo::as_refs(&repo::web_app("cloned code")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("config:set {app} FROM=original")).ok();
    let custom = format!("www.{app}.example");
    let tcp = free_port();
    berth.ssh(&format!("domains:add {app} {custom}")).ok();
    berth.ssh(&format!("certs:generate {app}")).ok();
    berth.ssh(&format!("certs:set {app} redirect false")).ok();
    berth
        .ssh(&format!("certs:set {app} hsts-max-age 1234"))
        .ok();
    berth.ssh(&format!("ports:add {app} tcp:{tcp}:5000")).ok();
    berth
        .ssh(&format!("nginx:set {app} proxy-read-timeout 90s"))
        .ok();
    berth
        .ssh(&format!("git:set {app} rev-env-var SOURCE_VERSION"))
        .ok();
    berth.ssh(&format!("maintenance:on {app}")).ok();
    berth
        .ssh_input(
            &format!("maintenance:custom-page {app}"),
            b"<p>Moving house</p>\n",
        )
        .ok();

    berth.ssh(&format!("apps:clone {app} {copy}")).ok();
    assert_eq!(
        berth.get(&Berth::host(&copy), "/").body,
        "cloned code\n",
        "a clone is a new app: not in maintenance"
    );
    assert_eq!(
        berth.ssh(&format!("config:get {copy} FROM")).ok().stdout,
        "original\n"
    );
    let copied = berth.ssh(&format!("domains:report {copy}")).ok().stdout
        + &berth.ssh(&format!("ports:report {copy}")).ok().stdout
        + &berth.ssh(&format!("certs:report {copy}")).ok().stdout;
    let no_cert = copied
        .lines()
        .any(|l| l.contains("Ssl enabled") && l.ends_with("false"));
    assert!(
        !copied.contains(&custom) && !copied.contains("tcp:") && no_cert,
        "a clone gets no custom domain, TCP port or certificate: {copied}"
    );
    let limits = berth.ssh(&format!("nginx:report {copy}")).ok().stdout;
    assert!(
        limits
            .lines()
            .any(|l| l.contains("Nginx proxy read timeout:") && l.ends_with("90s")),
        "a clone keeps the proxy limits: {limits}"
    );
    let var = berth
        .ssh(&format!("git:report {copy} --git-rev-env-var"))
        .ok();
    assert_eq!(
        var.stdout, "SOURCE_VERSION\n",
        "a clone keeps git:set settings"
    );
    // Refused before anything is said to happen.
    for verb in ["apps:clone", "apps:rename"] {
        let exists = berth.ssh(&format!("{verb} {app} {copy}"));
        assert_eq!(exists.code, 1, "{exists:#?}");
        assert_eq!(exists.stdout, "", "{exists:#?}");
        assert_eq!(exists.stderr, " !     Name is already taken\n");
    }
    berth
        .ssh(&format!("apps:clone --ignore-existing {app} {copy}"))
        .ok();

    berth.ssh(&format!("apps:rename {app} {renamed}")).ok();
    let renamed_page = berth.get(&Berth::host(&renamed), "/");
    assert_eq!(
        (renamed_page.status, renamed_page.body.as_str()),
        (503, "<p>Moving house</p>\n"),
        "a renamed app stays in maintenance, with its page"
    );
    assert!(
        get_on(tcp, None).contains("cloned code"),
        "the TCP port follows (maintenance leaves TCP alone)"
    );
    berth.ssh(&format!("maintenance:off {renamed}")).ok();
    assert_eq!(berth.get(&Berth::host(&renamed), "/").body, "cloned code\n");
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 404);
    assert_eq!(berth.get(&custom, "/").body, "cloned code\n");
    let domains = berth.ssh(&format!("domains:report {renamed}")).ok().stdout;
    assert!(
        domains.contains(&custom)
            && domains.contains(&Berth::host(&renamed))
            && !domains.contains(&Berth::host(&app)),
        "custom domains move and the default one is renamed: {domains}"
    );
    let secure = Command::new("curl")
        .args(["-sSk", "-D", "-", "--resolve"])
        .arg(format!("{custom}:{}:127.0.0.1", berth.https.port()))
        .arg(format!("https://{custom}:{}/", berth.https.port()))
        .output()
        .expect("curl");
    let secure = String::from_utf8_lossy(&secure.stdout).to_lowercase();
    assert!(
        secure.contains("max-age=1234") && secure.contains("cloned code"),
        "the certificate and HTTPS settings move: {secure}"
    );
    assert_eq!(berth.ssh(&format!("apps:exists {app}")).code, 20);
    assert!(Berth::containers(&app).is_empty());
    repo::commit(
        source.path(),
        &[("www/index.html", "pushed to the new name\n")],
        "v2",
    );
    berth.push(source.path(), &renamed, "main").ok();
    assert_eq!(
        berth.get(&Berth::host(&renamed), "/").body,
        "pushed to the new name\n"
    );
}

#[test]
fn docker_options_reach_builds_and_containers() {
    let berth = Berth::start();
    let app = berth.app("dockeropts");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("docker-options:add {app} deploy,run --add-host db.internal:10.9.8.7 --label team=checkout"))
        .ok();
    berth
        .ssh(&format!(
            "docker-options:add {app} run --add-host only.run:10.1.2.3"
        ))
        .ok();
    berth
        .ssh(&format!(
            "docker-options:add {app} build --build-arg GREETING=built-with-arg --memory 300m --cpus 1.5"
        ))
        .ok();
    for (line, message) in [
        (
            format!("docker-options:add {app} deploy --privileged"),
            "power over the host",
        ),
        (
            format!("docker-options:add {app} deploy -v /:/host"),
            "use storage:mount",
        ),
        (
            format!("docker-options:add {app} build --shm-size 1g"),
            "only applies to the deploy and run phase",
        ),
        (
            format!("docker-options:add {app} launch --dns 1.1.1.1"),
            "Invalid phase",
        ),
        (
            format!("docker-options:add {app} deploy --memory 1g"),
            "--memory for deploy is not supported: use resource:limit",
        ),
        (
            format!("docker-options:add {app} build --memory 4g"),
            "a size up to 2047m",
        ),
    ] {
        let run = berth.ssh(&line);
        assert_eq!(run.code, 1, "{line}");
        assert!(run.stderr.contains(message), "{line}: {run:#?}");
    }
    let report = berth
        .ssh(&format!("docker-options:report {app}"))
        .ok()
        .stdout;
    assert!(
        report.contains("--add-host=db.internal:10.9.8.7 --label=team=checkout"),
        "{report}"
    );
    let listed = berth
        .ssh(&format!("docker-options:list {app} --phase run"))
        .ok()
        .stdout;
    assert_eq!(
        listed,
        "--add-host=db.internal:10.9.8.7\n--label=team=checkout\n--add-host=only.run:10.1.2.3\n"
    );

    let mut files = repo::web_app("placeholder");
    files[0].1 = "FROM berth-base/busybox:latest\nARG GREETING\nCOPY www /www\nRUN echo \"$GREETING\" > /www/index.html\n\
                  RUN (cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max || cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us) > /www/limits 2>/dev/null; true\n\
                  CMD [\"/bin/sh\", \"-c\", \"exec httpd -f -p \\\"$PORT\\\" -h /www\"]\n"
        .to_string();
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "built-with-arg\n");
    let limits = berth.get(&Berth::host(&app), "/limits").body;
    assert!(
        limits.contains("314572800") && limits.contains("150000"),
        "the build ran with the build phase's limits: {limits}"
    );
    let id = Berth::containers(&app)[0].0.clone();
    assert_eq!(
        inspect(&id, "{{.HostConfig.ExtraHosts}}"),
        "[db.internal:10.9.8.7]"
    );
    assert_eq!(
        inspect(&id, "{{index .Config.Labels \"team\"}}"),
        "checkout"
    );
    let hosts = berth.ssh(&format!("run {app} cat /etc/hosts")).ok().stdout;
    assert!(
        hosts.contains("10.9.8.7") && hosts.contains("db.internal"),
        "{hosts}"
    );
    assert!(
        hosts.contains("only.run"),
        "the run phase's own option: {hosts}"
    );
    assert!(
        !inspect(&id, "{{.HostConfig.ExtraHosts}}").contains("only.run"),
        "run-phase options stay out of the app's instances"
    );

    berth.ssh(&format!("docker-options:clear {app}")).ok();
    assert!(!berth
        .ssh(&format!("docker-options:report {app}"))
        .ok()
        .stdout
        .contains("--"));
}

#[test]
fn cron_tasks_are_listed_run_and_scheduled() {
    let berth = Berth::start();
    let app = berth.app("cron");
    let mut files = repo::web_app("cron");
    files.push((
        "app.json",
        r#"{"cron": [{"command": "echo tick from $DYNO", "schedule": "* * * * *"},
                     {"command": "exit 4", "schedule": "@daily"},
                     {"command": "echo slow start; sleep 150", "schedule": "* * * * *"},
                     {"command": "echo weekly", "schedule": "0 3 * JAN-DEC MON"}]}"#
            .to_string(),
    ));
    berth.ssh(&format!("apps:create {app}")).ok();
    let none = berth.ssh(&format!("cron:list {app}")).ok().stdout;
    assert_eq!(none, "ID  Schedule  Suspended  Command\nnone\n");
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();

    let list = berth.ssh(&format!("cron:list {app}")).ok().stdout;
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].ends_with("Command"),
        "{list}"
    );
    let command = lines[0].find("Command").expect("Command");
    assert_eq!(&lines[1][command..], "echo tick from $DYNO", "{list}");
    // Month and weekday names, as Dokku's cron takes them.
    assert!(list.contains("0 3 * JAN-DEC MON"), "{list}");
    assert!(
        lines[1].contains("* * * * *") && lines[1].ends_with("echo tick from $DYNO"),
        "{list}"
    );
    let json = berth
        .ssh(&format!("cron:list {app} --format json"))
        .ok()
        .stdout;
    let tasks: serde_json::Value = serde_json::from_str(&json).expect("json");
    let tick = tasks[0]["id"].as_str().expect("id").to_string();
    let fail = tasks[1]["id"].as_str().expect("id").to_string();

    assert_eq!(
        berth.ssh(&format!("cron:run {app} {tick}")).ok().stdout,
        "tick from cron.1\n"
    );
    assert_eq!(berth.ssh(&format!("cron:run {app} {fail}")).code, 4);
    assert!(berth
        .ssh(&format!("cron:run {app} nope"))
        .stderr
        .contains("no cron task nope"));
    let detached = berth
        .ssh(&format!("cron:run --detach {app} {tick}"))
        .ok()
        .stdout;
    assert!(
        detached.starts_with(&format!("{app}.cron.1.")),
        "{detached}"
    );

    // Suspended, the minute loop passes the task over; resumed, it runs it.
    berth.ssh(&format!("cron:suspend {app} {tick}")).ok();
    let suspended_at = berth.log().len();
    let json = berth
        .ssh(&format!("cron:list {app} --format json"))
        .ok()
        .stdout;
    let tasks: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(tasks[0]["suspended"], true, "{json}");
    assert!(
        eventually(Duration::from_secs(75), || berth.log()[suspended_at..]
            .contains("cron: suspended; not started")),
        "the minute loop passes a suspended task over:\n{}",
        berth.log()
    );
    let started = |task: &str| {
        berth.log()[suspended_at..]
            .lines()
            .any(|l| l.contains("cron: starting") && l.contains(&format!("task={task}")))
    };
    assert!(!started(&tick), "{}", berth.log());
    berth.ssh(&format!("cron:resume {app} {tick}")).ok();
    let resumed_at = berth.log().len();
    assert!(
        eventually(Duration::from_secs(75), || berth.log()[resumed_at..]
            .contains("cron: tick from cron.1")),
        "the minute loop runs the task:\n{}",
        berth.log()
    );
    // The slow task started at the first minute and still runs at the second: not again.
    assert!(berth.log().contains("cron: slow start"), "{}", berth.log());
    assert!(
        berth.log()[suspended_at..]
            .contains("cron: still running from an earlier minute; not started again"),
        "{}",
        berth.log()
    );

    // In maintenance the minute loop starts none of the app's tasks.
    berth.ssh(&format!("cron:set {app} maintenance true")).ok();
    let maintenance_at = berth.log().len();
    assert!(
        eventually(Duration::from_secs(75), || berth.log()[maintenance_at..]
            .contains("cron: maintenance; not started")),
        "{}",
        berth.log()
    );
    assert!(
        !berth.log()[maintenance_at..].contains("cron: starting"),
        "{}",
        berth.log()
    );
    let computed = berth
        .ssh(&format!("cron:report {app} --cron-computed-maintenance"))
        .ok();
    assert_eq!(computed.stdout, "true\n");
    berth.ssh(&format!("cron:set {app} maintenance")).ok();
    berth.ssh("cron:set --global maintenance true").ok();
    let global = berth.ssh(&format!("cron:report {app}")).ok().stdout;
    assert!(
        global.contains("Cron computed maintenance:     true")
            && global.contains("Cron global maintenance:       true"),
        "{global}"
    );
}

#[test]
fn container_logs_are_capped_per_app_or_globally() {
    let berth = Berth::start();
    let app = berth.app("logcap");
    let source = repo::create(&repo::as_refs(&repo::web_app("quiet")));
    berth.push(source.path(), &app, "main").ok();
    let max_size = || {
        let id = Berth::containers(&app)
            .into_iter()
            .find(|(_, _, running)| *running)
            .expect("a running container")
            .0;
        inspect(&id, "{{index .HostConfig.LogConfig.Config \"max-size\"}}")
    };
    assert_eq!(max_size(), "10m", "Dokku's default cap");

    berth.ssh(&format!("logs:set {app} max-size 1m")).ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    assert_eq!(max_size(), "1m");
    let computed = berth
        .ssh(&format!("logs:report {app} --logs-computed-max-size"))
        .ok();
    assert_eq!(computed.stdout, "1m\n");

    berth.ssh("logs:set --global max-size unlimited").ok();
    berth.ssh(&format!("logs:set {app} max-size")).ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    assert_eq!(max_size(), "", "unlimited sets no cap");
    let report = berth.ssh(&format!("logs:report {app}")).ok().stdout;
    assert!(
        report.contains("Logs computed max size:        unlimited")
            && report.contains("Logs global max size:          unlimited"),
        "{report}"
    );

    let refused = berth.ssh(&format!("logs:set {app} max-size lots"));
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("Invalid max-size"), "{refused:#?}");
}
