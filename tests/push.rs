//! End to end: `git push` over SSH builds with Docker, starts the container, and the proxy
//! routes to it only once it answers. Failed pushes leave the running release serving.

mod support;

use std::time::Duration;

use support::{eventually, repo, Berth};

fn web_repo(marker: &str) -> tempfile::TempDir {
    repo::create(&repo::as_refs(&repo::web_app(marker)))
}

#[test]
fn push_deploys_and_serves_through_the_proxy() {
    let berth = Berth::start();
    let app = berth.app("shop");
    let source = web_repo("release one");

    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr
            .contains(&format!("-----> Building {app} from Dockerfile")),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("remote:        Step 1/"),
        "build output streams: {push:#?}"
    );
    let stages: Vec<&str> = push
        .stderr
        .lines()
        .filter_map(|line| {
            let line = line.trim_end().strip_prefix("remote: -----> ")?;
            let (what, took) = line.split_once("… ")?;
            took.strip_suffix('s')?.parse::<f64>().ok()?;
            Some(what)
        })
        .collect();
    assert_eq!(
        stages,
        [
            format!("Building {app} (Dockerfile)"),
            format!("Releasing {app} (v1)"),
            format!("Deploying {app} (v1)")
        ],
        "each stage ends with its elapsed time: {push:#?}"
    );
    let url = format!("http://{}:{}", Berth::host(&app), berth.http.port());
    let (_, deployed) = push
        .stderr
        .split_once("=====> Application deployed:")
        .expect("the deploy's last words");
    assert!(
        deployed.contains(&format!("remote:        {url}")),
        "the app's URL: {push:#?}"
    );

    let response = berth.get(&Berth::host(&app), "/");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "release one\n");
    assert!(berth.ssh("apps:list").ok().stdout.contains(&app));

    let containers = Berth::containers(&app);
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0].1, "1");
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("PORT=5000"), "{env}");
}

#[test]
fn the_proxy_sets_forwarding_headers() {
    let berth = Berth::start();
    let app = berth.app("headers");
    berth.push(web_repo("hi").path(), &app, "main").ok();
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("HTTP_X_FORWARDED_FOR=127.0.0.1"), "{env}");
    assert!(env.contains("HTTP_X_FORWARDED_PROTO=http"), "{env}");
    assert!(
        env.contains(&format!("HTTP_X_FORWARDED_PORT={}", berth.http.port())),
        "{env}"
    );
    assert!(env.contains("HTTP_X_REQUEST_START=t="), "{env}");
}

#[test]
fn an_exposed_port_becomes_the_port() {
    let berth = Berth::start();
    let app = berth.app("exposed");
    let mut files = repo::web_app("on 7000");
    files[0].1 = files[0]
        .1
        .replace("COPY www /www", "COPY www /www\nEXPOSE 7000");
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("PORT=7000"), "{env}");
}

#[test]
fn a_redeploy_replaces_the_container() {
    let berth = Berth::start();
    let app = berth.app("redeploy");
    let source = web_repo("v1");
    berth.push(source.path(), &app, "main").ok();
    let first = Berth::containers(&app);

    repo::commit(source.path(), &[("www/index.html", "v2\n")], "v2");
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v2\n");
    assert!(
        eventually(Duration::from_secs(20), || Berth::containers(&app).len()
            == 1),
        "the old container is retired: {:?}",
        Berth::containers(&app)
    );
    let second = Berth::containers(&app);
    assert_eq!(second[0].1, "2");
    assert_ne!(first[0].0, second[0].0);
}

#[test]
fn a_failed_build_keeps_the_old_release_serving() {
    let berth = Berth::start();
    let app = berth.app("badbuild");
    let source = web_repo("good");
    berth.push(source.path(), &app, "main").ok();
    let state_file = berth.data_dir().join(format!("apps/{app}/app.toml"));
    let state_before = std::fs::read(&state_file).expect("state file");

    let broken = repo::web_app("never served");
    let dockerfile = format!("{}RUN false\n", broken[0].1);
    repo::commit(
        source.path(),
        &[("Dockerfile", &dockerfile), ("www/index.html", "bad\n")],
        "bad",
    );
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(push.stderr.contains("App build failed"), "{push:#?}");
    assert!(
        push.stderr.contains("pre-receive hook declined"),
        "{push:#?}"
    );

    assert_eq!(berth.get(&Berth::host(&app), "/").body, "good\n");
    assert_eq!(
        std::fs::read(&state_file).expect("state file"),
        state_before
    );
    let containers = Berth::containers(&app);
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0].1, "1");
}

