//! `berth daemon`: opens state, connects to Docker, re-adopts running apps, then serves the three
//! listeners (SSH, HTTP proxy, control socket) in one runtime under one shutdown tree.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::commands::Io;
use crate::config::Config;
use crate::context::Caller;
use crate::context::Ctx;
use crate::deploy::{adopt_running, restore_apps, DeployLocks};
use crate::docker::DockerEngine;
use crate::git::{install_hook, GitError, PushRegistry};
use crate::proxy::{CertStore, Routes};
use crate::scheduler::SchedulerError;
use crate::ssh::KeyError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    HostKey(#[from] KeyError),
    #[error(transparent)]
    Docker(#[from] SchedulerError),
    #[error(transparent)]
    Hook(#[from] GitError),
    #[error("cannot listen on {what} {address}: {source}")]
    Listen {
        what: &'static str,
        address: String,
        source: std::io::Error,
    },
    #[error("cannot find Berth's own executable: {0}")]
    Exe(std::io::Error),
}

/// Where the daemon ended up listening (ports may have been 0 in the config).
#[derive(Debug, Clone)]
pub struct Bound {
    pub ssh: SocketAddr,
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub control: PathBuf,
}

/// Runs until `shutdown` fires; `on_ready` is told the bound addresses once serving.
pub async fn run(
    config: Config,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(&Bound),
) -> Result<(), DaemonError> {
    let store = crate::state::Store::open(&config.data_dir)?;
    let host_key = crate::ssh::load_or_create_host_key(&config.host_key())?;
    let engine =
        Arc::new(DockerEngine::connect(&config.docker_host, &config.deploy.network).await?);
    let exe = std::env::current_exe().map_err(DaemonError::Exe)?;
    install_hook(store.layout(), &exe)?;

    let listen = |what: &'static str, address: String| {
        move |source| DaemonError::Listen {
            what,
            address,
            source,
        }
    };
    let ssh_listener = TcpListener::bind(config.ssh.listen)
        .await
        .map_err(listen("ssh", config.ssh.listen.to_string()))?;
    let http_listener = TcpListener::bind(config.proxy.http_listen)
        .await
        .map_err(listen("http", config.proxy.http_listen.to_string()))?;
    let https_listener = TcpListener::bind(config.proxy.https_listen)
        .await
        .map_err(listen("https", config.proxy.https_listen.to_string()))?;
    let control_path = config.control_socket();
    let control_listener = crate::control::bind(&control_path)
        .await
        .map_err(listen("control socket", control_path.display().to_string()))?;
    let bound = Bound {
        ssh: ssh_listener
            .local_addr()
            .map_err(listen("ssh", config.ssh.listen.to_string()))?,
        http: http_listener
            .local_addr()
            .map_err(listen("http", config.proxy.http_listen.to_string()))?,
        https: https_listener
            .local_addr()
            .map_err(listen("https", config.proxy.https_listen.to_string()))?,
        control: control_path.clone(),
    };

    let tracker = TaskTracker::new();
    let ctx = Arc::new_cyclic(|this| Ctx {
        config,
        store,
        scheduler: engine.clone(),
        builder: engine,
        routes: Arc::new(Routes::default()),
        certs: Arc::new(CertStore::default()),
        https_port: bound.https.port(),
        pushes: Arc::new(PushRegistry::default()),
        deploy_locks: DeployLocks::default(),
        tracker: tracker.clone(),
        shutdown: shutdown.clone(),
        this: this.clone(),
    });
    adopt_running(&ctx).await?;
    for app in ctx.store.app_names() {
        ctx.refresh_policy(&app);
    }
    ctx.refresh_certs();
    let restoring = ctx.clone();
    tracker.spawn(async move {
        let mut io = Io::detached(restoring.shutdown.child_token());
        match restore_apps(&restoring, &Caller::Local, None, &mut io).await {
            Ok(apps) if !apps.is_empty() => {
                tracing::info!(?apps, "restored apps that had no running instance")
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "could not restore every app"),
        }
    });

    tracker.spawn(crate::cron::run_loop(ctx.clone()));
    tracker.spawn(crate::ssh::serve(
        ssh_listener,
        host_key,
        ctx.clone(),
        shutdown.clone(),
        tracker.clone(),
    ));
    let limits = crate::proxy::Limits {
        hold: Duration::from_secs(ctx.config.proxy.hold_timeout_secs),
        read_timeout: Duration::from_secs(ctx.config.proxy.read_timeout_secs),
        max_body: ctx.config.proxy.client_max_body_size.bytes(),
    };
    let proxy = crate::proxy::Proxy {
        routes: ctx.routes.clone(),
        limits,
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        workers: ctx.config.proxy.workers(),
    };
    let http_listener = http_listener
        .into_std()
        .map_err(listen("http", bound.http.to_string()))?;
    let https_listener = https_listener
        .into_std()
        .map_err(listen("https", bound.https.to_string()))?;
    tracker.spawn(crate::proxy::serve(http_listener, proxy.clone(), None));
    tracker.spawn(crate::proxy::serve(
        https_listener,
        proxy,
        Some(ctx.certs.clone()),
    ));
    tracker.spawn(crate::control::serve(
        control_listener,
        ctx.clone(),
        shutdown.clone(),
        tracker.clone(),
    ));
    tracing::info!(ssh = %bound.ssh, http = %bound.http, control = %bound.control.display(), "berth daemon ready");
    on_ready(&bound);

    shutdown.cancelled().await;
    tracing::info!("shutting down: finishing in-flight requests and deploys");
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(60), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some sessions were still open after 60s; exiting anyway");
    }
    let _ = std::fs::remove_file(&control_path);
    Ok(())
}
