//! `berth daemon`: opens state, connects to Docker, re-adopts running apps, then serves the three
//! listeners (SSH, HTTP proxy, control socket) in one runtime under one shutdown tree.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::context::Ctx;
use crate::deploy::{
    adopt_running, arm_expiries, follow_restarts, restore_idle_apps, Builds, DeployLocks,
};
use crate::docker::DockerEngine;
use crate::git::{install_hook, GitError, PushRegistry};
use crate::handoff::{Handoff, HandoffError, Inherited};
use crate::proxy::{CertStore, Routes};
use listeners::Listeners;

mod listeners;
use crate::scheduler::SchedulerError;
use crate::ssh::KeyError;
use crate::state::{DataDirLock, StateError};
use crate::urls::MainPorts;

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
    #[error("cannot link berth and dokku for plugins: {0}")]
    PluginPath(std::io::Error),
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    #[error("cannot open the access log {path}: {source}")]
    AccessLog {
        path: String,
        source: std::io::Error,
    },
}

/// Where the daemon ended up listening (ports may have been 0 in the config).
#[derive(Debug, Clone)]
pub struct Bound {
    pub ssh: SocketAddr,
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub control: PathBuf,
    /// The admin listener (`/metrics`), if `[admin] listen` asks for one.
    pub admin: Option<SocketAddr>,
}

/// Allocations of 256 KiB and more get their own mappings, returned to the system when freed.
/// glibc otherwise raises that threshold each time such a block is freed, after which large,
/// short-lived buffers (access log batches held a second for ordering, gzip and build output)
/// come from the heap and pin it: under gzip-compressed load the daemon sat at 85 MiB instead
/// of 35 (bench/proxy.sh's gzip run; docs/benchmarks.md). Setting the threshold turns that
/// adjustment off.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes a tuning parameter of the allocator; no allocation is touched.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

