//! End to end, as an attacker or a merely concurrent user would try the core: host escapes
//! through mounts, writes lost to deploys or handoffs, and a second daemon on one data dir.
//! Each test is named after the attack or the lost write it stops.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{repo, Berth};

#[test]
fn host_escape_through_a_symlink_in_a_storage_mount_is_refused() {
    let berth = Berth::start();
    let app = berth.deployed("escape", "v1");
    berth.ssh(&format!("storage:ensure-directory {app}")).ok();
    let storage = berth.data_dir().join("storage");
    let dir = storage.join(&app);
    berth
        .ssh(&format!("storage:mount {app} {}:/data", dir.display()))
        .ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    berth.ssh(&format!("run {app} ln -s / /data/root")).ok();
    assert!(dir.join("root").is_symlink());

    let refused = |source: String, why: &str| {
        let mount = berth.ssh(&format!("storage:mount {app} {source}:/host"));
        assert_eq!(mount.code, 1, "{source}: {mount:#?}");
        assert!(mount.stderr.contains(why), "{source}: {mount:#?}");
    };
    let through_link = format!("{}/root", dir.display());
    let deeper = format!(
        "only a directory directly under {} can be mounted, a directory made by storage:ensure-directory <name>",
        storage.display()
    );
    refused(through_link, &deeper);
    refused(format!("{}/nested", dir.display()), &deeper);
    refused(
        format!("{}", storage.display()),
        &format!(
            "Cannot mount {}: it is the storage directory itself; mount a directory made by storage:ensure-directory <name>",
            storage.display()
        ),
    );
    refused(format!("{}/../..", dir.display()), "Invalid mount");
    refused(format!("{}/./x", storage.display()), "Invalid mount");
    let list = berth.ssh(&format!("storage:list {app}")).ok().stdout;
    assert!(!list.contains("/host"), "{list}");

    // A mount stored earlier is checked again whenever a container is made: swapped for a
    // symlink to `/` on the host, it is refused, and the running release keeps serving.
    std::fs::remove_dir_all(&dir).expect("remove the storage directory");
    std::os::unix::fs::symlink("/", &dir).expect("plant a symlink");
    let restart = berth.ssh(&format!("ps:restart {app}"));
    assert_ne!(restart.code, 0, "{restart:#?}");
    assert!(
        restart.stderr.contains("not a real directory"),
        "{restart:#?}"
    );
    let run = berth.ssh(&format!("run {app} cat /data/etc/shadow"));
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("not a real directory"), "{run:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");
    std::fs::remove_file(&dir).expect("remove the symlink");
}

#[test]
fn other_local_users_cannot_read_the_data_dir_or_reach_the_control_socket() {
    let berth = Berth::start();
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&berth.data_dir()), 0o700);
    assert_eq!(mode(&berth.data_dir().join("repos")), 0o700);
    assert_eq!(mode(&berth.control), 0o600);
}

#[test]
fn config_set_during_a_build_is_not_lost() {
    let berth = Berth::start();
    let app = berth.app("rotate");
    let source = repo::create(&repo::as_refs(&repo::web_app("v1")));
    berth.push(source.path(), &app, "main").ok();

    repo::commit_slow(source.path(), "v2", 4);
    let mut pushing = berth.push_spawn(source.path(), &app, "main");
    let lines = support::wait_for_line(&mut pushing, "Building");
    berth
        .ssh(&format!("config:set --no-restart {app} SECRET=rotated"))
        .ok();
    lines.for_each(drop);
    assert!(pushing.wait().expect("push").success());
    let secret = berth.ssh(&format!("config:get {app} SECRET")).ok().stdout;
    assert_eq!(secret, "rotated\n");

    // With a restart, the config:set waits for the deploy, then deploys itself.
    repo::commit_slow(source.path(), "v3", 4);
    let mut pushing = berth.push_spawn(source.path(), &app, "main");
    let lines = support::wait_for_line(&mut pushing, "Building");
    berth.ssh(&format!("config:set {app} SECRET=again")).ok();
    lines.for_each(drop);
    assert!(pushing.wait().expect("push").success());
    let secret = berth.ssh(&format!("config:get {app} SECRET")).ok().stdout;
    assert_eq!(secret, "again\n");
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("SECRET=again"), "{env}");
}

