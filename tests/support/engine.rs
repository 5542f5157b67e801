//! A relay in front of the real Docker socket that a test can cut: from the daemon's side, the
//! engine went away (as when dockerd restarts) while the containers carry on.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const DOCKER_SOCKET: &str = "/var/run/docker.sock";

pub struct EngineRelay {
    path: PathBuf,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<UnixStream>>>,
}

impl EngineRelay {
    /// Listens at `dir/docker.sock` and relays every connection to the Docker socket.
    pub fn start(dir: &Path) -> EngineRelay {
        let path = dir.join("docker.sock");
        let listener = UnixListener::bind(&path).expect("bind the relay socket");
        let relay = EngineRelay {
            path,
            cut: Arc::default(),
            open: Arc::default(),
        };
        let (cut, open) = (relay.cut.clone(), relay.open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(engine) = UnixStream::connect(DOCKER_SOCKET) else {
                    continue;
                };
                let mut open = open.lock().expect("relay connections");
                for stream in [&client, &engine] {
                    open.extend(stream.try_clone().ok());
                }
                pipe(&client, &engine);
                pipe(&engine, &client);
            }
        });
        relay
    }

    /// `docker_host` for the daemon's config.
    pub fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Closes every relayed connection and refuses new ones until `reconnect`.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.open.lock().expect("relay connections").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn reconnect(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either side closes.
fn pipe(from: &UnixStream, to: &UnixStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
