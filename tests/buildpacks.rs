//! End to end: pushes without a Dockerfile build with buildpacks inside a container of the
//! local stack image (`scripts/stack-image.sh`), and the result answers through the proxy.

mod support;

use std::path::{Path, PathBuf};

use support::{repo, Berth};

fn fixture(buildpack: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("buildpacks")
        .join(buildpack)
        .join("test/app")
}

/// Pushes the bundled buildpack's own fixture and returns the push and the app's answer.
fn deploy_fixture(buildpack: &str, detected: &str) -> (String, String) {
    let berth = Berth::start();
    let app = berth.app(buildpack);
    let source = repo::from_dir(&fixture(buildpack));
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains(&format!(
            "-----> Building {app} with buildpacks (no Dockerfile)"
        )),
        "{push:#?}"
    );
    assert!(
        push.stderr
            .contains(&format!("remote: -----> {detected} app detected")),
        "{push:#?}"
    );
    let response = berth.get(&Berth::host(&app), "/");
    assert_eq!(response.status, 200, "{push:#?}");
    // The build's files in and out were on disk, not in memory, and went with the build.
    let builds = berth.data_dir().join("tmp").join("builds");
    let left = std::fs::read_dir(&builds).map_or(0, |dir| dir.count());
    assert_eq!(left, 0, "build files left in {}", builds.display());
    (push.stderr, response.body)
}

#[test]
fn the_static_buildpack_serves_the_public_directory() {
    let (_, body) = deploy_fixture("static", "Static");
    assert_eq!(body, "<h1>static fixture</h1>\n");
}

#[test]
fn the_python_buildpack_installs_from_the_vendored_wheelhouse() {
    let (push, body) = deploy_fixture("python", "Python");
    assert!(
        push.contains("Installing from the vendor/ wheelhouse"),
        "{push}"
    );
    assert_eq!(body, "hello python from a vendored wheel\n");
}

#[test]
fn the_python_buildpack_honours_runtime_txt_and_gives_pip_the_app_config() {
    let berth = Berth::start();
    let app = berth.app("pyconf");
    let source = repo::from_dir(&fixture("python"));
    // No vendor/: only config vars given to pip through ENV_DIR find the wheel offline.
    std::fs::rename(source.path().join("vendor"), source.path().join("wheels")).expect("rename");
    repo::commit(
        source.path(),
        &[("runtime.txt", "python-3.11.2\n")],
        "wheels",
    );
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!(
            "config:set --no-restart {app} PIP_NO_INDEX=1 PIP_FIND_LINKS=/app/wheels"
        ))
        .ok();
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains("Using Python 3.11.2 (runtime.txt)"),
        "{push:#?}"
    );
    assert_eq!(
        berth.get(&Berth::host(&app), "/").body,
        "hello python from a vendored wheel\n"
    );

    std::fs::remove_file(source.path().join("runtime.txt")).expect("remove runtime.txt");
    repo::commit(source.path(), &[(".python-version", "3.99\n")], "3.99");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr.contains(
            ".python-version asks for Python 3.99, which this stack does not have (it has Python 3.11"
        ),
        "{push:#?}"
    );
    assert_eq!(
        berth.get(&Berth::host(&app), "/").body,
        "hello python from a vendored wheel\n"
    );
}

#[test]
fn the_nodejs_buildpack_installs_from_the_offline_cache() {
    let (push, body) = deploy_fixture("nodejs", "Node.js");
    assert!(push.contains("remote: -----> npm ci"), "{push}");
    assert_eq!(body, "node says 42 is a number: true\n");
}

#[test]
fn the_procfile_buildpack_runs_the_procfile_as_it_is() {
    let (_, body) = deploy_fixture("procfile", "Procfile");
    assert!(body.contains("procfile fixture"), "{body}");
}

