//! Restarting or upgrading Berth without dropping traffic: listening sockets pass to the new
//! process instead of closing. On SIGUSR2 the daemon starts its own executable again (the new
//! binary, after an upgrade) with its listeners inherited, waits until that process serves,
//! then stops accepting and finishes its in-flight work. A daemon started by systemd socket
//! activation (`LISTEN_FDS`, `LISTEN_FDNAMES`) takes its listeners the same way.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;

/// `name=fd,…`: listeners a predecessor handed over.
const ENV_FDS: &str = "BERTH_LISTEN_FDS";
/// A pipe the successor writes `ready` to once it serves.
const ENV_READY: &str = "BERTH_READY_FD";

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("deploys were still running after {0:?}; try again when they finish")]
    Busy(Duration),
    #[error("cannot start the new process: {0}")]
    Spawn(std::io::Error),
    #[error("the new process exited before it served")]
    Died,
    #[error("the new process did not serve within {0:?}")]
    Timeout(Duration),
}

/// Listeners this process was given, by name, and the pipe to say it serves.
#[derive(Default)]
pub struct Inherited {
    fds: HashMap<String, OwnedFd>,
    ready: Option<OwnedFd>,
}

impl Inherited {
    /// Reads (and clears) Berth's own variables, or systemd's for this process. Call it before
    /// any other thread starts: it changes the environment.
    pub fn from_env() -> Inherited {
        let mut fds = HashMap::new();
        if let Ok(spec) = std::env::var(ENV_FDS) {
            for pair in spec.split(',') {
                if let Some((name, fd)) = pair.split_once('=') {
                    if let Ok(fd) = fd.parse::<RawFd>() {
                        fds.insert(name.to_string(), fd);
                    }
                }
            }
        } else if std::env::var("LISTEN_PID").ok() == Some(std::process::id().to_string()) {
            let count: RawFd = std::env::var("LISTEN_FDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
            for (index, name) in names.split(':').enumerate().take(count as usize) {
                fds.insert(name.to_string(), 3 + index as RawFd);
            }
        }
        let ready = std::env::var(ENV_READY)
            .ok()
            .and_then(|fd| fd.parse::<RawFd>().ok());
        for var in [
            ENV_FDS,
            ENV_READY,
            "LISTEN_PID",
            "LISTEN_FDS",
            "LISTEN_FDNAMES",
        ] {
            std::env::remove_var(var);
        }
        Inherited {
            fds: fds
                .into_iter()
                .filter_map(|(name, fd)| Some((name, own(fd)?)))
                .collect(),
            ready: ready.and_then(own),
        }
    }

    pub fn tcp(&mut self, name: &str) -> Option<std::net::TcpListener> {
        self.fds.remove(name).map(std::net::TcpListener::from)
    }

    /// Every inherited TCP listener whose name starts with `prefix`, by name.
    pub fn tcp_named(&mut self, prefix: &str) -> Vec<(String, std::net::TcpListener)> {
        let names: Vec<String> = self
            .fds
            .keys()
            .filter(|name| name.starts_with(prefix))
            .cloned()
            .collect();
        names
            .into_iter()
            .filter_map(|name| Some((name.clone(), self.tcp(&name)?)))
            .collect()
    }

    /// Any other inherited descriptor (the data dir lock).
    pub fn fd(&mut self, name: &str) -> Option<OwnedFd> {
        self.fds.remove(name)
    }

    pub fn unix(&mut self, name: &str) -> Option<std::os::unix::net::UnixListener> {
        self.fds
            .remove(name)
            .map(std::os::unix::net::UnixListener::from)
    }

    /// Tells a waiting predecessor that this process serves now, and systemd (`Type=notify`)
    /// that it is ready and is the service's main process, which after a handoff it did not
    /// start as.
    pub fn notify_ready(&mut self) {
        if let Some(fd) = self.ready.take() {
            let mut pipe = std::fs::File::from(fd);
            let _ = std::io::Write::write_all(&mut pipe, b"ready\n");
        }
        if let Some(socket) = std::env::var_os("NOTIFY_SOCKET") {
            let message = format!("READY=1\nMAINPID={}\n", std::process::id());
            if let Err(err) = notify_systemd(&socket, &message) {
                tracing::warn!(error = %err, "cannot tell systemd this process is ready");
            }
        }
    }
}

/// Sends `message` to systemd's notification socket (`@name`: an abstract one).
fn notify_systemd(socket: &std::ffi::OsStr, message: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let bytes = socket.as_bytes();
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(socket)?,
    };
    UnixDatagram::unbound()?.send_to_addr(message.as_bytes(), &address)?;
    Ok(())
}

/// Takes ownership of an inherited descriptor, if it is open (and stops passing it on).
fn own(fd: RawFd) -> Option<OwnedFd> {
    if !is_open(fd) {
        return None;
    }
    set_cloexec(fd, true);
    // SAFETY: the descriptor is open and was handed to this process for it to own.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What starting a successor needs: the executable, its arguments, and the listeners.
pub struct Handoff {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
    pub listeners: Vec<(&'static str, OwnedFd)>,
}

impl Handoff {
    /// Starts the successor with the listeners and `more` (opened since start) and waits
    /// (blocking, at most `limit`) until it serves; returns its pid. On failure this process
    /// keeps serving and the successor, if any, is stopped.
    pub fn start_successor(
        &self,
        more: &[(String, OwnedFd)],
        limit: Duration,
    ) -> Result<u32, HandoffError> {
        let (mut ready, writer) = std::io::pipe().map_err(HandoffError::Spawn)?;
        let all: Vec<(&str, &OwnedFd)> = self
            .listeners
            .iter()
            .map(|(name, fd)| (*name, fd))
            .chain(more.iter().map(|(name, fd)| (name.as_str(), fd)))
            .collect();
        let spec: Vec<String> = all
            .iter()
            .map(|(name, fd)| format!("{name}={}", fd.as_raw_fd()))
            .collect();
        let passed: Vec<RawFd> = all
            .iter()
            .map(|(_, fd)| fd.as_raw_fd())
            .chain([writer.as_raw_fd()])
            .collect();
        for fd in &passed {
            set_cloexec(*fd, false);
        }
        let spawned = std::process::Command::new(&self.exe)
            .args(&self.args)
            .env(ENV_FDS, spec.join(","))
            .env(ENV_READY, writer.as_raw_fd().to_string())
            .spawn();
        for fd in &passed {
            set_cloexec(*fd, true);
        }
        drop(writer);
        let mut child = spawned.map_err(HandoffError::Spawn)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut answer = String::new();
            let _ = ready.read_to_string(&mut answer);
            let _ = tx.send(answer);
        });
        let outcome = match rx.recv_timeout(limit) {
            Ok(answer) if answer.starts_with("ready") => return Ok(child.id()),
            Ok(_) => HandoffError::Died,
            Err(_) => HandoffError::Timeout(limit),
        };
        let _ = child.kill();
        let _ = child.wait();
        Err(outcome)
    }
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

fn set_cloexec(fd: RawFd, on: bool) {
    // SAFETY: F_GETFD/F_SETFD change only this descriptor's close-on-exec flag.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags != -1 {
            let flags = if on {
                flags | libc::FD_CLOEXEC
            } else {
                flags & !libc::FD_CLOEXEC
            };
            libc::fcntl(fd, libc::F_SETFD, flags);
        }
    }
}