#[test]
fn config_set_no_restart_then_ps_restart_applies_the_config() {
    let berth = Berth::start();
    let app = berth.deployed("migrate", "v1");
    berth
        .ssh(&format!("config:set --no-restart {app} MIGRATE=yes"))
        .ok();
    let run = berth.ssh(&format!("run {app} sh -c 'echo $MIGRATE'")).ok();
    assert_eq!(run.stdout, "yes\n");
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(!env.contains("MIGRATE"), "{env}");

    let restart = berth.ssh(&format!("ps:restart {app}")).ok();
    assert!(
        restart.stdout.contains("with the config set since v1"),
        "{restart:#?}"
    );
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("MIGRATE=yes"), "{env}");
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(releases.contains("v2"), "{releases}");
    berth.ssh(&format!("releases:rollback {app} v1")).ok();
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(!env.contains("MIGRATE"), "{env}");
    // Nothing changed since: a restart is a restart, not a release.
    berth.ssh(&format!("ps:restart {app}")).ok();
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(!releases.contains("v4"), "{releases}");
}

#[test]
fn config_set_no_restart_then_ps_start_rebuild_or_cron_applies_the_config() {
    let berth = Berth::start();
    let app = berth.app("migrate");
    let mut files = repo::web_app("v1");
    files.push((
        "app.json",
        r#"{"cron": [{"command": "echo cron sees $FIRST", "schedule": "@daily"}]}"#.to_string(),
    ));
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    let env = || berth.get(&Berth::host(&app), "/cgi-bin/env").body;

    berth
        .ssh(&format!("config:set --no-restart {app} FIRST=yes"))
        .ok();
    let json = berth
        .ssh(&format!("cron:list {app} --format json"))
        .ok()
        .stdout;
    let tasks: serde_json::Value = serde_json::from_str(&json).expect("json");
    let task = tasks[0]["id"].as_str().expect("id");
    let cron = berth.ssh(&format!("cron:run {app} {task}")).ok();
    assert_eq!(cron.stdout, "cron sees yes\n");

    berth.ssh(&format!("ps:stop {app}")).ok();
    berth.ssh(&format!("ps:start {app}")).ok();
    assert!(env().contains("FIRST=yes"), "{}", env());
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(releases.contains("v2*"), "{releases}");

    berth
        .ssh(&format!("config:set --no-restart {app} SECOND=yes"))
        .ok();
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(env().contains("SECOND=yes"), "{}", env());
    let releases = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(releases.contains("v3*"), "{releases}");
}

