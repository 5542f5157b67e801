//! Registries: `registry:login` (the password on stdin only, kept 0600, never shown),
//! `registry:set … push-on-release` pushing each release, a failed push leaving the running
//! release serving, and `git:from-image` pulling a private image with the stored login, all
//! against a real registry on loopback.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::registry::Registry;
use support::{repo, Berth};

#[test]
fn releases_are_pushed_with_the_hosts_login_and_a_failed_push_keeps_the_old_release() {
    let registry = Registry::start("ci");
    let berth = Berth::start();
    let app = berth.deployed("pushed", "v1");
    let server = &registry.server;
    berth
        .ssh(&format!("registry:set --global server {server}"))
        .ok();
    berth
        .ssh(&format!("registry:set {app} push-on-release true"))
        .ok();

    // A wrong password is stored (it is tried at the push), and the push fails before the
    // new release starts.
    berth
        .ssh_input(&format!("registry:login {server} ci"), b"wrong\n")
        .ok();
    let source = repo::create(&repo::as_refs(&repo::web_app("v2")));
    let failed = berth.push(source.path(), &app, "main");
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert!(
        failed.stderr.contains("Could not push the image"),
        "{failed:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");

    let password = format!("{}\n", registry.password);
    berth
        .ssh_input(&format!("registry:login {server} ci"), password.as_bytes())
        .ok();
    let pushed = berth.push(source.path(), &app, "main").ok();
    assert!(
        pushed
            .stderr
            .contains(&format!("Pushing {app} (v2) to {server}/{app}:2")),
        "{pushed:#?}"
    );
    assert_eq!(registry.tags(&app), ["2"]);
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v2\n");

    // A restart pushes nothing again: the release is there already.
    let restarted = berth.ssh(&format!("ps:restart {app}")).ok();
    assert!(!restarted.stderr.contains("Pushing"), "{restarted:#?}");

    let report = berth.ssh(&format!("registry:report {app}")).ok();
    let row = |name: &str| {
        report
            .stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| value.trim().to_string())
    };
    assert_eq!(row("Registry login user:").as_deref(), Some("ci"));
    assert_eq!(
        row("Registry computed server:").as_deref(),
        Some(&server[..])
    );
    assert!(!report.stdout.contains(&registry.password));
    let logins = berth.data_dir().join("registry-auth.toml");
    let mode = std::fs::metadata(&logins).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_registry_password_on_the_command_line_is_refused_and_never_echoed() {
    let registry = Registry::start("ci");
    let berth = Berth::start();
    let line = format!(
        "registry:login {} ci {}",
        registry.server, registry.password
    );
    let refused = berth.ssh(&line);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("on stdin"), "{refused:#?}");
    assert!(!refused.stderr.contains(&registry.password), "{refused:#?}");
    assert!(!berth.data_dir().join("registry-auth.toml").exists());
}

#[test]
fn git_from_image_pulls_a_private_image_with_the_stored_login() {
    let registry = Registry::start("ci");
    let berth = Berth::start();
    let server = &registry.server;
    let first = berth.deployed("source", "private");
    berth
        .ssh(&format!("registry:set --global server {server}"))
        .ok();
    berth
        .ssh(&format!("registry:set {first} push-on-release true"))
        .ok();
    let password = format!("{}\n", registry.password);
    berth
        .ssh_input(&format!("registry:login {server} ci"), password.as_bytes())
        .ok();
    berth.ssh(&format!("ps:rebuild {first}")).ok();
    let image = format!("{server}/{first}:2");
    assert_eq!(registry.tags(&first), ["2"]);
    // Only in the registry under that name, as an image built elsewhere would be: the push
    // leaves no second name on this host's copy.
    let local = Command::new("docker")
        .args(["image", "inspect", &image])
        .output()
        .unwrap();
    assert!(!local.status.success(), "{local:?}");

    let app = berth.app("pulled");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth.ssh(&format!("registry:logout {server}")).ok();
    let refused = berth.ssh(&format!("git:from-image {app} {image}"));
    assert_ne!(refused.code, 0, "{refused:#?}");
    assert!(refused.stderr.contains("cannot pull"), "{refused:#?}");

    berth
        .ssh_input(&format!("registry:login {server} ci"), password.as_bytes())
        .ok();
    berth.ssh(&format!("git:from-image {app} {image}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "private\n");
    // The release records what ran, whatever the tag names later.
    let info = berth.ssh(&format!("releases:info {app} v1")).ok();
    let digest = format!("{server}/{first}@sha256:");
    assert!(info.stdout.contains(&digest), "{info:#?}");
}
