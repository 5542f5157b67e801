//! End to end: releases, rollback, image deploys, rebuilds, deploy locks, image retention.

mod support;

use std::process::Command;

use support::{repo, Berth};

fn web_repo(marker: &str) -> tempfile::TempDir {
    repo::create(&repo::as_refs(&repo::web_app(marker)))
}

#[test]
fn a_rollback_says_what_it_changes_and_a_later_rebuild_what_it_brings() {
    let berth = Berth::start();
    let app = berth.app("changes");
    let source = web_repo("one");
    berth.push(source.path(), &app, "main").ok();
    let first = repo::head(source.path());
    repo::commit(source.path(), &[("www/index.html", "two\n")], "two");
    berth.push(source.path(), &app, "main").ok();
    let second = repo::head(source.path());
    berth.ssh(&format!("config:set {app} ADDED=1")).ok();

    let rollback = berth
        .ssh(&format!("releases:rollback {app} v1"))
        .ok()
        .stdout;
    assert!(
        rollback.contains(&format!(
            "Code: commit {} (v3) → commit {} (v1)",
            &second[..7],
            &first[..7]
        )) && rollback.contains("Config: removed ADDED"),
        "{rollback}"
    );
    assert!(
        !rollback.contains("ADDED=1"),
        "values are never shown: {rollback}"
    );

    let rebuild = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(
        rebuild.stderr.contains(&format!(
            "{app} runs commit {} (v4: Rollback to v1); this rebuild deploys the deploy branch's commit {} instead",
            &first[..7],
            &second[..7]
        )),
        "{rebuild:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "two\n");
    // Rebuilding what runs says nothing.
    let again = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(!again.stderr.contains("this rebuild deploys"), "{again:#?}");
}

#[test]
fn releases_list_and_rollback() {
    let berth = Berth::start();
    let app = berth.app("rollback");
    let source = web_repo("one");
    berth.push(source.path(), &app, "main").ok();
    repo::commit(source.path(), &[("www/index.html", "two\n")], "two");
    berth.push(source.path(), &app, "main").ok();

    let list = berth.ssh(&format!("releases {app}")).ok().stdout;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], format!("=====> {app} releases (current: v2)"));
    assert!(
        lines[1].starts_with("v2*") && lines[1].contains("Deploy ") && lines[1].contains("alice"),
        "{list}"
    );
    assert!(
        lines[2].starts_with("v1 ") && lines[2].contains(" UTC"),
        "{list}"
    );

    let rollback = berth.ssh(&format!("releases:rollback {app}")).ok();
    assert!(rollback.stdout.contains("Rolling back"), "{rollback:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one\n");
    let info = berth.ssh(&format!("releases:info {app} v3")).ok().stdout;
    assert!(info.contains("Rollback to v1"), "{info}");
    assert!(info.contains("current"), "{info}");
    assert!(info.contains(&format!("berth/{app}:1")), "{info}");

    berth.cli(&["releases:rollback", &app, "v2"], b"").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "two\n");
    let missing = berth.ssh(&format!("releases:rollback {app} v9"));
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr, format!(" !     {app} has no release v9\n"));
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "two\n");
}

#[test]
fn only_the_newest_releases_keep_their_images() {
    let berth = Berth::start_with("keep_releases = 2");
    let app = berth.app("prune");
    let source = web_repo("r1");
    berth.push(source.path(), &app, "main").ok();
    for n in 2..=3 {
        repo::commit(
            source.path(),
            &[("www/index.html", &format!("r{n}\n"))],
            "next",
        );
        berth.push(source.path(), &app, "main").ok();
    }
    let mut images = Berth::images(&app);
    images.sort();
    assert_eq!(
        images,
        vec![format!("berth/{app}:2"), format!("berth/{app}:3")]
    );
    let gone = berth.ssh(&format!("releases:rollback {app} v1"));
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("is gone"), "{gone:#?}");
    berth.ssh(&format!("releases:rollback {app} v2")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "r2\n");
}