#[test]
fn a_second_daemon_on_one_data_dir_refuses_to_start() {
    let berth = Berth::start();
    // The same data dir, with a control socket elsewhere (which nothing else would notice).
    let config = std::fs::read_to_string(&berth.config).expect("read config");
    let other = berth.config.with_file_name("second.toml");
    let socket = berth.config.with_file_name("second.sock");
    std::fs::write(
        &other,
        format!("control_socket = \"{}\"\n{config}", socket.display()),
    )
    .expect("write the second config");
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["daemon", "--config"])
        .arg(&other)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run a second daemon");
    let (exited, output) = support::finished_within(second, std::time::Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(exited, "a second daemon serves the same data dir: {stderr}");
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("another berth daemon"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    berth.ssh("apps:list").ok();
}

#[test]
fn a_write_on_a_connection_to_the_replaced_daemon_is_refused_not_lost() {
    let mut berth = Berth::start();
    let app = berth.deployed("handover", "v1");
    let control = berth.data_dir().join("..").join("mux");
    berth.ssh_shared_open(&control);
    berth.ssh_shared(&control, "apps:list").ok();

    let mut old = berth.hand_over_started();
    let late = berth.ssh_shared(&control, &format!("config:set --no-restart {app} LATE=1"));
    let now = berth.ssh(&format!("config:get {app} LATE"));
    assert!(
        late.code != 0 || now.stdout == "1\n",
        "acknowledged, then lost: {late:#?} {now:#?}"
    );
    assert!(late.stderr.contains("handed over"), "{late:#?}");
    berth.ssh_shared_exit(&control);
    let _ = old.wait();
    berth
        .ssh(&format!("config:set --no-restart {app} LATE=2"))
        .ok();
}

fn head(repo: &std::path::Path, git_dir: Option<&std::path::Path>) -> String {
    let mut git = std::process::Command::new("git");
    git.current_dir(repo);
    if let Some(dir) = git_dir {
        git.arg("--git-dir").arg(dir);
    }
    let output = git
        .args(["rev-parse", "main"])
        .output()
        .expect("git rev-parse");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn of_two_pushes_at_once_the_one_serving_is_the_one_git_accepted_last() {
    let berth = Berth::start();
    let app = berth.app("race");
    let sources = [
        repo::create(&repo::as_refs(&repo::web_app("a"))),
        repo::create(&repo::as_refs(&repo::web_app("b"))),
    ];
    berth.push(sources[0].path(), &app, "main").ok();
    let server_repo = berth.data_dir().join("repos").join(format!("{app}.git"));
    for round in 0..4 {
        for (source, marker) in sources.iter().zip(["a", "b"]) {
            let text = format!("{marker}{round}\n");
            repo::commit(source.path(), &[("www/index.html", &text)], "round");
        }
        let pushes: Vec<_> = sources
            .iter()
            .map(|source| berth.push_spawn(source.path(), &app, "main"))
            .collect();
        let results: Vec<_> = pushes
            .into_iter()
            .map(|push| push.wait_with_output().expect("push"))
            .collect();
        let served = berth.get(&Berth::host(&app), "/").body;
        let winner = if served.starts_with('a') { 0 } else { 1 };
        assert_eq!(served, format!("{}{round}\n", ["a", "b"][winner]));
        assert!(
            results[winner].status.success(),
            "round {round}: the push git reported as failed serves: {}",
            String::from_utf8_lossy(&results[winner].stderr)
        );
        assert_eq!(
            head(sources[winner].path(), None),
            head(&server_repo, Some(&server_repo)),
            "round {round}: the deployed commit is not the branch's head"
        );
    }
}

#[test]
fn one_unreadable_app_file_does_not_take_every_app_down() {
    let mut berth = Berth::start();
    let broken = berth.deployed("broken", "b1");
    let healthy = berth.deployed("healthy", "h1");
    berth.stop();
    let file = berth.data_dir().join("apps").join(&broken).join("app.toml");
    std::fs::write(&file, "name = [unterminated\n").expect("break the app's file");
    berth.restart();

    assert_eq!(berth.get(&Berth::host(&healthy), "/").body, "h1\n");
    let list = berth.ssh("apps:list").ok();
    assert!(
        list.stdout.contains(&format!("{broken} (out of service)")),
        "{list:#?}"
    );
    assert!(list.stdout.contains(&healthy), "{list:#?}");
    for command in [
        format!("config:set {broken} A=b"),
        format!("ps:restart {broken}"),
        format!("apps:create {broken}"),
    ] {
        let refused = berth.ssh(&command);
        assert_ne!(refused.code, 0, "{command}: {refused:#?}");
        assert_eq!(refused.stderr.lines().count(), 1, "{command}: {refused:#?}");
    }
    let report = berth.ssh(&format!("apps:report {broken}"));
    assert!(report.stderr.contains("out of service"), "{report:#?}");
    assert!(berth.log().contains("its state file is unreadable"));

    // A file from a newer Berth takes only its app out of service; global state from a newer
    // Berth stops the daemon from starting, with one line.
    berth.stop();
    let text = std::fs::read_to_string(
        berth
            .data_dir()
            .join("apps")
            .join(&healthy)
            .join("app.toml"),
    )
    .expect("read the app's file");
    let newer = text.replacen("version = 1", "version = 99", 1);
    std::fs::write(&file, newer).expect("write a newer app file");
    std::fs::write(berth.data_dir().join("global.toml"), "version = 99\n").expect("write");
    let started = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["daemon", "--config"])
        .arg(&berth.config)
        .output()
        .expect("start berth");
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(!started.status.success(), "{stderr}");
    assert!(
        stderr.contains("was written by a newer Berth (state format 99"),
        "{stderr}"
    );
    std::fs::remove_file(berth.data_dir().join("global.toml")).expect("remove");
    berth.restart();
    let list = berth.ssh("apps:list").ok();
    assert!(
        list.stderr.contains("written by a newer Berth"),
        "{list:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&healthy), "/").body, "h1\n");
}

/// `Authorization: Basic …` for `user:password`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// The median of how long `request` takes, over `count` tries.
fn median_time(count: usize, mut request: impl FnMut()) -> std::time::Duration {
    let mut times: Vec<_> = (0..count)
        .map(|_| {
            let start = std::time::Instant::now();
            request();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[count / 2]
}

#[test]
fn a_wrong_password_flood_neither_stalls_other_apps_nor_tells_which_users_exist() {
    let berth = Berth::start_configured("", "auth_failures_per_minute = 0");
    let private = berth.deployed("private", "private");
    let public = berth.deployed("public", "public");
    berth
        .ssh(&format!("http-auth:enable {private} ann s3cret"))
        .ok();
    let (private_host, public_host) = (Berth::host(&private), Berth::host(&public));

    // Unknown users take as long as wrong passwords (a hash each), over many tries.
    let unknown = basic("nobody", "s3cret");
    let wrong = basic("ann", "wrong");
    let try_as = |authorization: &str| {
        let denied = berth.get_with(&private_host, "/", &[("Authorization", authorization)]);
        assert_eq!(denied.status, 401);
    };
    let unknown_time = median_time(9, || try_as(&unknown));
    let wrong_time = median_time(9, || try_as(&wrong));
    let ratio = unknown_time.as_secs_f64() / wrong_time.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown user {unknown_time:?}, wrong password {wrong_time:?}"
    );

    let public_get = || assert_eq!(berth.get(&public_host, "/").body, "public\n");
    let quiet = median_time(21, public_get);
    let flooding = std::sync::atomic::AtomicBool::new(true);
    let during = std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                    try_as(&wrong);
                }
            });
        }
        let during = median_time(21, public_get);
        flooding.store(false, std::sync::atomic::Ordering::Relaxed);
        during
    });
    // The floor keeps a sub-millisecond quiet figure from making noise look like a stall.
    let floor = quiet.max(std::time::Duration::from_millis(5));
    assert!(
        during < floor * 10,
        "another app's median went from {quiet:?} to {during:?} during the flood"
    );
}