#[test]
fn nothing_detected_names_every_buildpack_tried() {
    let berth = Berth::start();
    let app = berth.app("undetected");
    let source = repo::create(&[("README.txt", "nothing to run\n")]);
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0);
    assert!(
        push.stderr
            .contains("No buildpack detected this app (tried: python, nodejs, static, procfile)"),
        "{push:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").status, 502);

    berth
        .ssh(&format!(
            "config:set --no-restart {app} BUILDPACK_URL=static"
        ))
        .ok();
    let chosen = berth.push(source.path(), &app, "main");
    assert!(
        chosen.stderr.contains("buildpacks set by BUILDPACK_URL"),
        "{chosen:#?}"
    );
    assert!(
        chosen
            .stderr
            .contains("App not compatible with buildpack: static"),
        "{chosen:#?}"
    );

    berth
        .ssh(&format!(
            "buildpacks:set-property {app} stack berth/stack:missing"
        ))
        .ok();
    let report = berth.ssh(&format!("buildpacks:report {app}")).ok();
    assert!(
        report
            .stdout
            .contains("Buildpacks computed stack:     berth/stack:missing"),
        "{report:#?}"
    );
    let missing = berth.push(source.path(), &app, "main");
    assert!(
        missing.stderr.contains("cannot pull berth/stack:missing"),
        "{missing:#?}"
    );
}

/// A buildpack that reports whether its cache marker survived from an earlier build.
fn cache_buildpack(dir: &Path) {
    repo::script(&dir.join("bin/detect"), "#!/bin/sh\necho Cached\n");
    repo::script(
        &dir.join("bin/compile"),
        "#!/bin/sh\nset -eu\n\
         if [ -f \"$2/marker\" ]; then echo \"       cache: warm\"; else echo \"       cache: cold\"; fi\n\
         touch \"$2/marker\"\n\
         echo \"       build memory: $(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)\"\n\
         echo \"       build sees GREETING=$(cat \"$3/GREETING\")\"\n",
    );
    repo::script(
        &dir.join("bin/release"),
        "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: exec python3 -m http.server \"$PORT\" --directory site\\n'\n",
    );
}

