//! What every command and front end shares: config, state, the scheduler, routes, pushes.
//! Built once by the daemon and passed explicitly (`Arc<Ctx>`); there are no globals.

use std::sync::{Arc, Weak};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::deploy::{Builds, DeployLocks};
use crate::git::PushRegistry;
use crate::names::AppName;
use crate::proxy::{CertStore, Routes};
use crate::scheduler::{ImageBuilder, Scheduler};
use crate::state::{AppRecord, StateError, Store};
use crate::urls::{MainPorts, Tls};

/// The limits every proxied request gets, from `[proxy]`.
pub fn proxy_limits(config: &Config) -> crate::proxy::Limits {
    use std::time::Duration;
    let proxy = &config.proxy;
    crate::proxy::Limits {
        hold: Duration::from_secs(proxy.hold_timeout_secs),
        read_timeout: Duration::from_secs(proxy.read_timeout_secs),
        header_timeout: Duration::from_secs(proxy.client_header_timeout_secs),
        max_body: proxy.client_max_body_size.bytes(),
        body_timeout: Duration::from_secs(proxy.client_body_timeout_secs),
        send_timeout: Duration::from_secs(proxy.send_timeout_secs),
        max_header: proxy.client_max_header_size.bytes() as u32,
        keepalive_drain: Duration::from_secs(proxy.keepalive_drain_secs),
        gzip: proxy.gzip,
    }
}

pub struct Ctx {
    pub config: Config,
    pub store: Store,
    pub scheduler: Arc<dyn Scheduler>,
    pub builder: Arc<dyn ImageBuilder>,
    pub routes: Arc<Routes>,
    /// Which certificate the HTTPS listener shows for which host.
    pub certs: Arc<CertStore>,
    /// The latest access log lines per app (`nginx:access-logs`).
    pub access_logs: Arc<crate::proxy::RecentAccess>,
    /// Listeners for `ports:*` mappings beyond the main HTTP and HTTPS ones.
    pub listeners: crate::proxy::ExtraListeners,
    /// Orders certificates by ACME (`letsencrypt:*` and the renewal loop).
    pub acme: crate::acme::Issuer,
    /// The ports the main listeners are bound to (redirects and URLs name them unless 80/443).
    pub main_ports: MainPorts,
    pub pushes: Arc<PushRegistry>,
    /// The audit log (`events`).
    pub events: crate::events::EventLog,
    /// SSH commands and pushes running now (`ssh-keys:sessions`).
    pub sessions: Arc<crate::sessions::Sessions>,
    /// Deploy counts and the instances' latest sample, for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Web instances' liveness, as the liveness loop last found it (`ps:report`).
    pub health: crate::deploy::HealthBoard,
    pub deploy_locks: DeployLocks,
    /// The build slots, and the builds running or waiting for one (`builds:*`).
    pub builds: Builds,
    /// Instances waiting out `wait-to-retire`, never taken back into service.
    pub retiring: crate::deploy::Retiring,
    /// Held by a command while it reads settings, checks them (against every app's, for
    /// domains and ports) and writes them back, so two such commands never interleave and
    /// neither's change is lost (`Ctx::edit`).
    pub edits: std::sync::Mutex<()>,
    /// The installed plugins (an index in memory; `plugin:*` changes it).
    pub plugins: Arc<crate::plugins::Registry>,
    /// Background work (retiring old instances) runs here and ends with `shutdown`.
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    /// This context itself, for background work that must outlive a borrow (the watch window).
    pub this: Weak<Ctx>,
}

impl Ctx {
    /// The hosts an app answers to: `<app>.<global_domain>`.
    /// The hosts the proxy routes to `app` now (see `domains`).
    pub fn app_hosts(&self, app: &AppName) -> Vec<String> {
        let globals = self.global_domains();
        match self.store.app(app) {
            Ok(record) => crate::domains::routed_hosts(&record, &globals),
            Err(_) => crate::domains::default_vhosts(app, &globals),
        }
    }

    /// The URLs the app answers on (see `urls`).
    pub fn app_urls(&self, app: &AppName) -> Vec<String> {
        let Ok(record) = self.store.app(app) else {
            return Vec::new();
        };
        let tls = match (self.store.cert(app), record.tls.redirect_disabled) {
            (Ok(Some(_)), false) => Tls::Redirect,
            (Ok(Some(_)), true) => Tls::Both,
            _ => Tls::None,
        };
        let maps = crate::ports::parse_all(&record.ports);
        crate::urls::app_urls(&self.app_hosts(app), &maps, tls, self.main_ports)
    }

