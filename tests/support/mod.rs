//! The end-to-end harness: the real `berth` binary on ephemeral ports with a temp data dir,
//! driven only as a user drives it — `ssh`, `git push`, the local CLI and plain HTTP.
//! Every test uses its own daemon and unique app names, and removes its containers and images.

#![allow(dead_code)]

pub mod engine;
pub mod http;
pub mod load;
pub mod registry;
pub mod repo;
pub mod services;
pub mod swarm;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

pub use http::HttpResponse;

/// What a finished command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        self
    }
}

/// Kills a process group started by `Berth::push_spawn` (git and its ssh), as Ctrl-C would.
pub fn interrupt(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}

/// Reads a spawned push's stderr until a line contains `text`; returns the rest of the lines.
pub fn wait_for_line(child: &mut Child, text: &str) -> impl Iterator<Item = String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("spawned with stderr piped");
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    for line in lines.by_ref() {
        if line.contains(text) {
            break;
        }
    }
    lines
}

/// Waits (at most `limit`) for `child` to exit, killing it after that; whether it exited by
/// itself, and what it printed.
pub fn finished_within(mut child: Child, limit: Duration) -> (bool, std::process::Output) {
    let exited = eventually(limit, || matches!(child.try_wait(), Ok(Some(_))));
    if !exited {
        let _ = child.kill();
    }
    (exited, child.wait_with_output().expect("child's output"))
}

/// Polls `check` until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The base images the test apps build FROM, made locally once per test binary.
fn ensure_base_images() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let status = Command::new("bash")
            .arg(project_dir().join("scripts/base-images.sh"))
            .status()
            .expect("run scripts/base-images.sh");
        assert!(status.success(), "scripts/base-images.sh failed");
    });
}

pub fn unique(base: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{base}-{:x}{:x}{n}",
        std::process::id() & 0xfff,
        nanos & 0xfffff
    )
}

/// Splits `top` (top-level settings such as `docker_host`, or a test's own `[admin]` section)
/// into the top-level lines and the `[admin]` section, on an ephemeral loopback port unless
/// the test sets one.
fn admin_section(top: &str) -> (&str, String) {
    match top.strip_prefix("[admin]\n") {
        Some(admin) if admin.contains("listen") => ("", format!("[admin]\n{admin}")),
        Some(admin) => ("", format!("[admin]\nlisten = \"127.0.0.1:0\"\n{admin}")),
        None => (top, "[admin]\nlisten = \"127.0.0.1:0\"\n".to_string()),
    }
}

/// The `GIT_SSH_COMMAND` that logs in with `key` only, trusting any host key.
fn ssh_for_git(key: &Path) -> String {
    format!(
        "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes",
        key.display()
    )
}

/// Makes an Ed25519 key pair with the real `ssh-keygen`; returns the private key's path.
pub fn make_key(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success());
    path
}

pub struct Berth {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub key: PathBuf,
    pub ssh_port: u16,
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub control: PathBuf,
    /// The admin listener (`/metrics`).
    pub admin: SocketAddr,
    child: Option<Child>,
    /// The daemon that took over from `child` on SIGUSR2 (not this process's child).
    successor: Option<u32>,
    apps: Mutex<Vec<String>>,
    /// Extra environment for the daemon (`start_with_env`).
    env: Vec<(String, String)>,
}

pub const DOMAIN: &str = "berth.test";

impl Berth {
    /// Starts a daemon and authorizes one key, `alice`.
    pub fn start() -> Berth {
        Berth::start_with("")
    }

    /// Like `start`, with extra `[deploy]` settings (TOML lines).
    pub fn start_with(deploy: &str) -> Berth {
        Berth::start_configured(deploy, "")
    }

    /// Like `start`, with extra `[deploy]` and `[proxy]` settings (TOML lines).
    pub fn start_configured(deploy: &str, proxy: &str) -> Berth {
        Berth::start_from("", "", deploy, proxy, Vec::new())
    }

