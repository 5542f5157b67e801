//! `git:sync` against local repositories: file URLs and `git daemon` on loopback. A tag and a
//! commit deploy with `--build`; `--build-if-changes` builds only when the branch moved; a
//! developer key may not sync the server's own files, and git's command transport is refused.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{eventually, make_key, repo, Berth};

/// `git daemon` exporting every repository under `base` on a loopback port; killed when dropped.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("git")
            .arg("daemon")
            .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = GitDaemon { child, port };
        let up = eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "git daemon did not listen");
        daemon
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn git_sync_deploys_a_tag_a_commit_and_a_branch_that_changed() {
    let berth = Berth::start();
    let app = berth.app("synced");
    berth.ssh(&format!("apps:create {app}")).ok();
    let source = repo::create(&repo::as_refs(&repo::web_app("one")));
    repo::git(source.path(), &["tag", "v1"]);
    repo::commit(source.path(), &[("www/index.html", "two\n")], "two");
    let two = repo::head(source.path());
    repo::commit(source.path(), &[("www/index.html", "three\n")], "three");
    let url = format!("file://{}", source.path().display());

    let synced = berth.ssh(&format!("git:sync --build {app} {url} v1")).ok();
    assert!(synced.stdout.contains("Syncing"), "{synced:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one\n");
    berth
        .ssh(&format!("git:sync --build {app} {url} {two}"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "two\n");

    // From git daemon, the default branch; then again with nothing new: no build.
    let daemon = GitDaemon::start(source.path().parent().unwrap());
    let name = source.path().file_name().unwrap().to_string_lossy();
    let remote = format!("git://127.0.0.1:{}/{name}", daemon.port);
    berth
        .ssh(&format!("git:sync --build-if-changes {app} {remote}"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "three\n");
    let again = berth
        .ssh(&format!("git:sync --build-if-changes {app} {remote} main"))
        .ok();
    assert!(again.stdout.contains("nothing to build"), "{again:#?}");
    let releases = berth.ssh(&format!("releases {app}")).ok();
    assert!(!releases.stdout.contains("v4"), "{releases:#?}");

    // Without --build the branch moves and nothing deploys; a later ps:rebuild builds it.
    berth.ssh(&format!("git:sync {app} {url} v1")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "three\n");
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one\n");
}

#[test]
fn a_sync_of_the_servers_own_files_or_through_a_command_transport_is_refused() {
    let berth = Berth::start();
    let mine = berth.app("mine");
    let theirs = berth.deployed("theirs", "secret");
    berth.ssh(&format!("apps:create {mine}")).ok();
    let bob = make_key(berth.dir.path(), "bob");
    let public = std::fs::read(bob.with_extension("pub")).unwrap();
    berth
        .cli(&["ssh-keys:add", "bob", "--role", "developer"], &public)
        .ok();
    berth.ssh(&format!("acl:add {mine} bob")).ok();

    let other = berth.data_dir().join(format!("repos/{theirs}.git"));
    let line = format!("git:sync --build {mine} file://{} main", other.display());
    let refused = berth.ssh_as(&bob, &line);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("admin key"), "{refused:#?}");
    let pwned = berth.dir.path().join("pwned");
    let line = format!(
        "git:sync {mine} 'ext::sh -c touch% {}' main",
        pwned.display()
    );
    let refused = berth.ssh(&line);
    assert_ne!(refused.code, 0);
    assert!(!pwned.exists());
    let releases = berth.ssh(&format!("releases {mine}")).ok();
    assert!(!releases.stdout.contains("v1"), "{releases:#?}");
}