    /// Installs what the proxy enforces for `app` (basic auth, TLS redirects) from its record.
    pub fn refresh_policy(&self, app: &AppName) {
        if let Ok(record) = self.store.app(app) {
            let has_cert = matches!(self.store.cert(app), Ok(Some(_)));
            let global = self.store.global();
            let mut policy =
                crate::routing::policy(&record, &global, has_cert, self.main_ports.https);
            match self.store.maintenance_page(app) {
                Ok(Some(page)) => {
                    policy.maintenance_page = Some(page.html.into());
                    policy.maintenance_assets = Arc::new(
                        page.assets
                            .into_iter()
                            .map(|(path, data)| (path, data.into()))
                            .collect(),
                    );
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(app = %app, error = %err, "cannot read the maintenance page")
                }
            }
            self.routes.set_policy(app, policy);
        }
    }

    /// Every app's port mappings.
    pub fn port_maps(&self) -> Vec<(AppName, Vec<crate::ports::PortMap>)> {
        self.store
            .apps()
            .into_iter()
            .map(|record| (record.name, crate::ports::parse_all(&record.ports)))
            .collect()
    }

    /// Brings the extra listeners in line with the stored mappings (at start, after a rename or
    /// a destroy, after a failed store); one that cannot open is logged and the others serve.
    pub fn reopen_ports(&self) {
        if let Err(err) = self.open_ports(&self.port_maps()) {
            tracing::error!(error = %err, "cannot open every mapped port; the others serve");
        }
    }

    /// Opens the extra listeners `apps`' mappings need and closes the others; an app whose
    /// proxy is disabled (`proxy:disable`) keeps its mappings but gets no listener. When one
    /// cannot be opened, none changes.
    pub fn open_ports(
        &self,
        apps: &[(AppName, Vec<crate::ports::PortMap>)],
    ) -> Result<(), crate::proxy::ListenError> {
        let served: Vec<_> = apps
            .iter()
            .filter(|(app, _)| !self.store.app(app).is_ok_and(|r| r.proxy_disabled))
            .cloned()
            .collect();
        self.listeners.reconcile(&crate::proxy::wanted(&served))
    }

    /// Serves the app's stored certificate (or none) and the HTTPS policy that follows from it.
    pub fn refresh_tls(&self, app: &AppName) {
        self.refresh_certs();
        self.refresh_policy(app);
    }

    /// Points the app at its current hosts (after a domains change), with their certificates.
    pub fn reroute_hosts(&self, app: &AppName) {
        self.routes.set_hosts(app, &self.app_hosts(app));
        self.refresh_certs();
    }

    /// Rebuilds the host → certificate table from every app's certificate and hosts.
    pub fn refresh_certs(&self) {
        let globals = self.global_domains();
        let mut entries = std::collections::HashMap::new();
        for record in self.store.apps() {
            let Ok(Some(pem)) = self.store.cert(&record.name) else {
                continue;
            };
            match crate::certs::load(&pem.crt, &pem.key) {
                Ok(bundle) => {
                    for host in crate::domains::routed_hosts(&record, &globals) {
                        entries.insert(host, bundle.key.clone());
                    }
                }
                Err(err) => {
                    tracing::error!(app = %record.name, error = %err, "unusable stored certificate")
                }
            }
        }
        self.certs.replace(entries);
    }

    pub fn global_domains(&self) -> Vec<String> {
        crate::domains::global_domains(&self.store.global(), &self.config)
    }

    /// The seconds old instances of `app` keep running after a switch.
    /// Whether the app's web instances get the default probe as a liveness check.
    pub fn liveness_probe(&self, app: &AppRecord) -> bool {
        app.checks
            .liveness_probe
            .or(self.store.global().liveness_probe)
            .unwrap_or(false)
    }

    pub fn wait_to_retire(&self, app: &AppRecord) -> u64 {
        app.checks
            .wait_to_retire
            .or(self.store.global().wait_to_retire)
            .unwrap_or(self.config.deploy.wait_to_retire_secs)
    }

    /// Where `app`'s code sits in its repository: deploy branch, build directory, Dockerfile
    /// and Procfile.
    pub fn source_spec(&self, app: &AppName) -> Result<crate::git::SourceSpec, StateError> {
        let record = self.store.app(app)?;
        let global = self.store.global();
        Ok(crate::git::SourceSpec {
            branch: crate::git::DeployBranch::of(&record.git, &global.git),
            build_dir: record.builder.build_dir,
            dockerfile: record
                .builder
                .dockerfile_path
                .or(global.builder_dockerfile_path)
                .unwrap_or_else(|| "Dockerfile".to_string()),
            procfile: record
                .procfile_path
                .unwrap_or_else(|| "Procfile".to_string()),
            max_context: self.config.build.max_context_size.bytes(),
            contexts: self.store.layout().contexts_dir(),
        })
    }