    /// Like `start`, talking to the Docker engine at `docker_host`.
    pub fn start_on_engine(docker_host: &str) -> Berth {
        Berth::start_from(
            &format!("docker_host = \"{docker_host}\"\n"),
            "",
            "",
            "",
            Vec::new(),
        )
    }

    /// Like `start`, with extra environment variables for the daemon.
    pub fn start_with_env(env: &[(&str, &str)]) -> Berth {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Berth::start_from("", "", "", "", env)
    }

    /// Like `start`, with extra `[ssh]` settings (TOML lines).
    pub fn start_with_ssh(ssh: &str) -> Berth {
        Berth::start_from("", ssh, "", "", Vec::new())
    }

    /// Like `start`, with extra `[admin]` settings (TOML lines).
    pub fn start_with_admin(admin: &str) -> Berth {
        Berth::start_from(&format!("[admin]\n{admin}\n"), "", "", "", Vec::new())
    }

    /// A daemon with extra top-level, `[ssh]`, `[deploy]` and `[proxy]` settings (TOML lines).
    fn start_from(
        top: &str,
        ssh: &str,
        deploy: &str,
        proxy: &str,
        env: Vec<(String, String)>,
    ) -> Berth {
        ensure_base_images();
        let (top, admin) = admin_section(top);
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("berth.toml");
        std::fs::write(
            &config,
            format!(
                "{top}data_dir = \"{data}\"\nglobal_domain = \"{DOMAIN}\"\n\
                 [ssh]\nlisten = \"127.0.0.1:0\"\n{ssh}\n\
                 [proxy]\nhttp_listen = \"127.0.0.1:0\"\nhttps_listen = \"127.0.0.1:0\"\n{proxy}\n\
                 [deploy]\nstart_timeout_secs = 20\nstop_timeout_secs = 2\n\
                 check_wait_secs = 1\nwait_to_retire_secs = 1\n{deploy}\n{admin}",
                data = dir.path().join("data").display(),
            ),
        )
        .expect("write config");
        let key = make_key(dir.path(), "alice");
        let mut berth = Berth {
            dir,
            config,
            key,
            ssh_port: 0,
            http: "127.0.0.1:0".parse().expect("addr"),
            https: "127.0.0.1:0".parse().expect("addr"),
            control: PathBuf::new(),
            admin: "127.0.0.1:0".parse().expect("addr"),
            child: None,
            successor: None,
            apps: Mutex::new(Vec::new()),
            env,
        };
        berth.spawn();
        let public = std::fs::read(berth.key.with_extension("pub")).expect("public key");
        berth.cli(&["ssh-keys:add", "alice"], &public).ok();
        berth
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The serving daemon's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = std::fs::read_to_string(self.data_dir().join("berth.pid")).expect("pid");
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).expect("status");
        let line = status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .expect("VmHWM");
        line.split_whitespace()
            .nth(1)
            .expect("kB")
            .parse()
            .expect("number")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .expect("daemon log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["daemon", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start berth daemon");
        let stdout = child.stdout.take().expect("daemon stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("daemon never became ready: {}", self.log()));
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
                .to_string()
        };
        let ssh: SocketAddr = field("ssh").parse().expect("ssh addr");
        self.ssh_port = ssh.port();
        self.http = field("http").parse().expect("http addr");
        self.https = field("https").parse().expect("https addr");
        self.control = PathBuf::from(field("control"));
        self.admin = field("admin").parse().expect("admin addr");
        self.child = Some(child);
    }

    /// Stops the daemon with SIGTERM and waits for it to exit.
    /// SIGUSR2: the daemon hands its sockets to a new process and exits once that serves.
    /// Returns when the old process has exited; the new one is stopped with the rest.
    pub fn hand_over(&mut self) {
        let mut child = self.hand_over_started();
        let exited = eventually(Duration::from_secs(90), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        assert!(exited, "the old daemon did not exit: {}", self.log());
    }

    /// SIGUSR2, returning once the successor serves (its pid in `berth.pid`) with the old
    /// process, which may still be finishing its sessions.
    pub fn hand_over_started(&mut self) -> Child {
        let child = self.child.take().expect("a running daemon");
        let old = child.id();
        let _ = Command::new("kill")
            .args(["-USR2", &old.to_string()])
            .status();
        let pid_file = self.data_dir().join("berth.pid");
        let successor = || {
            std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok())
                .filter(|pid| *pid != old)
        };
        let served = eventually(Duration::from_secs(90), || successor().is_some());
        assert!(served, "no new daemon serves: {}", self.log());
        self.successor = successor();
        child
    }

    /// Opens a shared SSH connection at `control` (OpenSSH's ControlMaster), in the background.
    pub fn ssh_shared_open(&self, control: &Path) {
        let status = self
            .ssh_command(&self.key)
            .args(["-M", "-N", "-f", "-o"])
            .arg(format!("ControlPath={}", control.display()))
            .arg("berth@127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run ssh -M");
        assert!(status.success(), "ssh -M failed");
    }

    /// `ssh … LINE` through the shared connection at `control`, as multiplexing users run it.
    pub fn ssh_shared(&self, control: &Path, line: &str) -> Run {
        let output = self
            .ssh_command(&self.key)
            .args(["-o", "ControlMaster=no", "-o"])
            .arg(format!("ControlPath={}", control.display()))
            .arg("berth@127.0.0.1")
            .arg(line)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh");
        Run::from(output)
    }

    /// `ssh … LINE` through the shared connection at `control`, left running with its stdin
    /// open (a command reading stdin holds its session until the input ends).
    pub fn ssh_shared_spawn(&self, control: &Path, line: &str) -> Child {
        self.ssh_command(&self.key)
            .args(["-o", "ControlMaster=no", "-o"])
            .arg(format!("ControlPath={}", control.display()))
            .arg("berth@127.0.0.1")
            .arg(line)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run ssh")
    }

    /// Closes the shared connection at `control`.
    pub fn ssh_shared_exit(&self, control: &Path) {
        let _ = self
            .ssh_command(&self.key)
            .args(["-o"])
            .arg(format!("ControlPath={}", control.display()))
            .args(["-O", "exit", "berth@127.0.0.1"])
            .output();
    }

    pub fn stop(&mut self) {
        if let Some(pid) = self.successor.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            eventually(Duration::from_secs(30), || {
                !std::path::Path::new(&format!("/proc/{pid}")).exists()
            });
        }
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let exited = eventually(Duration::from_secs(30), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            if !exited {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// `kill -9` of the daemon: no shutdown, no cleanup (`restart` starts a new one).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The daemon log's size in bytes, without reading it (it may be huge).
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(self.dir.path().join("daemon.log")).map_or(0, |m| m.len())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// A unique app name, cleaned up when the daemon is dropped.
    pub fn app(&self, base: &str) -> String {
        let name = unique(base);
        self.apps.lock().expect("apps").push(name.clone());
        name
    }

    /// Cleans up `name` (an app this daemon did not name, restored from a backup) when the
    /// daemon is dropped.
    pub fn track(&self, name: &str) {
        self.apps.lock().expect("apps").push(name.to_string());
    }

    pub fn host(app: &str) -> String {
        format!("{app}.{DOMAIN}")
    }

    /// `berth --config … ARGS` on the server, with `stdin`.
    pub fn cli(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run berth");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin).expect("write stdin");
        drop(input);
        Run::from(child.wait_with_output().expect("berth output"))
    }

    fn ssh_command(&self, key: &Path) -> Command {
        self.ssh_command_to(self.ssh_port, key)
    }

    /// `ssh -p PORT USER@127.0.0.1 LINE` with `key`: another SSH server than Berth's own.
    pub fn ssh_at(&self, port: u16, user: &str, key: &Path, line: &str) -> Run {
        let output = self
            .ssh_command_to(port, key)
            .arg(format!("{user}@127.0.0.1"))
            .arg(line)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh");
        Run::from(output)
    }

    fn ssh_command_to(&self, port: u16, key: &Path) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(["-p", &port.to_string(), "-i"])
            .arg(key)
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "BatchMode=yes",
            ]);
        command
    }

    /// `ssh -p PORT berth@127.0.0.1 LINE` with alice's key; LINE is sent as typed.
    pub fn ssh(&self, line: &str) -> Run {
        self.ssh_as(&self.key, line)
    }

    pub fn ssh_as(&self, key: &Path, line: &str) -> Run {
        self.ssh_login(key, "berth", line)
    }

    /// `ssh USER@127.0.0.1 LINE` with `key`.
    pub fn ssh_login(&self, key: &Path, user: &str, line: &str) -> Run {
        self.ssh_at(self.ssh_port, user, key, line)
    }

    /// `ssh USER@127.0.0.1 WORD…`, each word its own argument to `ssh`, as a shell user's typed
    /// words reach it once their own shell has taken its quotes off.
    pub fn ssh_words(&self, words: &[&str]) -> Run {
        let output = self
            .ssh_command(&self.key)
            .arg("berth@127.0.0.1")
            .args(words)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh");
        Run::from(output)
    }

    /// `ssh … LINE` with `input` on its standard input (no terminal).
    /// `ssh … LINE`'s exit status and its stdout as bytes (a binary dump).
    pub fn ssh_bytes(&self, line: &str) -> (i32, Vec<u8>) {
        let output = self
            .ssh_command(&self.key)
            .arg("berth@127.0.0.1")
            .arg(line)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh");
        (output.status.code().unwrap_or(-1), output.stdout)
    }

    pub fn ssh_input(&self, line: &str, input: &[u8]) -> Run {
        self.ssh_feeding(&[], line, input)
    }

    fn ssh_feeding(&self, extra: &[&str], line: &str, input: &[u8]) -> Run {
        let mut child = self
            .ssh_command(&self.key)
            .args(extra)
            .arg("berth@127.0.0.1")
            .arg(line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write stdin");
        // A terminal session ends by what is typed, as a person's does; closing its input early
        // would hang up the remote terminal before it has read the line.
        let keep_open = extra.contains(&"-tt").then_some(stdin);
        let output = child.wait_with_output().expect("ssh output");
        drop(keep_open);
        Run::from(output)
    }

    /// `ssh -s … NAME`, a subsystem request (as `sftp` makes), left running, its stderr piped.
    pub fn ssh_subsystem_spawn(&self, name: &str) -> Child {
        self.ssh_command(&self.key)
            .args(["-s", "berth@127.0.0.1", name])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh -s")
    }

    /// `ssh … LINE` left running, its stdout piped (for `logs -t`).
    pub fn ssh_spawn(&self, line: &str) -> Child {
        self.ssh_spawn_as(&self.key, line)
    }

    /// `ssh … LINE` with `key`, left running, its stdout piped.
    pub fn ssh_spawn_as(&self, key: &Path, line: &str) -> Child {
        self.ssh_command(key)
            .arg("berth@127.0.0.1")
            .arg(line)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run ssh")
    }

    /// `ssh -tt … LINE` left running, as a user at a terminal: each of `exchanges` waits until
    /// the output so far contains its first part (a prompt), then types its second; returns
    /// the whole output once ssh ends.
    pub fn ssh_typing(&self, line: &str, exchanges: &[(&str, &[u8])]) -> String {
        use std::io::Read;
        let mut child = self
            .ssh_command(&self.key)
            .args(["-tt", "berth@127.0.0.1", line])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run ssh");
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read) = stdout.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    seen.lock()
                        .expect("output")
                        .extend_from_slice(&buffer[..read]);
                }
            })
        };
        let mut stdin = child.stdin.take().expect("stdin");
        for (prompt, typed) in exchanges {
            let shown = eventually(Duration::from_secs(30), || {
                String::from_utf8_lossy(&seen.lock().expect("output")).contains(prompt)
            });
            let so_far = String::from_utf8_lossy(&seen.lock().expect("output")).into_owned();
            assert!(shown, "no {prompt:?} in {so_far:?}");
            stdin.write_all(typed).expect("type");
        }
        drop(stdin);
        let (ended, _) = finished_within(child, Duration::from_secs(30));
        assert!(ended, "ssh {line} did not end");
        let _ = reader.join();
        let output = seen.lock().expect("output").clone();
        String::from_utf8_lossy(&output).into_owned()
    }

    /// `ssh -tt … LINE` with `typed` sent to the remote terminal.
    pub fn ssh_tty(&self, line: &str, typed: &[u8]) -> Run {
        self.ssh_feeding(&["-tt"], line, typed)
    }

    /// `git push ssh://berth@127.0.0.1:PORT/APP BRANCH` from `repo`, with alice's key.
    pub fn push(&self, repo: &Path, app: &str, branch: &str) -> Run {
        self.push_refspec(repo, app, &format!("HEAD:refs/heads/{branch}"))
    }

    /// A new app (a unique name from `base`) deployed with the web app that serves `marker`.
    pub fn deployed(&self, base: &str, marker: &str) -> String {
        let app = self.app(base);
        let source = repo::create(&repo::as_refs(&repo::web_app(marker)));
        self.push(source.path(), &app, "main").ok();
        app
    }

    /// `git push --force` of any refspec (`:refs/heads/main` deletes).
    pub fn push_refspec(&self, repo: &Path, app: &str, refspec: &str) -> Run {
        let output = self
            .push_command(repo, app, refspec)
            .output()
            .expect("run git push");
        Run::from(output)
    }

    /// `git push` of `HEAD` to `branch` with `key`, to `ssh://USER@127.0.0.1:PORT/APP` (another
    /// SSH server than Berth's own when `port` is not `ssh_port`).
    pub fn push_via(&self, key: &Path, user: &str, port: u16, repo: &Path, app: &str) -> Run {
        let remote = format!("ssh://{user}@127.0.0.1:{port}/{app}");
        let output = Command::new("git")
            .current_dir(repo)
            .env("GIT_SSH_COMMAND", ssh_for_git(key))
            .args(["push", "--force", &remote, "HEAD:refs/heads/main"])
            .output()
            .expect("run git push");
        Run::from(output)
    }

    /// `git clone ssh://berth@…/<path>` into a new directory, logged in with `key`.
    pub fn clone_as(&self, key: &Path, path: &str) -> (Run, tempfile::TempDir) {
        let into = tempfile::tempdir().expect("temp dir");
        let remote = format!("ssh://berth@127.0.0.1:{}/{path}", self.ssh_port);
        let output = Command::new("git")
            .env("GIT_SSH_COMMAND", ssh_for_git(key))
            .args(["clone", "--quiet", &remote])
            .arg(into.path().join("clone"))
            .output()
            .expect("run git clone");
        (Run::from(output), into)
    }

    fn push_command(&self, repo: &Path, app: &str, refspec: &str) -> Command {
        let remote = format!("ssh://berth@127.0.0.1:{}/{app}", self.ssh_port);
        let ssh = ssh_for_git(&self.key);
        let mut command = Command::new("git");
        command
            .current_dir(repo)
            .env("GIT_SSH_COMMAND", ssh)
            .args(["push", "--force", &remote, refspec]);
        command
    }

    /// Starts `git push` in the background, in its own process group (so a test can interrupt
    /// it as Ctrl-C would: `interrupt`), its stderr piped.
    pub fn push_spawn(&self, repo: &Path, app: &str, branch: &str) -> Child {
        use std::os::unix::process::CommandExt;
        self.push_command(repo, app, &format!("HEAD:refs/heads/{branch}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start git push")
    }

    /// GET / through the proxy with `Host: host`.
    pub fn get(&self, host: &str, path: &str) -> HttpResponse {
        http::get(self.http, host, path)
    }

    /// `curl` over HTTPS to the proxy with SNI `host` (certificates not verified), printing the
    /// response headers before the body; `extra` are more curl arguments.
    pub fn curl_https(&self, host: &str, path: &str, extra: &[&str]) -> Run {
        let port = self.https.port();
        let output = Command::new("curl")
            .args(["-sS", "-k", "-D", "-", "--max-time", "30", "--resolve"])
            .arg(format!("{host}:{port}:127.0.0.1"))
            .args(extra)
            .arg(format!("https://{host}:{port}{path}"))
            .output()
            .expect("run curl");
        Run::from(output)
    }

    pub fn get_with(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http::get_with(self.http, host, path, headers)
    }

    /// The containers Berth made for the app (a test's own, with no release label, are left out)
    /// as (id, release, running).
    pub fn containers(app: &str) -> Vec<(String, String, bool)> {
        docker_lines(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=berth.app={app}"),
            "--format",
            "{{.ID}} {{.Label \"berth.release\"}} {{.State}}",
        ])
        .iter()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            Some((
                parts.next()?.to_string(),
                parts.next()?.to_string(),
                parts.next()? == "running",
            ))
        })
        .collect()
    }

    /// Every container labelled with the app, its one-offs and a test's own included.
    fn container_ids(app: &str) -> Vec<String> {
        docker_lines(&["ps", "-aq", "--filter", &format!("label=berth.app={app}")])
    }

    /// Images built for the app that lost their tag (ids).
    pub fn untagged_images(app: &str) -> Vec<String> {
        let label = format!("label=berth.app={app}");
        docker_lines(&[
            "images",
            "-q",
            "--filter",
            "dangling=true",
            "--filter",
            &label,
        ])
    }

    /// The app's image tags (`berth/<app>:<n>`).
    /// The app's image tags: Berth's own, and any other name its built images got (a
    /// registry's, after a push).
    pub fn images(app: &str) -> Vec<String> {
        let tags = |filter: String| {
            docker_lines(&[
                "images",
                "--filter",
                &filter,
                "--format",
                "{{.Repository}}:{{.Tag}}",
            ])
        };
        let mut images = tags(format!("reference=berth/{app}"));
        images.extend(tags(format!("label=berth.app={app}")));
        images.retain(|tag| !tag.ends_with(":<none>"));
        images.sort();
        images.dedup();
        images
    }
}