#[test]
fn wrong_passwords_from_one_address_are_refused_after_ten_a_minute() {
    let berth = Berth::start();
    let app = berth.deployed("guarded", "guarded");
    berth
        .ssh(&format!("http-auth:enable {app} ann s3cret"))
        .ok();
    let host = Berth::host(&app);
    let right = basic("ann", "s3cret");
    assert_eq!(
        berth
            .get_with(&host, "/", &[("Authorization", &right)])
            .status,
        200
    );
    for n in 0..10 {
        let wrong = basic("ann", &format!("guess{n}"));
        let denied = berth.get_with(&host, "/", &[("Authorization", &wrong)]);
        assert_eq!(denied.status, 401, "try {n}");
    }
    let refused = berth.get_with(&host, "/", &[("Authorization", &basic("ann", "guess10"))]);
    assert_eq!(refused.status, 429, "{refused:#?}");
    assert!(refused.header("retry-after").is_some(), "{refused:#?}");
    // A client that logged in before keeps passing; new guesses do not get checked.
    assert_eq!(
        berth
            .get_with(&host, "/", &[("Authorization", &right)])
            .status,
        200
    );
}

/// The daemon's CPU time so far (user and system, in clock ticks), from /proc.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn idle_ssh_strangers_cannot_exhaust_the_daemon() {
    use std::io::Read;
    let berth = Berth::start_with_ssh("max_unauthenticated = 20\nlogin_grace_time_secs = 3");
    let app = berth.deployed("steady", "steady");
    let pid = std::fs::read_to_string(berth.data_dir().join("berth.pid")).expect("pid");
    let pid = pid.trim();
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", pid, "--nofile=256:256"])
        .status()
        .expect("run prlimit");
    assert!(limited.success());

    // Far more idle connections than the daemon has descriptors, none of which logs in.
    let ssh = std::net::SocketAddr::from(([127, 0, 0, 1], berth.ssh_port));
    let mut idle: Vec<_> = (0..400)
        .filter_map(|_| std::net::TcpStream::connect(ssh).ok())
        .collect();
    assert!(idle.len() > 300, "only {} connected", idle.len());
    let (log_before, ticks_before) = (berth.log_len(), cpu_ticks(pid));
    let started = std::time::Instant::now();
    for _ in 0..30 {
        assert_eq!(berth.get(&Berth::host(&app), "/").body, "steady\n");
    }
    // Every idle connection ends: at once past the cap, after the grace time within it.
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        let mut rest = Vec::new();
        let read = stream.read_to_end(&mut rest);
        assert!(read.is_ok(), "an idle connection stayed open: {read:?}");
    }
    // Meanwhile the daemon did not spin (a tick is 1/100 s of CPU) nor flood its log.
    let ticks = cpu_ticks(pid) - ticks_before;
    let window_ticks = started.elapsed().as_secs_f64() * 100.0;
    assert!(
        (ticks as f64) < window_ticks * 0.3,
        "the daemon used {ticks} ticks of CPU in {window_ticks:.0}"
    );
    let grew = berth.log_len() - log_before;
    assert!(grew < 20_000, "the log grew by {grew} bytes");
    drop(idle);
    let (answered, sftp) = support::finished_within(
        berth.ssh_subsystem_spawn("sftp"),
        std::time::Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&sftp.stderr);
    assert!(answered, "ssh -s sftp got no answer");
    assert!(!sftp.status.success(), "{stderr}");
    assert!(stderr.contains("Berth has no sftp subsystem"), "{stderr}");
    let shell = berth.ssh_words(&[]);
    assert_ne!(shell.code, 0, "{shell:#?}");
    assert!(shell.stderr.contains("Berth has no shell"), "{shell:#?}");
    berth.ssh("apps:list").ok();
}