#[test]
fn a_container_that_never_answers_fails_the_push() {
    let berth = Berth::start();
    let app = berth.app("crashy");
    let source = web_repo("steady");
    berth.push(source.path(), &app, "main").ok();
    let failed = berth.ssh(&format!("logs:failed {app}")).ok();
    assert_eq!(
        failed.stdout,
        format!("-----> No failed deploy of {app} recorded\n")
    );

    // Without restarts the exit status stays readable (Docker reads 0 once a restart runs).
    berth.ssh(&format!("ps:set {app} restart-policy no")).ok();
    let crashing = "FROM berth-base/busybox:latest\n\
                    CMD [\"/bin/sh\", \"-c\", \"seq 1 30; echo boom: missing DATABASE_URL; exit 3\"]\n";
    repo::commit(source.path(), &[("Dockerfile", crashing)], "crash");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    // What happened, not what the probe met: the process exited, with its status.
    assert!(
        push.stderr
            .contains("Could not start web.1: its process exited with status 3"),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("boom: missing DATABASE_URL"),
        "log tail shown: {push:#?}"
    );
    assert!(
        push.stderr.contains("the running release keeps serving"),
        "{push:#?}"
    );
    let shown = |text: &str, line: &str| {
        text.lines()
            .any(|l| l.trim_start_matches("remote:").trim() == line)
    };
    assert!(
        !shown(&push.stderr, "5"),
        "the push shows the last lines only: {push:#?}"
    );

    // logs:failed keeps why, and more of the output.
    let failed = berth.ssh(&format!("logs:failed {app}")).ok().stdout;
    assert!(
        failed.starts_with(&format!(
            "=====> {app} failed deploy output\nDeploy of v2 failed at "
        )),
        "{failed}"
    );
    assert!(failed.contains(": Could not start web.1: "), "{failed}");
    assert!(
        shown(&failed, "5") && failed.ends_with("30\nboom: missing DATABASE_URL\n"),
        "{failed}"
    );
    let all = berth.ssh("logs:failed --all").ok().stdout;
    assert!(all.contains(&failed), "{all}");

    assert_eq!(berth.get(&Berth::host(&app), "/").body, "steady\n");
    assert!(
        eventually(Duration::from_secs(10), || Berth::containers(&app).len()
            == 1),
        "the failed container is removed: {:?}",
        Berth::containers(&app)
    );

    // A first deploy that fails has no running release to speak of.
    let first = berth.app("crashy-first");
    berth.ssh(&format!("apps:create {first}")).ok();
    berth.ssh(&format!("ps:set {first} restart-policy no")).ok();
    let push = berth.push(source.path(), &first, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr.contains("its process exited with status 3")
            && push.stderr.contains(&format!(
                "Deploy of {first} failed; nothing of it was running before"
            ))
            && !push.stderr.contains("keeps serving"),
        "{push:#?}"
    );
}

#[test]
fn a_push_to_another_branch_is_accepted_without_deploying() {
    let berth = Berth::start();
    let app = berth.app("branch");
    let source = web_repo("feature");
    let push = berth.push(source.path(), &app, "feature").ok();
    assert!(
        push.stderr
            .contains("deploys pushes to main or master only"),
        "{push:#?}"
    );
    assert!(Berth::containers(&app).is_empty());

    // Deleting a branch deploys nothing, and says so plainly; the deploy branch too.
    berth.push(source.path(), &app, "main").ok();
    for (refspec, said) in [
        (
            ":refs/heads/feature",
            "Deleted refs/heads/feature ".to_string(),
        ),
        (
            ":refs/heads/main",
            format!("Deleted refs/heads/main; {app} keeps running its current release"),
        ),
    ] {
        let deleted = berth.push_refspec(source.path(), &app, refspec).ok();
        assert!(deleted.stderr.contains(&said), "{deleted:#?}");
    }
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "feature\n");
}

#[test]
fn a_push_to_master_deploys_too() {
    let berth = Berth::start();
    let app = berth.app("master");
    berth
        .push(web_repo("from master").path(), &app, "master")
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from master\n");
}