/// The lines `docker <args>` prints.
pub fn docker_lines(args: &[&str]) -> Vec<String> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Removes the swarm objects of `kind` (`service`, `secret`) labelled with `app`.
fn remove_labelled(kind: &str, app: &str) {
    let ids = docker_lines(&[
        kind,
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.app={app}"),
    ]);
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args([kind, "rm"])
            .args(&ids)
            .output();
    }
}

/// The daemon log without the access lines of answered requests (a test under load writes
/// thousands, and a CI log keeps only a failure's head and tail), with their count at the end.
fn failure_log(log: &str) -> String {
    let answered = |line: &str| {
        line.contains("berth::access:")
            && [" status=2", " status=3"].iter().any(|s| line.contains(s))
    };
    let mut kept = String::new();
    let mut left_out = 0;
    for line in log.lines() {
        if answered(line) {
            left_out += 1;
        } else {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept + &format!("({left_out} access lines of answered requests left out)\n")
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("---- daemon log ----\n{}", failure_log(&self.log()));
        }
        let apps = self.apps.lock().map(|a| a.clone()).unwrap_or_default();
        for app in &apps {
            // Swarm services first, or the swarm would replace their removed containers, then
            // the secrets they used (on an engine outside a swarm these list nothing).
            remove_labelled("service", app);
            remove_labelled("secret", app);
            let ids = Berth::container_ids(app);
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&ids)
                    .output();
            }
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &format!("berth-cache-{app}")])
                .output();
        }
        // Images once no app's container runs them: one app may run another's image
        // (`git:from-image`), which a forced removal would only untag while it runs.
        for app in &apps {
            let mut images = Berth::images(app);
            images.extend(Berth::untagged_images(app));
            if !images.is_empty() {
                let _ = Command::new("docker")
                    .args(["rmi", "-f"])
                    .args(&images)
                    .output();
            }
        }
    }
}