#[test]
fn the_build_cache_is_kept_between_builds_until_purged() {
    let berth = Berth::start();
    let app = berth.app("cache");
    let buildpack = tempfile::tempdir().unwrap();
    cache_buildpack(buildpack.path());
    let buildpack_dir = buildpack.path().to_str().unwrap();
    berth.ssh(&format!("apps:create {app}")).ok();
    let remote = berth.ssh(&format!("buildpacks:add {app} {buildpack_dir}"));
    assert_ne!(remote.code, 0, "a directory on the server is local-only");
    assert!(
        remote
            .stderr
            .contains("can only be run on the server itself"),
        "{remote:#?}"
    );
    berth
        .cli(&["buildpacks:add", &app, buildpack_dir], b"")
        .ok();
    berth
        .ssh(&format!("config:set --no-restart {app} GREETING=hi"))
        .ok();
    berth
        .ssh(&format!("docker-options:add {app} build --memory 300m"))
        .ok();
    let listed = berth.ssh(&format!("buildpacks:list {app}")).ok();
    assert!(listed.stdout.contains(buildpack_dir), "{listed:#?}");

    let source = repo::create(&[("site/index.html", "cached site\n")]);
    let first = berth.push(source.path(), &app, "main").ok();
    assert!(
        first.stderr.contains("buildpacks set by buildpacks:add"),
        "{first:#?}"
    );
    assert!(
        first.stderr.contains("remote:        cache: cold"),
        "{first:#?}"
    );
    assert!(
        first.stderr.contains("build sees GREETING=hi"),
        "{first:#?}"
    );
    assert!(
        first.stderr.contains("build memory: 314572800"),
        "the build container gets the build phase's limit: {first:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "cached site\n");

    let second = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(second.stdout.contains("cache: warm"), "{second:#?}");

    let purged = berth.ssh(&format!("repo:purge-cache {app}")).ok();
    assert!(
        purged.stdout.contains("Purged the build cache"),
        "{purged:#?}"
    );
    let third = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(third.stdout.contains("cache: cold"), "{third:#?}");
}

/// A bare repository holding a buildpack whose compile fails, tagged `v1`.
fn failing_buildpack_repo(dir: &Path) -> String {
    let work = dir.join("work");
    repo::script(&work.join("bin/detect"), "#!/bin/sh\nexit 0\n");
    repo::script(
        &work.join("bin/compile"),
        "#!/bin/sh\necho \"       compile is failing on purpose\"\nexit 3\n",
    );
    let git = |args: &[&str], cwd: &Path| {
        let status = std::process::Command::new("git")
            .current_dir(cwd)
            .args(["-c", "user.name=t", "-c", "user.email=t@berth.invalid"])
            .args(args)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
    };
    git(&["init", "-q", "-b", "main"], &work);
    git(&["add", "-A"], &work);
    git(&["commit", "-q", "-m", "bp"], &work);
    git(&["tag", "v1"], &work);
    let bare = dir.join("bp.git");
    git(
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
        dir,
    );
    format!("file://{}#v1", bare.display())
}

#[test]
fn a_failing_compile_fails_the_push_and_keeps_the_old_release() {
    let berth = Berth::start();
    let app = berth.app("failing");
    let first = repo::from_dir(&fixture("static"));
    berth.push(first.path(), &app, "main").ok();

    let scratch = tempfile::tempdir().unwrap();
    let url = failing_buildpack_repo(scratch.path());
    berth.cli(&["buildpacks:add", &app, &url], b"").ok();
    repo::commit(first.path(), &[("public/index.html", "new\n")], "change");
    let push = berth.push(first.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(
        push.stderr.contains(&format!("Fetching buildpack {url}")),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("compile is failing on purpose"),
        "{push:#?}"
    );
    assert!(
        push.stderr
            .contains(&format!("Buildpack {url} failed to compile this app")),
        "{push:#?}"
    );
    let body = berth.get(&Berth::host(&app), "/").body;
    assert_eq!(
        body, "<h1>static fixture</h1>\n",
        "the old release still serves"
    );
}

#[test]
fn builder_settings_pick_the_builder_and_the_directory() {
    let berth = Berth::start();
    let app = berth.app("monorepo");
    let mut files = repo::web_app("from the dockerfile");
    files.push(("web/public/index.html", "from the web dir\n".to_string()));
    files.push((".buildpacks", "static\n".to_string()));
    files.push(("index.html", "from the top\n".to_string()));
    let prod = format!(
        "{}RUN echo 'from Dockerfile.prod' >/www/index.html\n",
        files[0].1
    );
    files.push(("deploy/Dockerfile.prod", prod));
    let source = repo::create(&repo::as_refs(&files));
    berth.ssh(&format!("apps:create {app}")).ok();

    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr
            .contains("with buildpacks (buildpacks set by the .buildpacks file)"),
        "{push:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from the top\n");

    berth
        .ssh(&format!("builder:set {app} selected dockerfile"))
        .ok();
    let rebuilt = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(
        rebuilt.stdout.contains(&format!(
            "Building {app} from Dockerfile (selected with builder:set)"
        )),
        "{rebuilt:#?}"
    );
    assert_eq!(
        berth.get(&Berth::host(&app), "/").body,
        "from the dockerfile\n"
    );

    // Another Dockerfile: the app's own path, else the global one, else `Dockerfile`.
    berth
        .ssh("builder-dockerfile:set --global dockerfile-path deploy/Dockerfile.prod")
        .ok();
    let rebuilt = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(
        rebuilt.stdout.contains(&format!(
            "Building {app} from deploy/Dockerfile.prod (selected with builder:set)"
        )),
        "{rebuilt:#?}"
    );
    assert_eq!(
        berth.get(&Berth::host(&app), "/").body,
        "from Dockerfile.prod\n"
    );
    berth
        .ssh(&format!(
            "builder-dockerfile:set {app} dockerfile-path deploy/Dockerfile.dev"
        ))
        .ok();
    let computed = berth
        .ssh(&format!(
            "builder-dockerfile:report {app} --builder-dockerfile-computed-dockerfile-path"
        ))
        .ok();
    assert_eq!(computed.stdout, "deploy/Dockerfile.dev\n");
    let refused = berth.ssh(&format!("ps:rebuild {app}"));
    assert!(refused.stderr.contains("has no Dockerfile"), "{refused:#?}");
    berth
        .ssh(&format!("builder-dockerfile:set {app} dockerfile-path"))
        .ok();
    berth
        .ssh("builder-dockerfile:set --global dockerfile-path")
        .ok();

    berth.ssh(&format!("builder:set {app} build-dir web")).ok();
    let refused = berth.ssh(&format!("ps:rebuild {app}"));
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("has no Dockerfile"), "{refused:#?}");
    berth.ssh(&format!("builder:set {app} selected")).ok();
    let report = berth.ssh(&format!("builder:report {app}")).ok();
    assert!(report.stdout.contains("Builder build dir:"), "{report:#?}");
    assert!(report.stdout.contains("web"), "{report:#?}");
    let rebuilt = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(
        rebuilt.stdout.contains("with buildpacks (no Dockerfile)"),
        "{rebuilt:#?}"
    );
    assert_eq!(
        berth.get(&Berth::host(&app), "/").body,
        "from the web dir\n"
    );
}