#[test]
fn the_deploy_branch_and_revision_variable_are_set_per_app_or_globally() {
    let berth = Berth::start();
    let app = berth.app("branchy");
    let host = Berth::host(&app);
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("git:set {app} deploy-branch release/live"))
        .ok();
    let source = web_repo("from live");
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains("deploys pushes to release/live only"),
        "{push:#?}"
    );
    assert!(Berth::containers(&app).is_empty());
    berth.push(source.path(), &app, "release/live").ok();
    assert_eq!(berth.get(&host, "/").body, "from live\n");
    let live = repo::head(source.path());
    let env = berth.get(&host, "/cgi-bin/env").body;
    assert!(env.contains(&format!("GIT_REV={live}")), "{env}");
    let report = |flag: &str| berth.ssh(&format!("git:report {app} {flag}")).ok().stdout;
    assert_eq!(report("--git-sha"), format!("{live}\n"));
    assert_eq!(report("--git-computed-deploy-branch"), "release/live\n");

    // A new commit on main deploys nothing; a rebuild builds the deploy branch.
    repo::commit(source.path(), &[("www/index.html", "from main\n")], "main");
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert_eq!(berth.get(&host, "/").body, "from live\n");
    berth.ssh(&format!("git:set {app} deploy-branch")).ok();
    assert_eq!(report("--git-computed-deploy-branch"), "main or master\n");
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert_eq!(berth.get(&host, "/").body, "from main\n");
    let main = repo::head(source.path());

    // The revision variable: renamed for every app, then turned off for this one.
    berth
        .ssh("git:set --global rev-env-var SOURCE_VERSION")
        .ok();
    berth.ssh(&format!("ps:restart {app}")).ok();
    let env = berth.get(&host, "/cgi-bin/env").body;
    assert!(env.contains(&format!("SOURCE_VERSION={main}")), "{env}");
    assert!(!env.contains("GIT_REV="), "{env}");
    berth.ssh(&format!("git:set {app} rev-env-var ''")).ok();
    assert_eq!(report("--git-computed-rev-env-var"), "(none)\n");
    berth.ssh(&format!("ps:restart {app}")).ok();
    let env = berth.get(&host, "/cgi-bin/env").body;
    assert!(!env.contains(&main), "{env}");
    let bad = berth.ssh(&format!("git:set {app} deploy-branch 'a..b'"));
    assert_eq!(
        (bad.code, bad.stderr.as_str()),
        (
            1,
            " !     Invalid deploy-branch \"a..b\": not a git branch name\n"
        )
    );

    // A global deploy branch applies to apps without their own.
    berth.ssh("git:set --global deploy-branch prod").ok();
    let other = berth.app("branchy-other");
    let push = berth.push(source.path(), &other, "main").ok();
    assert!(
        push.stderr.contains("deploys pushes to prod only"),
        "{push:#?}"
    );
    assert!(Berth::containers(&other).is_empty());
}

#[test]
fn pushes_can_be_kept_from_creating_apps() {
    let berth = Berth::start();
    berth
        .ssh("apps:set --global disable-autocreation true")
        .ok();
    let app = berth.app("nocreate");
    let push = berth.push(web_repo("never").path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr
            .contains(&format!("App {app} does not exist; create it first")),
        "{push:#?}"
    );
    assert!(!berth.ssh("apps:list").ok().stdout.contains(&app));
    berth.ssh(&format!("apps:create {app}")).ok();
    let flag = berth
        .ssh(&format!(
            "apps:report {app} --app-global-disable-autocreation"
        ))
        .ok();
    assert_eq!(flag.stdout, "true\n");
    berth.push(web_repo("created").path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "created\n");
    berth.ssh("apps:set --global disable-autocreation").ok();
    let other = berth.app("nocreate-other");
    berth.push(web_repo("auto").path(), &other, "main").ok();
}

/// The running containers (build steps included) whose command contains `text`.
fn containers_running(text: &str) -> Vec<String> {
    support::docker_lines(&["ps", "--no-trunc", "--format", "{{.Command}}"])
        .into_iter()
        .filter(|l| l.contains(text))
        .collect()
}