#[test]
fn a_daemon_out_of_descriptors_neither_spins_nor_floods_its_log() {
    use std::io::Read;
    let berth = Berth::start_configured("", "client_header_timeout_secs = 3");
    let app = berth.deployed("starved", "starved");
    let pid = std::fs::read_to_string(berth.data_dir().join("berth.pid")).expect("pid");
    let pid = pid.trim();
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", pid, "--nofile=128:128"])
        .status()
        .expect("run prlimit");
    assert!(limited.success());

    // More idle HTTP connections than the daemon has descriptors: the rest wait in the
    // listener's backlog, and every accept fails until the header timeout frees some.
    let (log_before, ticks_before) = (berth.log().len(), cpu_ticks(pid));
    let started = std::time::Instant::now();
    let mut idle: Vec<_> = (0..300)
        .filter_map(|_| std::net::TcpStream::connect(berth.http).ok())
        .collect();
    assert!(idle.len() > 200, "only {} connected", idle.len());
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .expect("timeout");
        let mut rest = Vec::new();
        let read = stream.read_to_end(&mut rest);
        assert!(read.is_ok(), "an idle connection stayed open: {read:?}");
    }
    assert!(
        berth.log()[log_before..].contains("accept failed; pausing"),
        "the daemon never ran out of descriptors:\n{}",
        &berth.log()[log_before..]
    );
    let ticks = cpu_ticks(pid) - ticks_before;
    let window_ticks = started.elapsed().as_secs_f64() * 100.0;
    assert!(
        (ticks as f64) < window_ticks * 0.3,
        "the daemon used {ticks} ticks of CPU in {window_ticks:.0}"
    );
    let grew = berth.log().len() - log_before;
    assert!(grew < 20_000, "the log grew by {grew} bytes");
    // Once the idle clients are gone, the proxy serves again.
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "starved\n");
}

/// A gzipped tar holding `name` with `size` zero bytes: a few KiB that unpack to `size`.
fn zeros_archive(name: &str, size: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), vec![0u8; size]).expect("write zeros");
    let output = std::process::Command::new("tar")
        .current_dir(dir.path())
        .args(["-czf", "-", name])
        .output()
        .expect("run tar");
    assert!(output.status.success(), "{output:?}");
    output.stdout
}

