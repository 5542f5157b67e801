//! End to end: the Debian package. `cargo deb` packages the tested binary (and again as
//! revision 2);
//! `dpkg -i` installs it on this machine; the daemon starts from the unit's own `ExecStart`
//! line (no systemd here); an app is pushed and served on the package's ports; the rebuilt
//! package is installed under load and the daemon hands over to it (the unit's `ExecReload`)
//! without a failed request; `dpkg -r` keeps the data and `dpkg -P` deletes it.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{eventually, make_key, repo, unique};

/// Runs `program args`, which must succeed; its stdout.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(output.status.success(), "{program} {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Builds the package into `dir` with `cargo deb`, around the binary these tests run (a copy
/// in a target dir of its own, so the test needs no release build); `revision` 2 is the
/// rebuilt package an upgrade installs.
fn package(dir: &Path, revision: u32) -> PathBuf {
    let target = dir.join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_berth"), target.join("release/berth")).unwrap();
    let out = dir.join(format!("berth-{revision}.deb"));
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .args(["deb", "--quiet", "--no-build", "--fast"])
        .args(["--deb-revision", &revision.to_string(), "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo deb (cargo install cargo-deb; scripts/test.sh does): {output:?}"
    );
    out
}

/// The installed unit's `ExecStart`, started as systemd would start it (without its sockets).
fn start_from_unit() -> Child {
    let unit = std::fs::read_to_string("/lib/systemd/system/berth.service").unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    Command::new(words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn serving_pid() -> Option<String> {
    std::fs::read_to_string("/var/lib/berth/berth.pid")
        .ok()
        .map(|p| p.trim().to_string())
}

/// SIGTERM to the daemon `pid`; whether it exited within a minute.
fn stop(pid: &str) -> bool {
    let _ = Command::new("kill").arg(pid).status();
    eventually(Duration::from_secs(60), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    })
}

/// Removes the package, its data, and the app's containers and images, whatever happened.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = serving_pid() {
            stop(&pid);
        }
        let _ = Command::new("dpkg").args(["-P", "berth"]).output();
        for kind in ["ps", "images"] {
            let ids = Command::new("docker")
                .args([
                    kind,
                    "-aq",
                    "--filter",
                    &format!("label=berth.app={}", self.0),
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let remove = if kind == "ps" { "rm" } else { "rmi" };
            for id in ids.split_whitespace() {
                let _ = Command::new("docker").args([remove, "-f", id]).output();
            }
        }
    }
}

#[test]
fn the_package_installs_serves_upgrades_under_load_and_keeps_data_on_remove() {
    assert!(
        !Path::new("/var/lib/berth").exists() && !Path::new("/usr/bin/berth").exists(),
        "this test installs Berth system-wide: run it on a machine without Berth installed"
    );
    let dir = tempfile::tempdir().unwrap();
    let first = package(dir.path(), 1);
    let second = package(dir.path(), 2);
    let app = unique("deb");
    let _cleanup = Cleanup(app.clone());

    run("dpkg", &["-i", first.to_str().unwrap()]);
    let config = std::fs::read_to_string("/etc/berth/berth.toml").unwrap();
    assert!(config.contains("data_dir = \"/var/lib/berth\""));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata("/var/lib/berth")
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "made by postinst");

    let mut daemon = start_from_unit();
    assert!(
        eventually(Duration::from_secs(60), || serving_pid().is_some()),
        "the daemon did not start"
    );
    let key = make_key(dir.path(), "deb");
    let public = std::fs::read(key.with_extension("pub")).unwrap();
    let mut add = Command::new("/usr/bin/berth")
        .args(["ssh-keys:add", "deb"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(add.stdin.as_mut().unwrap(), &public).unwrap();
    drop(add.stdin.take());
    assert!(add.wait().unwrap().success());

    let source = repo::create(&repo::as_refs(&repo::web_app("from-the-package")));
    let ssh = format!(
        "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes",
        key.display()
    );
    let pushed = Command::new("git")
        .current_dir(source.path())
        .env("GIT_SSH_COMMAND", ssh)
        .args([
            "push",
            &format!("ssh://berth@127.0.0.1:2222/{app}"),
            "HEAD:refs/heads/main",
        ])
        .output()
        .unwrap();
    assert!(pushed.status.success(), "{pushed:?}");
    let proxy: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let host = format!("{app}.berth.localhost");
    assert!(support::http::get(proxy, &host, "/")
        .body
        .contains("from-the-package"));

    let load = support::load::Load::start(proxy, &host, 8);
    load.wait_for_more(100);
    let before = serving_pid().unwrap();
    run("dpkg", &["-i", second.to_str().unwrap()]);
    assert!(run("dpkg-query", &["-W", "berth"]).contains("-2"));
    // What the unit's ExecReload does (systemd is not here to run it).
    run("kill", &["-USR2", &before]);
    assert!(
        eventually(Duration::from_secs(90), || {
            serving_pid().is_some_and(|pid| pid != before)
                && matches!(daemon.try_wait(), Ok(Some(_)))
        }),
        "the upgraded daemon did not take over"
    );
    load.wait_for_more(100);
    load.stop_without_failures();

    assert!(stop(&serving_pid().unwrap()), "the daemon did not stop");
    run("dpkg", &["-r", "berth"]);
    assert!(!Path::new("/usr/bin/berth").exists());
    assert!(
        Path::new("/var/lib/berth/keys.toml").exists()
            && Path::new(&format!("/var/lib/berth/apps/{app}/app.toml")).exists(),
        "remove keeps the data"
    );
    run("dpkg", &["-P", "berth"]);
    assert!(!Path::new("/var/lib/berth").exists(), "purge deletes it");
}