#[test]
fn builds_wait_for_a_slot_and_can_be_cancelled() {
    let berth = Berth::start();
    let slow_app = berth.app("slowbuild");
    let queued_app = berth.app("queued");
    let slow = web_repo("serving");
    berth.push(slow.path(), &slow_app, "main").ok();
    repo::commit_slow(slow.path(), "never built", 577);
    let slow_push = berth.push_spawn(slow.path(), &slow_app, "main");
    let running = |app: &str, status: &str| {
        let list = berth.ssh("builds:list").ok().stdout;
        list.lines()
            .any(|l| l.starts_with(&format!("{app} ")) && l.contains(status))
    };
    assert!(
        eventually(Duration::from_secs(60), || running(&slow_app, "running")),
        "{}",
        berth.ssh("builds:list").stdout
    );
    assert!(eventually(Duration::from_secs(60), || !containers_running(
        "sleep 577"
    )
    .is_empty()));

    let queued = web_repo("queued");
    let queued_push = berth.push_spawn(queued.path(), &queued_app, "main");
    assert!(
        eventually(Duration::from_secs(60), || running(&queued_app, "waiting")),
        "{}",
        berth.ssh("builds:list").stdout
    );
    let json = berth.ssh("builds:list --format json").ok().stdout;
    assert!(
        json.contains(&format!(r#""app":"{queued_app}""#))
            && json.contains(r#""status":"waiting""#),
        "{json}"
    );
    let own = berth.ssh(&format!("builds:list {queued_app}")).ok().stdout;
    assert!(!own.contains(&slow_app), "{own}");

    berth.ssh(&format!("builds:cancel {slow_app}")).ok();
    let slow_done = slow_push.wait_with_output().expect("slow push");
    let slow_err = String::from_utf8_lossy(&slow_done.stderr);
    assert!(!slow_done.status.success(), "{slow_err}");
    assert!(
        slow_err.contains("The build was cancelled (builds:cancel)"),
        "{slow_err}"
    );
    let queued_done = queued_push.wait_with_output().expect("queued push");
    let queued_err = String::from_utf8_lossy(&queued_done.stderr);
    assert!(queued_done.status.success(), "{queued_err}");
    assert!(
        queued_err.contains("-----> Waiting for a build slot: 1 build ahead"),
        "{queued_err}"
    );

    assert_eq!(berth.get(&Berth::host(&queued_app), "/").body, "queued\n");
    assert_eq!(berth.get(&Berth::host(&slow_app), "/").body, "serving\n");
    assert!(
        eventually(Duration::from_secs(30), || containers_running("sleep 577")
            .is_empty()),
        "the cancelled build's step is stopped: {:?}",
        containers_running("sleep 577")
    );
    let again = berth.ssh(&format!("builds:cancel {slow_app}"));
    assert_ne!(again.code, 0);
    assert!(
        again
            .stderr
            .contains(&format!("{slow_app} has no build running or waiting")),
        "{again:#?}"
    );
    assert!(berth
        .ssh("builds:list")
        .ok()
        .stdout
        .contains("No builds are running or waiting"));
}

/// The `web_app` files serving `marker` (with `extra` appended to its Dockerfile) as an archive
/// made by the real `tar` (`tar.gz`) or `zip` (`zip`), under one top-level directory as GitHub's
/// archives are.
fn web_archive(marker: &str, extra: &str, kind: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in repo::web_app(marker) {
        let full = dir.path().join("shop-main").join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        let content = match path {
            "Dockerfile" => format!("{content}{extra}"),
            _ => content,
        };
        std::fs::write(&full, content).expect("write");
    }
    let (program, args) = match kind {
        "zip" => ("zip", ["-qr", "-", "shop-main"]),
        _ => ("tar", ["-czf", "-", "shop-main"]),
    };
    let output = std::process::Command::new(program)
        .current_dir(dir.path())
        .args(args)
        .output()
        .expect("run the archiver");
    assert!(output.status.success(), "{output:?}");
    output.stdout
}

#[test]
fn an_archive_on_stdin_deploys_like_a_push() {
    let berth = Berth::start();
    let app = berth.app("archive");
    berth.ssh(&format!("apps:create {app}")).ok();
    let deployed = berth
        .ssh_input(
            &format!("git:from-archive {app} -- 'CI Bot' ci@example.com"),
            &web_archive("from an archive", "", "tar.gz"),
        )
        .ok();
    assert!(
        deployed.stdout.contains("Committed as ")
            && deployed
                .stdout
                .contains(&format!("-----> Building {app} from Dockerfile")),
        "{deployed:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from an archive\n");

    // A failed build leaves the deploy branch where it was: a rebuild builds the first archive.
    let failed = berth.ssh_input(
        &format!("git:from-archive --archive-type tar.gz {app} --"),
        &web_archive("never served", "RUN false\n", "tar.gz"),
    );
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert!(failed.stderr.contains("App build failed"), "{failed:#?}");
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from an archive\n");

    // The code is in the app's repository on the deploy branch, committed by the named author.
    let repo = berth.data_dir().join(format!("repos/{app}.git"));
    let log = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(&repo)
        .args(["log", "-1", "--format=%an <%ae>", "main"])
        .output()
        .expect("git log");
    assert_eq!(
        String::from_utf8_lossy(&log.stdout),
        "CI Bot <ci@example.com>\n",
        "{log:?}"
    );

    // A zip archive (detected by its bytes) deploys the same way.
    berth
        .ssh_input(
            &format!("git:from-archive {app} --"),
            &web_archive("from a zip", "", "zip"),
        )
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from a zip\n");

    for (input, message) in [
        (&b""[..], "No archive on stdin"),
        (
            &b"not an archive"[..],
            "Cannot deploy the archive: cannot read it as a tar",
        ),
    ] {
        let refused = berth.ssh_input(&format!("git:from-archive {app} --"), input);
        assert_eq!(refused.code, 1, "{refused:#?}");
        assert!(refused.stderr.contains(message), "{refused:#?}");
    }
}