#[test]
fn oversized_pushes_and_archive_bombs_are_refused_before_they_are_read() {
    // `[build]` comes after the harness's `[deploy]` lines.
    let berth = Berth::start_with("[build]\nmax_push_size = \"2m\"\nmax_context_size = \"2m\"");
    let app = berth.app("sizes");
    let source = repo::create(&repo::as_refs(&repo::web_app("small")));
    berth.push(source.path(), &app, "main").ok();

    // Incompressible: the pack itself is over the limit.
    let mut noise = vec![0u8; 3 << 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut noise))
        .expect("read random bytes");
    std::fs::write(source.path().join("noise.bin"), &noise).expect("write noise");
    repo::commit(source.path(), &[], "noise");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr.contains("pack exceeds maximum allowed size"),
        "{push:#?}"
    );

    // Compressible: a tiny pack whose files are over the build context's limit.
    let source = repo::create(&repo::as_refs(&repo::web_app("zeros")));
    std::fs::write(source.path().join("zeros.bin"), vec![0u8; 3 << 20]).expect("write zeros");
    repo::commit(source.path(), &[], "zeros");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr
            .contains("is 4 MiB, more than the 2 MiB Berth builds ([build] max_context_size)"),
        "{push:#?}"
    );

    let bomb = berth.ssh_input(
        &format!("git:from-archive {app} --"),
        &zeros_archive("z", 3 << 20),
    );
    assert_ne!(bomb.code, 0, "{bomb:#?}");
    assert!(
        bomb.stderr.contains("Unpacked, the archive is"),
        "{bomb:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "small\n");
    // Build contexts are streamed from files, which go with their builds.
    let contexts = berth.data_dir().join("tmp").join("contexts");
    let left = std::fs::read_dir(&contexts).map_or(0, |dir| dir.count());
    assert_eq!(left, 0, "build contexts left in {}", contexts.display());
}

#[test]
fn an_archive_that_unpacks_large_is_not_held_in_memory() {
    let berth = Berth::start();
    let app = berth.app("unpacked");
    berth.ssh(&format!("apps:create {app}")).ok();
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in repo::web_app("unpacked") {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
    }
    let big = 150usize << 20;
    std::fs::write(dir.path().join("zeros.bin"), vec![0u8; big]).expect("write zeros");
    let archive = std::process::Command::new("tar")
        .current_dir(dir.path())
        .args(["-czf", "-", "."])
        .output()
        .expect("run tar");
    assert!(archive.status.success(), "{archive:?}");

    let before = berth.peak_rss_kib();
    berth
        .ssh_input(&format!("git:from-archive {app} --"), &archive.stdout)
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "unpacked\n");
    let grew = berth.peak_rss_kib() - before;
    assert!(
        grew < (big as u64 >> 10) / 3,
        "the daemon's peak memory grew by {grew} KiB for a {big}-byte file"
    );
}

#[test]
fn one_connection_cannot_open_sessions_without_end() {
    let berth = Berth::start();
    let app = berth.app("sessions");
    berth.ssh(&format!("apps:create {app}")).ok();
    let control = berth.data_dir().join("..").join("sessions-mux");
    berth.ssh_shared_open(&control);
    // Each `config:import` holds its session until its input ends.
    let mut held: Vec<_> = (0..10)
        .map(|_| berth.ssh_shared_spawn(&control, &format!("config:import {app}")))
        .collect();
    // OpenSSH falls back to a connection of its own when the shared one refuses a session,
    // so the refusal shows in the daemon's log, not in the command's result.
    let eleventh = support::eventually(std::time::Duration::from_secs(30), || {
        // One refused while another command held a session is opened again.
        for child in &mut held {
            if matches!(child.try_wait(), Ok(Some(_))) {
                *child = berth.ssh_shared_spawn(&control, &format!("config:import {app}"));
            }
        }
        berth.ssh_shared(&control, "version").ok();
        berth.log().contains("ssh channel refused: 10 already open")
    });
    assert!(eleventh, "an eleventh session opened on one connection");
    for child in &mut held {
        drop(child.stdin.take());
    }
    for mut child in held {
        let _ = child.wait();
    }
    berth.ssh_shared(&control, "version").ok();
    berth.ssh_shared_exit(&control);
}