#[test]
fn git_from_image_deploys_a_prebuilt_image() {
    let berth = Berth::start();
    let app = berth.app("image");
    let image = format!("berth-test/{app}:1");
    docker_build(&image, &repo::web_app("prebuilt"));
    let broken = format!("berth-test/{app}:broken");
    docker_build(
        &broken,
        &[(
            "Dockerfile",
            "FROM berth-base/busybox:latest\nCMD [\"false\"]\n".to_string(),
        )],
    );

    berth.ssh(&format!("apps:create {app}")).ok();
    let failed = berth.ssh(&format!("git:from-image {app} {broken}"));
    assert_ne!(failed.code, 0, "{failed:#?}");
    let run = berth.ssh(&format!("git:from-image {app} {image}")).ok();
    assert!(
        run.stdout.contains(&format!("Deploying image {image}")),
        "{run:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "prebuilt\n");
    let list = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(list.contains(&format!("Deploy image {image}")), "{list}");

    let bad = berth.ssh(&format!("git:from-image {app} 'x;reboot'"));
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("Invalid image reference"), "{bad:#?}");
    let kept = Command::new("docker")
        .args(["image", "inspect", &broken])
        .output()
        .expect("docker image inspect");
    let _ = Command::new("docker")
        .args(["rmi", &image, &broken])
        .output();
    assert!(
        kept.status.success(),
        "the user's image outlives the failed release that used it"
    );
}

#[test]
fn git_load_image_deploys_an_image_sent_over_ssh() {
    let berth = Berth::start();
    let app = berth.app("loaded");
    let image = format!("berth-test/{app}:1");
    docker_build(&image, &repo::web_app("from a tar"));
    let saved = Command::new("docker")
        .args(["save", &image])
        .output()
        .expect("docker save");
    assert!(saved.status.success(), "{saved:?}");
    let removed = Command::new("docker")
        .args(["rmi", &image])
        .output()
        .expect("docker rmi");
    assert!(removed.status.success(), "{removed:?}");

    berth.ssh(&format!("apps:create {app}")).ok();
    let wrong = berth.ssh_input(
        &format!("git:load-image {app} berth-test/{app}:2"),
        &saved.stdout,
    );
    assert_eq!(wrong.code, 1, "{wrong:#?}");
    assert!(
        wrong.stderr.contains(&format!(
            "holds no image berth-test/{app}:2 (it holds: {image})"
        )),
        "{wrong:#?}"
    );
    let garbage = berth.ssh_input(&format!("git:load-image {app} {image}"), b"not a tar");
    assert_eq!(garbage.code, 1, "{garbage:#?}");
    assert!(
        garbage.stderr.contains("Cannot load the image from stdin"),
        "{garbage:#?}"
    );
    let run = berth
        .ssh_input(&format!("git:load-image {app} {image}"), &saved.stdout)
        .ok();
    assert!(
        run.stdout.contains(&format!("Loaded image: {image}")),
        "{run:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from a tar\n");
    let _ = Command::new("docker").args(["rmi", &image]).output();
}