/// A buildpack that appends its name to `/app/site/order.txt` and declares a web process.
fn ordered_buildpack(dir: &Path, name: &str) {
    repo::script(
        &dir.join("bin/detect"),
        &format!("#!/bin/sh\necho {name}\n"),
    );
    repo::script(
        &dir.join("bin/compile"),
        &format!(
            "#!/bin/sh\nset -eu\nmkdir -p \"$1/site\"\n\
             echo \"{name} saw ${{FROM_EARLIER:-nothing}}\" >>\"$1/site/order.txt\"\n\
             echo 'export FROM_EARLIER={name}' >\"$(dirname \"$0\")/../export\"\n"
        ),
    );
    repo::script(
        &dir.join("bin/release"),
        &format!(
            "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: exec python3 -m http.server \"$PORT\" --directory site # {name}\\n'\n"
        ),
    );
}

#[test]
fn several_buildpacks_run_in_order_and_the_last_release_wins() {
    let berth = Berth::start();
    let app = berth.app("multi");
    let packs = tempfile::tempdir().unwrap();
    let (first, second) = (packs.path().join("first"), packs.path().join("second"));
    ordered_buildpack(&first, "first");
    ordered_buildpack(&second, "second");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .cli(&["buildpacks:add", &app, second.to_str().unwrap()], b"")
        .ok();
    berth
        .cli(
            &[
                "buildpacks:add",
                "--index",
                "1",
                &app,
                first.to_str().unwrap(),
            ],
            b"",
        )
        .ok();

    let source = repo::create(&[("README.txt", "no code\n")]);
    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr.contains("remote: -----> first app detected"),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("remote: -----> second app detected"),
        "{push:#?}"
    );
    let order = berth.get(&Berth::host(&app), "/order.txt").body;
    assert_eq!(order, "first saw nothing\nsecond saw first\n");
    let info = berth.ssh(&format!("releases:info {app} v1")).ok();
    assert!(info.stdout.contains("# second"), "{info:#?}");
}

#[test]
fn a_large_buildpack_build_is_not_held_in_memory() {
    let berth = Berth::start();
    let app = berth.app("large");
    let source = repo::from_dir(&fixture("procfile"));
    let big = 150usize << 20;
    std::fs::write(source.path().join("zeros.bin"), vec![0u8; big]).expect("write zeros");
    repo::commit(source.path(), &[], "zeros");
    let before = berth.peak_rss_kib();
    berth.push(source.path(), &app, "main").ok();
    assert!(berth
        .get(&Berth::host(&app), "/")
        .body
        .contains("procfile fixture"));
    let grew = berth.peak_rss_kib() - before;
    assert!(
        grew < (big as u64 >> 10) / 3,
        "the daemon's peak memory grew by {grew} KiB for a {big}-byte file"
    );
}
