//! End to end: what `packaging/` installs. systemd's `Type=notify` contract (the daemon says
//! it is ready, and after an in-place handoff the successor says it is the main process, so
//! `systemctl reload` never loses the service), and `packaging/install.sh` into a scratch
//! root, twice, keeping an edited configuration.

mod support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::Berth;

/// The next notification systemd would get on `socket`.
fn notification(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket
        .recv(&mut buf)
        .expect("a notification within the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn serving_pid(berth: &Berth) -> String {
    std::fs::read_to_string(berth.data_dir().join("berth.pid"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn systemd_hears_ready_from_the_daemon_and_from_its_successor_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut berth = Berth::start_with_env(&[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    assert_eq!(
        notification(&socket),
        format!("READY=1\nMAINPID={}\n", serving_pid(&berth))
    );
    let before = serving_pid(&berth);
    berth.hand_over();
    let after = serving_pid(&berth);
    assert_ne!(before, after);
    assert_eq!(notification(&socket), format!("READY=1\nMAINPID={after}\n"));
}

fn install(root: &Path) -> String {
    let output = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
        .arg(env!("CARGO_BIN_EXE_berth"))
        .env("PREFIX", root)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}{output:?}");
    said
}

#[test]
fn install_sh_puts_the_binary_units_and_config_in_place_and_keeps_an_edited_config() {
    let root = tempfile::tempdir().unwrap();
    let said = install(root.path());
    assert!(said.starts_with("-----> Installing berth "), "{said}");
    let units = root.path().join("lib/systemd/system");
    for unit in [
        "berth.service",
        "berth-http.socket",
        "berth-https.socket",
        "berth-ssh.socket",
    ] {
        assert!(units.join(unit).exists(), "{unit}");
    }
    let service = std::fs::read_to_string(units.join("berth.service")).unwrap();
    assert!(service.contains("\nExecStart=/usr/bin/berth daemon --config /etc/berth/berth.toml\n"));
    let version = Command::new(root.path().join("usr/bin/berth"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("berth "));
    let data = root.path().join("var/lib/berth");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let config = root.path().join("etc/berth/berth.toml");
    let edited = std::fs::read_to_string(&config)
        .unwrap()
        .replace("berth.localhost", "apps.example.com");
    std::fs::write(&config, &edited).unwrap();
    let again = install(root.path());
    assert!(
        again.contains("/etc/berth/berth.toml kept as it is"),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
}

/// `berth --config CONFIG ARGS` without stdin: (exit code, stdout).
fn local(config: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
}

#[test]
fn doctor_passes_on_a_healthy_host_and_names_docker_when_the_engine_is_unreachable() {
    let berth = Berth::start();
    let (code, said) = local(&berth.config, &["doctor"]);
    assert_eq!(code, 0, "{said}");
    for line in said.lines() {
        assert!(
            line.starts_with("ok    ") || line.starts_with("warn  "),
            "{said}"
        );
    }
    // The test daemon listens on ephemeral ports; a port Berth holds is the unit test's.
    assert!(
        said.contains("\nok    the HTTP port 127.0.0.1:0 "),
        "{said}"
    );
    assert!(said.contains("\nok    the data dir "), "{said}");
    assert!(said.starts_with("ok    Docker "), "{said}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("berth.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\ndocker_host = \"unix:///nonexistent/docker.sock\"\n[ssh]\nlisten = \"127.0.0.1:0\"\n[proxy]\nhttp_listen = \"127.0.0.1:0\"\nhttps_listen = \"127.0.0.1:0\"\n[admin]\nlisten = \"\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let (code, said) = local(&config, &["doctor"]);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.starts_with("fail  Docker does not answer at unix:///nonexistent/docker.sock"),
        "{said}"
    );
}

#[test]
fn bash_completes_command_names_from_the_command_table() {
    let script = format!(
        "source <({} completions bash)\nCOMP_LINE='berth apps:cr'\nCOMP_POINT=${{#COMP_LINE}}\n_berth_berth\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\nCOMP_LINE='berth apps:create sh'\nCOMP_POINT=${{#COMP_LINE}}\nCOMPREPLY=()\n_berth_berth\necho \"after the command: ${{#COMPREPLY[@]}}\"\n",
        env!("CARGO_BIN_EXE_berth")
    );
    let output = Command::new("bash").arg("-c").arg(script).output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said, "create\nafter the command: 0\n", "{output:?}");
    let (code, _) = local(Path::new("/nonexistent.toml"), &["completions", "tcsh"]);
    assert_eq!(code, 1);
}