fn docker_build(tag: &str, files: &[(&'static str, String)]) {
    let context = repo::create(&repo::as_refs(files));
    let built = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(context.path())
        .output()
        .expect("docker build");
    assert!(built.status.success(), "{built:?}");
}

#[test]
fn ps_rebuild_builds_the_deploy_branch_again() {
    let berth = Berth::start();
    let app = berth.app("rebuild");
    let never = berth.app("never");
    berth.ssh(&format!("apps:create {never}")).ok();
    let nothing = berth.ssh(&format!("ps:rebuild {never}"));
    assert_eq!(nothing.code, 1);
    assert!(
        nothing.stderr.contains(&format!(
            "{never} has no main or master branch to rebuild from (push one)"
        )),
        "{nothing:#?}"
    );

    berth.push(web_repo("same").path(), &app, "main").ok();
    let run = berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert!(run.stdout.contains("Building"), "{run:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "same\n");
    let list = berth.ssh(&format!("releases {app}")).ok().stdout;
    assert!(list.contains("v2*") && list.contains("Rebuild "), "{list}");
}

#[test]
fn every_deployed_app_is_restarted_stopped_started_and_rebuilt_with_all() {
    let berth = Berth::start();
    let pushed = berth.app("all-pushed");
    let imaged = berth.app("all-image");
    let idle = berth.app("all-idle");
    berth.push(web_repo("pushed").path(), &pushed, "main").ok();
    let image = format!("berth-test/{imaged}:1");
    docker_build(&image, &repo::web_app("imaged"));
    berth.ssh(&format!("apps:create {imaged}")).ok();
    berth.ssh(&format!("git:from-image {imaged} {image}")).ok();
    berth.ssh(&format!("apps:create {idle}")).ok();
    let serves = |app: &str, body: &str| berth.get(&Berth::host(app), "/").body == body;

    let restarted = berth.ssh("ps:restart --all --parallel 2").ok();
    for app in [&pushed, &imaged] {
        assert!(
            restarted.stdout.contains(&format!("Deploying {app}")),
            "{restarted:#?}"
        );
    }
    assert!(
        !restarted.stdout.contains(&idle),
        "an app never deployed is left out"
    );
    berth.ssh("ps:stop --all").ok();
    assert_eq!(berth.get(&Berth::host(&pushed), "/").status, 502);
    assert_eq!(berth.get(&Berth::host(&imaged), "/").status, 502);
    berth.ssh("ps:start --all").ok();
    assert!(serves(&pushed, "pushed\n") && serves(&imaged, "imaged\n"));

    // An app deployed from an image has the image pulled again (this host reaches no
    // registry, so it falls back to its own copy).
    let rebuilt = berth.ssh("ps:rebuild --all").ok();
    assert!(rebuilt.stdout.contains("Building"), "{rebuilt:#?}");
    assert!(
        rebuilt.stdout.contains(&format!("Pulling {image}"))
            && rebuilt.stdout.contains("deploying the copy on this server"),
        "{rebuilt:#?}"
    );
    assert!(serves(&pushed, "pushed\n") && serves(&imaged, "imaged\n"));
    let list = berth.ssh(&format!("releases {pushed}")).ok().stdout;
    assert!(list.contains("Rebuild "), "{list}");
    let list = berth.ssh(&format!("releases {imaged}")).ok().stdout;
    assert!(list.contains(&format!("Rebuild image {image}")), "{list}");
    let source = berth
        .ssh(&format!("apps:report {imaged} --app-deploy-source"))
        .ok()
        .stdout;
    assert_eq!(source, format!("image {image}\n"));

    // One app that cannot be rebuilt (its image is gone) does not keep the others from it; the
    // command fails, and the app keeps serving.
    let _ = Command::new("docker").args(["rmi", &image]).output();
    let rebuilt = berth.ssh("ps:rebuild --all");
    assert_eq!(rebuilt.code, 1, "{rebuilt:#?}");
    assert!(
        rebuilt
            .stderr
            .contains(&format!("App build failed: cannot pull {image}"))
            && rebuilt
                .stderr
                .ends_with(&format!(" !     1 app(s) failed: {imaged}\n")),
        "{rebuilt:#?}"
    );
    assert!(serves(&pushed, "pushed\n") && serves(&imaged, "imaged\n"));
    let _ = Command::new("docker").args(["rmi", &image]).output();
}

#[test]
fn a_second_deploy_waits_or_is_refused_with_no_wait() {
    let berth = Berth::start();
    let app = berth.app("locked");
    let source = web_repo("first");
    berth.push(source.path(), &app, "main").ok();
    repo::commit_slow(source.path(), "slow", 4);
    let mut pushing = berth.push_spawn(source.path(), &app, "main");
    let lines = support::wait_for_line(&mut pushing, "Building");
    let refused = berth.ssh(&format!("ps:rebuild {app} --no-wait"));
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains("is being deployed right now"),
        "{refused:#?}"
    );
    let waited = berth.ssh(&format!("releases:rollback {app} v1"));
    assert_eq!(waited.code, 0, "{waited:#?}");
    assert!(
        waited.stdout.contains("Waiting for the deploy"),
        "{waited:#?}"
    );
    lines.for_each(drop);
    assert!(pushing.wait().expect("push").success());
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "first\n");
}

#[test]
fn a_tag_keeps_a_release_image_to_deploy_again_after_pruning() {
    let berth = Berth::start_with("keep_releases = 2");
    let app = berth.app("tagged");
    let source = repo::create(&repo::as_refs(&repo::web_app("r1")));
    berth.push(source.path(), &app, "main").ok();
    berth.ssh(&format!("tags:create {app} v0.9.0")).ok();
    for n in 2..=4 {
        repo::commit(
            source.path(),
            &[("www/index.html", &format!("r{n}\n"))],
            "next",
        );
        berth.push(source.path(), &app, "main").ok();
    }
    let listed = berth.ssh(&format!("tags {app}")).ok();
    assert!(
        listed.stdout.lines().any(|l| l.trim() == "v0.9.0"),
        "{listed:#?}"
    );
    berth.ssh(&format!("tags:deploy {app} v0.9.0")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "r1\n");
    berth.ssh(&format!("tags:destroy {app} v0.9.0")).ok();
    let gone = berth.ssh(&format!("tags:deploy {app} v0.9.0"));
    assert_ne!(gone.code, 0);
    assert!(gone.stderr.contains("has no tag v0.9.0"), "{gone:#?}");
}