    /// How long a retiring instance of `app` gets between SIGTERM and SIGKILL.
    pub fn stop_timeout(&self, app: &AppRecord) -> std::time::Duration {
        let secs = app
            .stop_timeout_secs
            .unwrap_or(self.config.deploy.stop_timeout_secs);
        std::time::Duration::from_secs(secs)
    }

    /// A context on `config`'s data dir with `engine` as scheduler and builder, no listeners and
    /// no background work beyond what a test starts: what `cargo test --lib` runs the deploy
    /// pipeline and the commands against, without Docker.
    #[cfg(test)]
    pub fn for_tests<E: Scheduler + ImageBuilder + 'static>(
        config: Config,
        engine: Arc<E>,
    ) -> Arc<Ctx> {
        let store = Store::open(&config.data_dir).expect("open the test data dir");
        let plugins = Arc::new(crate::plugins::Registry::load(
            store.layout().plugins_dir(),
            store.layout().plugin_data_dir(),
            &store.global().plugins_disabled,
        ));
        let challenges = Arc::new(crate::proxy::Challenges::default());
        let routes = Arc::new(Routes::default());
        let certs = Arc::new(CertStore::default());
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let proxy = crate::proxy::Proxy {
            routes: routes.clone(),
            access_log: crate::proxy::AccessLogSink::off(),
            challenges: challenges.clone(),
            limits: proxy_limits(&config),
            shutdown: shutdown.clone(),
            tracker: tracker.clone(),
            extra: false,
            workers: 0,
            auth: crate::proxy::AuthGuard::for_this_host(0),
        };
        let events = crate::events::EventLog::new(store.layout().events_file());
        Arc::new_cyclic(|this| Ctx {
            acme: crate::acme::Issuer::new(store.layout().acme_dir(), None, challenges),
            access_logs: proxy.access_log.recent(),
            listeners: crate::proxy::ExtraListeners::new(
                std::net::Ipv4Addr::LOCALHOST.into(),
                proxy,
                certs.clone(),
                Vec::new(),
            ),
            builds: Builds::new(config.build.concurrent),
            config,
            store,
            scheduler: engine.clone(),
            builder: engine,
            routes,
            certs,
            main_ports: MainPorts {
                http: 80,
                https: 443,
            },
            pushes: Arc::default(),
            events,
            sessions: Arc::default(),
            metrics: Default::default(),
            health: Default::default(),
            deploy_locks: DeployLocks::default(),
            retiring: Default::default(),
            edits: Default::default(),
            plugins,
            tracker,
            shutdown,
            this: this.clone(),
        })
    }

    /// Takes the edits lock (see `edits`). A plain mutex, so that clippy's `await_holding_lock`
    /// refuses any await while it is held: a client that stops reading a command's output
    /// cannot hold up everyone's edits.
    pub fn edit(&self) -> std::sync::MutexGuard<'_, ()> {
        self.edits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fires `alert`'s trigger as the daemon's own work (`notify` delivers it; its output goes
    /// to the log only, and a failing plugin is the plugin's business).
    pub async fn alert(&self, alert: &crate::alerts::Alert) {
        tracing::warn!(app = %alert.app, trigger = alert.trigger, firing = alert.firing, message = %alert.message, "alert");
        let Ok(app) = AppName::parse(&alert.app) else {
            return;
        };
        let mut io = crate::io::Io::detached(self.shutdown.child_token());
        let caller = crate::caller::Caller::Watch;
        let _ = self
            .trigger(alert.trigger, &alert.args(), Some(&app), &caller, &mut io)
            .await;
    }

    /// Fires the plugin trigger `name` with `args` for what `caller` does to `app` (its output
    /// on `io`); only an aborting trigger's failure (`pre-*`) is returned.
    pub async fn trigger(
        &self,
        name: &'static str,
        args: &[String],
        app: Option<&AppName>,
        caller: &crate::caller::Caller,
        io: &mut crate::io::Io,
    ) -> Result<(), crate::plugins::TriggerFailed> {
        let mut env = vec![("BERTH_KEY", caller.to_string())];
        if let Some(app) = app {
            env.push(("BERTH_APP", app.to_string()));
        }
        let trigger = crate::plugins::Trigger {
            name,
            args,
            env: &env,
        };
        crate::plugins::fire(&self.plugins, &trigger, self.store.layout().root(), io).await
    }

    /// Registers a new app; its host routes (to a 502) until the first deploy.
    pub fn create_app(&self, app: &AppName) -> Result<AppRecord, StateError> {
        let record = self.store.create_app(app)?;
        self.routes.set_app(app, &self.app_hosts(app), Vec::new());
        Ok(record)
    }
}
