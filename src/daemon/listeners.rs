//! The daemon's listening sockets: inherited from a predecessor (or systemd) when it handed
//! them over, else bound from the config. Each keeps a duplicate for the next handoff.

use std::os::fd::OwnedFd;
use std::path::Path;

use super::{Bound, DaemonError};
use crate::config::Config;
use crate::handoff::Inherited;

pub struct Listeners {
    pub ssh: tokio::net::TcpListener,
    pub http: std::net::TcpListener,
    pub https: std::net::TcpListener,
    pub control: tokio::net::UnixListener,
    /// Duplicates of all four, passed to a successor on SIGUSR2.
    pub handoff: Vec<(&'static str, OwnedFd)>,
}

fn listen(what: &'static str, address: String) -> impl FnOnce(std::io::Error) -> DaemonError {
    move |source| DaemonError::Listen {
        what,
        address,
        source,
    }
}

async fn tcp(
    inherited: &mut Inherited,
    name: &'static str,
    address: std::net::SocketAddr,
) -> Result<std::net::TcpListener, DaemonError> {
    let listener = match inherited.tcp(name) {
        Some(listener) => listener,
        None => tokio::net::TcpListener::bind(address)
            .await
            .and_then(|l| l.into_std())
            .map_err(listen(name, address.to_string()))?,
    };
    listener
        .set_nonblocking(true)
        .map_err(listen(name, address.to_string()))?;
    Ok(listener)
}

impl Listeners {
    pub async fn open(
        config: &Config,
        inherited: &mut Inherited,
    ) -> Result<Listeners, DaemonError> {
        let ssh = tcp(inherited, "ssh", config.ssh.listen).await?;
        let http = tcp(inherited, "http", config.proxy.http_listen).await?;
        let https = tcp(inherited, "https", config.proxy.https_listen).await?;
        let path = config.control_socket();
        let control = match inherited.unix("control") {
            Some(listener) => listener,
            None => crate::control::bind(&path)
                .await
                .and_then(|l| l.into_std())
                .map_err(listen("control socket", path.display().to_string()))?,
        };
        control
            .set_nonblocking(true)
            .map_err(listen("control socket", path.display().to_string()))?;
        let dup = |what: &'static str, fd: std::io::Result<OwnedFd>| {
            fd.map(|fd| (what, fd))
                .map_err(listen(what, "a duplicate".into()))
        };
        let handoff = vec![
            dup("ssh", ssh.try_clone().map(OwnedFd::from))?,
            dup("http", http.try_clone().map(OwnedFd::from))?,
            dup("https", https.try_clone().map(OwnedFd::from))?,
            dup("control", control.try_clone().map(OwnedFd::from))?,
        ];
        Ok(Listeners {
            ssh: tokio::net::TcpListener::from_std(ssh)
                .map_err(listen("ssh", "the socket".into()))?,
            http,
            https,
            control: tokio::net::UnixListener::from_std(control)
                .map_err(listen("control socket", path.display().to_string()))?,
            handoff,
        })
    }

    pub fn bound(&self, control: &Path) -> Result<Bound, DaemonError> {
        let address = |what: &'static str, l: std::io::Result<std::net::SocketAddr>| {
            l.map_err(listen(what, "the socket".into()))
        };
        Ok(Bound {
            ssh: address("ssh", self.ssh.local_addr())?,
            http: address("http", self.http.local_addr())?,
            https: address("https", self.https.local_addr())?,
            control: control.to_path_buf(),
            admin: None,
        })
    }
}