/// The Docker engine, waited for while it does not answer (a host booting starts Berth before
/// dockerd is up), saying so; `None` if shut down meanwhile.
async fn connect_engine(config: &Config, shutdown: &CancellationToken) -> Option<DockerEngine> {
    let mut pause = std::time::Duration::from_millis(500);
    let mut said = None;
    loop {
        match DockerEngine::connect(&config.docker_host, &config.deploy.network).await {
            Ok(engine) => {
                if said.is_some() {
                    tracing::info!(docker_host = %config.docker_host, "the Docker engine answers; starting");
                }
                return Some(engine);
            }
            Err(err) => {
                let message = err.to_string();
                if said.as_ref() != Some(&message) {
                    tracing::warn!(error = %message, "waiting for the Docker engine before serving");
                    said = Some(message);
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    }
}

/// Runs until `shutdown` fires (or a successor took over, on SIGUSR2); `on_ready` is told the
/// bound addresses once serving. `inherited` holds listeners a predecessor handed over.
pub async fn run(
    config: Config,
    mut inherited: Inherited,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(&Bound),
) -> Result<(), DaemonError> {
    return_large_allocations();
    // Locked before the store opens: opening tidies the data dir (leftover build contexts),
    // which must never happen under a daemon that serves it.
    let data_dir_lock = DataDirLock::acquire(
        &crate::state::Layout::new(&config.data_dir),
        inherited.fd(LOCK_FD),
    )?;
    let store = crate::state::Store::open(&config.data_dir)?;
    let host_key = crate::ssh::load_or_create_host_key(&config.host_key())?;
    let Some(engine) = connect_engine(&config, &shutdown).await else {
        return Ok(());
    };
    let exe = std::env::current_exe().map_err(DaemonError::Exe)?;
    install_hook(store.layout(), &exe)?;

    let control_path = config.control_socket();
    let mut listeners = Listeners::open(&config, &mut inherited).await?;
    let mut bound = listeners.bound(&control_path)?;
    let admin = crate::admin::bind(&config.admin.listen)?;
    bound.admin = admin.as_ref().and_then(|l| l.local_addr().ok());
    let mut passed = std::mem::take(&mut listeners.handoff);
    match data_dir_lock.share() {
        Ok(fd) => passed.push((LOCK_FD, fd)),
        Err(err) => {
            tracing::warn!(error = %err, "cannot share the data dir lock; no graceful handoff")
        }
    }
    let handoff = Arc::new(Handoff {
        exe: exe.clone(),
        args: std::env::args_os().skip(1).collect(),
        listeners: passed,
    });

    let tracker = TaskTracker::new();
    let challenges = Arc::new(crate::proxy::Challenges::default());
    let acme = crate::acme::Issuer::new(
        store.layout().acme_dir(),
        config.acme.ca_file.clone(),
        challenges.clone(),
    );
    let routes = Arc::new(Routes::default());
    let certs = Arc::new(CertStore::default());
    let access_log = crate::proxy::AccessLogSink::open(
        &crate::proxy::AccessLogDestination::from_setting(&config.proxy.access_log),
        match config.proxy.access_log_format {
            crate::config::AccessLogFormat::Berth => crate::proxy::AccessLogFormat::Berth,
            crate::config::AccessLogFormat::Combined => crate::proxy::AccessLogFormat::Combined,
        },
    )
    .map_err(|source| DaemonError::AccessLog {
        path: config.proxy.access_log.clone(),
        source,
    })?;
    let access_logs = access_log.recent();
    let proxy = crate::proxy::Proxy {
        routes: routes.clone(),
        access_log,
        challenges,
        limits: crate::context::proxy_limits(&config),
        extra: false,
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        workers: config.proxy.workers(),
        auth: crate::proxy::AuthGuard::for_this_host(config.proxy.auth_failures_per_minute),
    };
    let extra_listeners = crate::proxy::ExtraListeners::new(
        bound.http.ip(),
        proxy.clone(),
        certs.clone(),
        inherited.tcp_named("port-"),
    );
    let concurrent_builds = config.build.concurrent;
    if let Err(err) = crate::plugins::install_bundled(&store.layout().plugins_dir()) {
        tracing::error!(error = %err, "cannot install the bundled plugins");
    }
    let plugins = crate::plugins::Registry::load(
        store.layout().plugins_dir(),
        store.layout().plugin_data_dir(),
        &store.global().plugins_disabled,
    )
    .with_cli(
        &store.layout().bin_dir(),
        &exe,
        &control_path,
        store.layout().root(),
    )
    .map_err(DaemonError::PluginPath)?;
    let plugins = Arc::new(plugins);
    let events = crate::events::EventLog::new(store.layout().events_file());
    let engine = Arc::new(engine);
    let ctx = Arc::new_cyclic(|this: &std::sync::Weak<Ctx>| Ctx {
        config,
        store,
        scheduler: engine.clone(),
        builder: engine,
        routes,
        certs: certs.clone(),
        access_logs,
        listeners: extra_listeners,
        acme,
        main_ports: MainPorts {
            http: bound.http.port(),
            https: bound.https.port(),
        },
        pushes: Arc::new(PushRegistry::default()),
        events,
        sessions: Arc::default(),
        metrics: Default::default(),
        health: Default::default(),
        deploy_locks: DeployLocks::default(),
        builds: Builds::new(concurrent_builds),
        retiring: Default::default(),
        edits: Default::default(),
        plugins,
        tracker: tracker.clone(),
        shutdown: shutdown.clone(),
        this: this.clone(),
    });
    adopt_running(&ctx).await?;
    arm_expiries(&ctx).await?;
    for app in ctx.store.app_names() {
        ctx.refresh_policy(&app);
    }
    ctx.refresh_certs();
    if let Err(err) = crate::ssh::sync_authorized_keys(&ctx) {
        tracing::error!(error = %err, "cannot write the authorized_keys file");
    }
    tracker.spawn(restore_idle_apps(ctx.clone()));

    tracker.spawn(follow_restarts(ctx.clone()));
    tracker.spawn(crate::deploy::watch_liveness(ctx.clone()));
    tracker.spawn(crate::cron::run_loop(ctx.clone()));
    tracker.spawn(crate::acme::run_loop(ctx.clone()));
    tracker.spawn(crate::ssh::serve(
        listeners.ssh,
        host_key,
        ctx.clone(),
        shutdown.clone(),
        tracker.clone(),
    ));
    tracker.spawn(crate::proxy::serve(listeners.http, proxy.clone(), None));
    tracker.spawn(crate::proxy::serve(listeners.https, proxy, Some(certs)));
    ctx.reopen_ports();
    tracker.spawn(crate::control::serve(
        listeners.control,
        ctx.clone(),
        shutdown.clone(),
        tracker.clone(),
    ));
    if let Some(listener) = admin {
        tracker.spawn(crate::admin::serve(listener, ctx.clone(), shutdown.clone()));
    }
    // Alerts need samples whether or not anything scrapes them.
    tracker.spawn(crate::admin::run_sampler(ctx.clone()));
    // SIGUSR2's default action kills the process: listen for it before announcing readiness.
    let usr2 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined2());
    let handed_off = Arc::new(std::sync::atomic::AtomicBool::new(false));
    match usr2 {
        Ok(signals) => {
            tracker.spawn(hand_over_on_signal(
                ctx.clone(),
                signals,
                handoff,
                handed_off.clone(),
            ));
        }
        Err(err) => tracing::warn!(error = %err, "cannot listen for SIGUSR2; no graceful handoff"),
    }
    write_pid_file(&ctx);
    tracing::info!(ssh = %bound.ssh, http = %bound.http, control = %bound.control.display(), "berth daemon ready");
    on_ready(&bound);
    inherited.notify_ready();

    shutdown.cancelled().await;
    tracing::info!("shutting down: finishing in-flight requests and deploys");
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(60), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some sessions were still open after 60s; exiting anyway");
    }
    if !handed_off.load(std::sync::atomic::Ordering::SeqCst) {
        let _ = std::fs::remove_file(&control_path);
        let _ = std::fs::remove_file(ctx.store.layout().pid_file());
    }
    drop(data_dir_lock);
    Ok(())
}

/// The name under which a successor inherits the data dir lock.
const LOCK_FD: &str = "data-dir-lock";

fn write_pid_file(ctx: &Ctx) {
    let path = ctx.store.layout().pid_file();
    let pid = format!("{}\n", std::process::id());
    if let Err(err) = crate::state::write_atomic(&path, pid.as_bytes(), 0o644) {
        tracing::warn!(path = %path.display(), error = %err, "cannot write the pid file");
    }
}

/// How long a handoff waits for running deploys (new ones are refused meanwhile).
const DEPLOYS_WAIT: Duration = Duration::from_secs(600);

/// On SIGUSR2: start a successor with the listeners, and once it serves, shut down gracefully
/// (the successor keeps the sockets, so no connection is refused meanwhile).
async fn hand_over_on_signal(
    ctx: Arc<Ctx>,
    mut signals: tokio::signal::unix::Signal,
    handoff: Arc<Handoff>,
    handed_off: Arc<std::sync::atomic::AtomicBool>,
) {
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = signals.recv() => {}
        }
        if ctx.deploy_locks.any_held() {
            tracing::info!("SIGUSR2: waiting for the running deploys before handing over");
        }
        if !ctx.deploy_locks.pause(DEPLOYS_WAIT).await {
            tracing::warn!(error = %HandoffError::Busy(DEPLOYS_WAIT), "handoff refused");
            continue;
        }
        tracing::info!(exe = %handoff.exe.display(), "SIGUSR2: handing the listeners to a new process");
        // The successor reads the state as it starts: from now on this process writes none.
        ctx.store.freeze();
        let starting = handoff.clone();
        let more = ctx.listeners.handoff();
        let started = tokio::task::spawn_blocking(move || {
            starting.start_successor(&more, Duration::from_secs(60))
        })
        .await;
        match started {
            Ok(Ok(pid)) => {
                tracing::info!(
                    successor = pid,
                    "the new process serves; finishing in-flight work"
                );
                handed_off.store(true, std::sync::atomic::Ordering::SeqCst);
                ctx.shutdown.cancel();
                return;
            }
            Ok(Err(err)) => {
                tracing::error!(error = %err, "handoff failed; this process keeps serving")
            }
            Err(err) => {
                tracing::error!(error = %err, "handoff task failed; this process keeps serving")
            }
        }
        ctx.store.thaw();
        ctx.deploy_locks.resume();
    }
}
