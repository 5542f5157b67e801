//! Listeners opened and closed while the daemon runs, for `ports:*` mappings beyond the main
//! HTTP and HTTPS listeners: more HTTP or HTTPS ports (routed by Host, see `Proxy::extra`) and
//! TCP passthrough ports. They bind on the main HTTP listener's address, and pass to a
//! successor on a handoff like the main ones.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::tcp::{self, TcpTarget};
use super::{CertStore, Proxy};
use crate::names::AppName;
use crate::ports::{Listener, Scheme};

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on port {port}: {source}")]
pub struct ListenError {
    pub port: u16,
    pub source: std::io::Error,
}

/// A listener some mapping needs; TCP ones name the app and container port they relay to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub listener: Listener,
    pub tcp: Option<TcpTarget>,
}

struct Open {
    stop: CancellationToken,
    /// A duplicate of the socket, for a successor.
    socket: OwnedFd,
    tcp: Option<Arc<Mutex<TcpTarget>>>,
}

pub struct ExtraListeners {
    ip: IpAddr,
    /// The HTTP/HTTPS serving template (`extra` set).
    proxy: Proxy,
    certs: Arc<CertStore>,
    open: Mutex<HashMap<Listener, Open>>,
    /// Sockets a predecessor handed over, by name, until a mapping claims them.
    spare: Mutex<HashMap<String, std::net::TcpListener>>,
}

impl ExtraListeners {
    pub fn new(
        ip: IpAddr,
        proxy: Proxy,
        certs: Arc<CertStore>,
        spare: Vec<(String, std::net::TcpListener)>,
    ) -> ExtraListeners {
        ExtraListeners {
            ip,
            proxy: Proxy {
                extra: true,
                ..proxy
            },
            certs,
            open: Mutex::new(HashMap::new()),
            spare: Mutex::new(spare.into_iter().collect()),
        }
    }

    /// Opens the wanted listeners (each named once, as `wanted` lists them) that are not open
    /// and closes the open ones no longer wanted. If one cannot be opened, nothing changes.
    /// A port that changes scheme keeps its socket: the new scheme serves on it as the old stops.
    pub fn reconcile(&self, wanted: &[Wanted]) -> Result<(), ListenError> {
        let mut open = lock(&self.open);
        let mut fresh = Vec::new();
        for want in wanted.iter().filter(|w| !open.contains_key(&w.listener)) {
            let changing = open.iter().find(|(listener, _)| {
                listener.port == want.listener.port
                    && !wanted.iter().any(|w| w.listener == **listener)
            });
            let socket = match changing {
                Some((_, opened)) => reuse(&opened.socket, want.listener)?,
                None => self.socket(want.listener)?,
            };
            fresh.push((want, socket));
        }
        for (want, socket) in fresh {
            let opened = self.start(want, socket)?;
            open.insert(want.listener, opened);
        }
        open.retain(|listener, opened| {
            let Some(want) = wanted.iter().find(|w| w.listener == *listener) else {
                opened.stop.cancel();
                tracing::info!(port = listener.port, scheme = %listener.scheme, "closed a listener");
                return false;
            };
            if let (Some(current), Some(target)) = (&opened.tcp, &want.tcp) {
                *lock(current) = target.clone();
            }
            true
        });
        lock(&self.spare).clear();
        Ok(())
    }

    /// Duplicates of the open listeners, named, for a successor process.
    pub fn handoff(&self) -> Vec<(String, OwnedFd)> {
        lock(&self.open)
            .iter()
            .filter_map(|(listener, open)| Some((listener.name(), open.socket.try_clone().ok()?)))
            .collect()
    }

    fn socket(&self, listener: Listener) -> Result<std::net::TcpListener, ListenError> {
        let failed = |source| ListenError {
            port: listener.port,
            source,
        };
        if let Some(socket) = lock(&self.spare).remove(&listener.name()) {
            return Ok(socket);
        }
        let socket =
            std::net::TcpListener::bind(SocketAddr::new(self.ip, listener.port)).map_err(failed)?;
        socket.set_nonblocking(true).map_err(failed)?;
        Ok(socket)
    }

    fn start(&self, want: &Wanted, socket: std::net::TcpListener) -> Result<Open, ListenError> {
        let failed = |source| ListenError {
            port: want.listener.port,
            source,
        };
        let duplicate = socket.try_clone().map_err(failed)?;
        let stop = self.proxy.shutdown.child_token();
        let tracker = &self.proxy.tracker;
        let mut tcp_target = None;
        match (want.listener.scheme, &want.tcp) {
            (Scheme::Tcp, Some(target)) => {
                let target = Arc::new(Mutex::new(target.clone()));
                tcp_target = Some(target.clone());
                let listener = tokio::net::TcpListener::from_std(socket).map_err(failed)?;
                tracker.spawn(tcp::serve(
                    listener,
                    self.proxy.routes.clone(),
                    target,
                    stop.clone(),
                    tracker.clone(),
                ));
            }
            (scheme, _) => {
                let proxy = Proxy {
                    shutdown: stop.clone(),
                    ..self.proxy.clone()
                };
                let certs = (scheme == Scheme::Https).then(|| self.certs.clone());
                tracker.spawn(super::serve(socket, proxy, certs));
            }
        }
        tracing::info!(port = want.listener.port, scheme = %want.listener.scheme, "opened a listener");
        Ok(Open {
            stop,
            socket: OwnedFd::from(duplicate),
            tcp: tcp_target,
        })
    }
}

/// Another descriptor for an open listener's socket, for the scheme that takes it over.
fn reuse(socket: &OwnedFd, listener: Listener) -> Result<std::net::TcpListener, ListenError> {
    socket
        .try_clone()
        .map(std::net::TcpListener::from)
        .map_err(|source| ListenError {
            port: listener.port,
            source,
        })
}

/// What every app's mappings ask for (TCP ones relay to their app).
pub fn wanted(apps: &[(AppName, Vec<crate::ports::PortMap>)]) -> Vec<Wanted> {
    let mut wanted: Vec<Wanted> = Vec::new();
    for (app, maps) in apps {
        for map in maps {
            let Some(listener) = map.listener() else {
                continue;
            };
            let tcp = (listener.scheme == Scheme::Tcp).then(|| TcpTarget {
                app: app.clone(),
                port: map.container,
            });
            if !wanted.iter().any(|w| w.listener == listener) {
                wanted.push(Wanted { listener, tcp });
            }
        }
    }
    wanted
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
