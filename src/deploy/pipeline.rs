//! One deploy from start to switch, for any `Source`.

use crate::proxy::Upstream;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::checks::{check_instances, Occasion};
use super::prepare::{prepare, Source};
use super::retire::{prune_images, retire_later, retire_now};
use super::watch::watch;
use super::{stage, DeployError, Stage, Wait};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::scheduler::{
    Instance, InstanceNetworks, InstanceSpec, Limits, RegistryAuth, RestartPolicy, SchedulerKind,
    SecretFile,
};
use crate::state::{AppRecord, GlobalSettings, Release, StateError};

/// Who deploys what to which app, and whether to wait for a deploy already running.
#[derive(Debug)]
pub struct DeployRequest {
    pub app: AppName,
    pub caller: Caller,
    pub source: Source,
    pub wait: Wait,
}

/// Runs the whole pipeline under the app's deploy lock; returns the release now running.
pub async fn deploy(ctx: &Ctx, request: DeployRequest, io: &mut Io) -> Result<u32, DeployError> {
    let _lock = ctx
        .deploy_locks
        .acquire(&request.app, io, request.wait)
        .await?;
    let record = ctx.store.app(&request.app)?;
    if record.locked && request.caller != Caller::Watch {
        return Err(DeployError::Refused(format!(
            "App {} is locked; unlock it first: apps:unlock {}",
            request.app, request.app
        )));
    }
    let number = record.next_release_number();
    let span =
        tracing::info_span!("deploy", app = %request.app, release = number, by = %request.caller);
    let app = request.app.clone();
    let mut failed_env = vec![
        ("BERTH_APP", app.to_string()),
        ("BERTH_RELEASE", number.to_string()),
        ("BERTH_KEY", request.caller.to_string()),
    ];
    if let Source::Push(checkout) | Source::Rebuild(checkout) = &request.source {
        failed_env.push(("BERTH_REV", checkout.rev.clone()));
    }
    let started = std::time::Instant::now();
    let deployed = run(ctx, request, number, started, io)
        .instrument(span)
        .await;
    ctx.metrics.deployed(
        app.as_str(),
        deployed.is_ok(),
        started.elapsed().as_secs_f64(),
    );
    if let Err(err) = &deployed {
        let args = [app.to_string(), number.to_string(), err.to_string()];
        failed_env.push(super::triggers::duration(started));
        let _ = super::triggers::fire(ctx, "deploy-failed", &args, &failed_env, io).await;
    }
    return_freed_memory();
    deployed
}

/// Gives the heap a deploy freed back to the system. A build's context, output and image
/// metadata are large and short-lived, and glibc's allocator otherwise keeps what was freed in
/// its per-thread arenas: a daemon that had served an hour of pushes sat at ten times its
/// fresh RSS with one app.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; no live allocation moves.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Fails with `Abandoned` if the client hangs up before `work` is done.
async fn unless_hung_up<T>(
    hangup: &CancellationToken,
    work: impl Future<Output = Result<T, DeployError>>,
) -> Result<T, DeployError> {
    tokio::select! {
        _ = hangup.cancelled() => Err(DeployError::Abandoned),
        result = work => result,
    }
}

async fn run(
    ctx: &Ctx,
    request: DeployRequest,
    number: u32,
    began: std::time::Instant,
    io: &mut Io,
) -> Result<u32, DeployError> {
    let app = request.app;
    let caller = request.caller;
    let record = ctx.store.app(&app)?;
    let previous = record.current_release;
    let hangup = io.hangup.clone();

    stage(Stage::Prepare);
    let prepared = unless_hung_up(
        &hangup,
        prepare(ctx, &record, number, &caller, request.source, io),
    )
    .await?;
    let mut release = prepared.release;
    let only = prepared.only.as_deref();
    let formation = only_process(record.formation_for(&release), only, &app)?;
    // A restart of one process type other than web leaves the route alone.
    let routes_web = only.is_none_or(|process| process == "web");

    stage(Stage::Release);
    let releasing = std::time::Instant::now();
    if prepared.is_new {
        io.step(&format!("Releasing {app} (v{})...", release.number))
            .await;
    }
    if let Some(script) = &release.predeploy {
        let status = unless_hung_up(
            &hangup,
            run_script(ctx, &record, &release, "predeploy", script, &hangup, io),
        )
        .await?;
        if status != 0 {
            return Err(DeployError::Script {
                phase: "predeploy",
                status,
            });
        }
    }
    let trigger_env = super::triggers::env(&release, app.as_str());
    if prepared.is_new {
        let args = [app.to_string(), release.image.clone()];
        super::triggers::fire(ctx, "post-release", &args, &trigger_env, io).await?;
    }
    if prepared.is_new {
        let what = format!("Releasing {app} (v{})", release.number);
        super::timed(io, &what, releasing).await;
    }
    let pushed_before = release.pushed.clone();
    unless_hung_up(
        &hangup,
        super::push::push_if_needed(ctx, &record, &mut release, io),
    )
    .await?;
    let args = [app.to_string(), release.image.clone()];
    unless_hung_up(
        &hangup,
        super::triggers::fire(ctx, "pre-deploy", &args, &trigger_env, io),
    )
    .await?;
    let old: Vec<Instance> = ctx
        .scheduler
        .instances(Some(&app))
        .await?
        .into_iter()
        .filter(|instance| only.is_none_or(|process| instance.process == process))
        .collect();
    let stop_first = routes_web && record.checks.is_disabled("web");
    if stop_first && !old.is_empty() {
        io.step("Checks are disabled: stopping the running release first (requests are held)")
            .await;
        ctx.routes.hold(&app, &ctx.app_hosts(&app));
        retire_now(ctx, &old, ctx.stop_timeout(&record)).await;
    }

    stage(Stage::Start);
    let deploying = std::time::Instant::now();
    io.step(&format!("Deploying {app} (v{})...", release.number))
        .await;
    let mut started = Vec::new();
    let started_and_checked = async {
        let upstreams = start_and_check(
            ctx,
            &app,
            &release,
            &formation,
            !record.checks.is_skipped("web"),
            &hangup,
            &mut started,
            io,
        )
        .await?;
        for instance in &started {
            let args = check_deploy_args(&app, &release, instance);
            let check = super::triggers::fire(ctx, "check-deploy", &args, &trigger_env, io);
            unless_hung_up(&hangup, check).await?;
        }
        Ok::<_, DeployError>(upstreams)
    };
    let upstreams = match started_and_checked.await {
        Ok(upstreams) => {
            let what = format!("Deploying {app} (v{})", release.number);
            super::timed(io, &what, deploying).await;
            upstreams
        }
        Err(err) => {
            discard(ctx, &started).await;
            if stop_first && !old.is_empty() {
                restore_previous(ctx, &app, only, io).await;
            }
            return Err(err);
        }
    };

    stage(Stage::Switch);
    let checks_passed = std::time::Instant::now();
    let rollback = prepared.rollback;
    let saved = ctx.store.update_app(&app, |now| {
        if prepared.is_new {
            now.releases.push(release.clone());
            now.current_release = Some(release.number);
            // A rollback brings back that release's config too, as on Heroku; config set while
            // it ran was acknowledged, so it is applied on top (its own restart follows).
            if rollback {
                now.env = with_changes(&release.env, &record.env, &now.env);
            }
        } else if release.pushed != pushed_before {
            // A restart that pushed a release made before the registry was set.
            if let Some(stored) = now.releases.iter_mut().find(|r| r.number == release.number) {
                stored.pushed = release.pushed.clone();
            }
        }
        now.stopped = false;
    });
    let record = match saved {
        Ok((record, ())) => record,
        Err(err) => {
            discard(ctx, &started).await;
            if stop_first && !old.is_empty() {
                restore_previous(ctx, &app, only, io).await;
            }
            return Err(err.into());
        }
    };
    if routes_web {
        ctx.routes.set_app(&app, &ctx.app_hosts(&app), upstreams);
    }
    let checks_to_switch_us =
        u64::try_from(checks_passed.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(checks_to_switch_us, "proxy switched");
    super::follow::recheck(ctx, &app).await;
    let web = started.iter().find(|i| i.process == "web");
    let ip = web.and_then(|i| i.address).map(|ip| ip.to_string());
    let args = [
        app.to_string(),
        release.port.to_string(),
        ip.unwrap_or_default(),
        release.image.clone(),
    ];
    let mut trigger_env = trigger_env;
    trigger_env.push(super::triggers::duration(began));
    super::triggers::fire(ctx, "post-deploy", &args, &trigger_env, io).await?;

    stage(Stage::Retire);
    if !old.is_empty() && !stop_first {
        let delay = ctx.wait_to_retire(&record);
        io.detail(&format!(
            "Old instances keep serving in-flight requests for {delay}s, then stop"
        ))
        .await;
        retire_later(
            ctx,
            old,
            Duration::from_secs(delay),
            ctx.stop_timeout(&record),
        );
    }
    prune_images(ctx, &record).await;
    if let Some(script) = &release.postdeploy {
        let status = run_script(ctx, &record, &release, "postdeploy", script, &hangup, io).await?;
        if status != 0 {
            io.warn(&format!(
                "The postdeploy script failed with exit status {status}; v{} is live",
                release.number
            ))
            .await;
        }
    }
    // An automatic rollback is not watched itself: that could loop.
    if let (Some(previous), true, false) = (previous, prepared.is_new, caller == Caller::Watch) {
        if ctx.config.deploy.watch_secs > 0 {
            watch(ctx, &app, release.number, previous);
            io.detail(&format!(
                "Watching v{} for {}s: it rolls back to v{previous} by itself if requests fail",
                release.number, ctx.config.deploy.watch_secs
            ))
            .await;
        }
    }
    io.header("Application deployed:").await;
    for url in ctx.app_urls(&app) {
        io.detail(&url).await;
    }
    Ok(release.number)
}

/// `check-deploy`'s arguments, Dokku's: app, container id, process type, port, address, index.
fn check_deploy_args(app: &AppName, release: &Release, instance: &Instance) -> [String; 6] {
    [
        app.to_string(),
        instance.id.clone(),
        instance.process.clone(),
        release.port.to_string(),
        instance
            .address
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
        instance.index.to_string(),
    ]
}

/// `base` with the changes that turned `before` into `after` (keys set, changed or removed).
fn with_changes(
    base: &BTreeMap<String, String>,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut merged = base.clone();
    for (key, value) in after {
        if before.get(key) != Some(value) {
            merged.insert(key.clone(), value.clone());
        }
    }
    for key in before.keys().filter(|key| !after.contains_key(*key)) {
        merged.remove(key);
    }
    merged
}

/// The formation a deploy starts: all of it, or only the one process type a restart names.
fn only_process(
    formation: BTreeMap<String, u32>,
    only: Option<&str>,
    app: &AppName,
) -> Result<BTreeMap<String, u32>, DeployError> {
    let Some(process) = only else {
        return Ok(formation);
    };
    match formation.get(process) {
        Some(&count) if count > 0 => Ok([(process.to_string(), count)].into()),
        Some(_) => Err(DeployError::Refused(format!(
            "{app} runs no {process} processes (ps:scale {app} {process}=1 starts one)"
        ))),
        // A process type the release lacks, or a name none could have: one answer, as `logs -p`.
        None => Err(DeployError::Refused(crate::procfile::no_such_type(
            app,
            process,
            formation.keys(),
        ))),
    }
}

/// Starts every instance the formation asks for, then checks them (unless `checked` is false).
/// Started instances are pushed to `started` as they come up, so a failure can remove them.
/// Returns the web instances' upstreams.
#[allow(clippy::too_many_arguments)]
async fn start_and_check(
    ctx: &Ctx,
    app: &AppName,
    release: &Release,
    formation: &BTreeMap<String, u32>,
    checked: bool,
    hangup: &CancellationToken,
    started: &mut Vec<Instance>,
    io: &mut Io,
) -> Result<Vec<Upstream>, DeployError> {
    let settings = RunSettings::new(ctx, &ctx.store.app(app)?)?;
    for (process, count) in formation {
        for index in 1..=*count {
            let spec = instance_spec(app, release, process, index, &settings);
            let instance =
                unless_hung_up(hangup, async { Ok(ctx.scheduler.start(&spec).await?) }).await?;
            started.push(instance);
        }
    }
    let upstreams = if checked {
        unless_hung_up(
            hangup,
            check_instances(ctx, app, release, started, Occasion::Deploy, io),
        )
        .await?
    } else {
        io.detail("Zero downtime checks have been skipped").await;
        started
            .iter()
            .filter(|i| i.process == "web")
            .filter_map(|i| super::upstream(i, release.port))
            .collect()
    };
    super::networks::attach_post_deploy(ctx, &settings.record, started).await?;
    Ok(upstreams)
}

/// What every instance of an app shares beyond its release: global config, mounts, resources.
pub struct RunSettings {
    pub global: GlobalSettings,
    pub record: AppRecord,
    pub stop_timeout_secs: u64,
    /// The app's secrets, shown at `/run/secrets/<name>`.
    pub secrets: Vec<SecretFile>,
    /// The login for the registry the app's releases are pushed to, if one is stored.
    pub registry_auth: Option<RegistryAuth>,
}

impl RunSettings {
    /// The settings for a container about to be made; refused when a mount's source is not
    /// safe to mount now (checked at every container, since the disk changes under stored mounts).
    pub fn new(ctx: &Ctx, record: &AppRecord) -> Result<RunSettings, StateError> {
        for mount in &record.mounts {
            ctx.store.check_mount_source(&mount.host)?;
        }
        let secrets = record
            .secrets
            .keys()
            .map(|name| SecretFile {
                name: name.clone(),
                file: ctx.store.secret_file(&record.name, name),
            })
            .collect();
        let global = ctx.store.global();
        let registry = super::push::Registry::of(record, &global);
        let registry_auth = match registry.server {
            Some(server) => super::push::login_for(ctx, &server)?,
            None => None,
        };
        Ok(RunSettings {
            global,
            record: record.clone(),
            stop_timeout_secs: ctx.stop_timeout(record).as_secs(),
            secrets,
            registry_auth,
        })
    }

    /// The `docker-options` of `phase` (`deploy` for instances, `run` for one-off containers).
    pub fn options(&self, phase: &str) -> crate::options::ContainerOptions {
        crate::options::container_options(
            self.record
                .docker_options
                .get(phase)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        )
    }

    /// What runs the app's instances.
    pub fn scheduler(&self) -> SchedulerKind {
        SchedulerKind::named(self.record.scheduler_in(&self.global))
    }

    fn limits(&self, process: &str) -> Limits {
        let resources = self.record.resources_for(process);
        let bytes = |b: Option<u64>| b.and_then(|b| i64::try_from(b).ok());
        Limits {
            memory_bytes: bytes(resources.memory_limit),
            nano_cpus: resources.cpu_limit.map(|c| (c * 1e9) as i64),
            memory_reservation_bytes: bytes(resources.memory_reservation),
            cpu_shares: resources.cpu_reservation.map(|c| (c * 1024.0) as i64),
        }
    }
}

/// What to run for one instance of `release`: its image, the global config overlaid by the
/// app's, Berth's own vars, the Procfile command (through `/bin/sh -c`, as Heroku's bash), the
/// app's mounts and the process's resources.
pub fn instance_spec(
    app: &AppName,
    release: &Release,
    process: &str,
    index: u32,
    settings: &RunSettings,
) -> InstanceSpec {
    let mut env = settings.global.env_with(&release.env);
    env.insert("PORT".into(), release.port.to_string());
    env.insert("DYNO".into(), format!("{process}.{index}"));
    let rev_var = crate::git::rev_env_var(&settings.record.git, &settings.global.git);
    if let (Some(rev), Some(var)) = (&release.git_rev, rev_var) {
        env.insert(var, rev.clone());
    }
    let command = release
        .processes
        .get(process)
        .map(|command| vec!["/bin/sh".to_string(), "-c".to_string(), command.clone()]);
    let swarm = settings.scheduler() == SchedulerKind::DockerSwarm;
    // A Swarm service names its image where the swarm's other nodes can pull it.
    let image = match (&release.pushed, swarm) {
        (Some(pushed), true) => pushed.clone(),
        _ => release.image.clone(),
    };
    InstanceSpec {
        app: app.clone(),
        process: process.to_string(),
        index,
        release: release.number,
        image,
        env,
        command,
        binds: settings
            .record
            .mounts
            .iter()
            .map(|m| format!("{}:{}", m.host, m.container))
            .collect(),
        secrets: settings.secrets.clone(),
        limits: settings.limits(process),
        restart: settings
            .record
            .restart_policy
            .as_deref()
            .and_then(RestartPolicy::parse)
            .unwrap_or(RestartPolicy::OnFailure(10)),
        stop_timeout_secs: settings.stop_timeout_secs,
        options: settings.options("deploy"),
        log_max_size: settings
            .global
            .log_max_size(settings.record.logs_max_size.as_deref()),
        networks: InstanceNetworks {
            initial: settings.record.network.initial_network.clone(),
            post_create: settings.record.network.attach_post_create.clone(),
        },
        probe: super::checks::probe(&release.checks, process),
        placement: settings.record.swarm_placement.clone(),
        registry_auth: settings.registry_auth.clone().filter(|_| swarm),
        swarm,
    }
}

/// What to run for a one-off container of `release` (`run`, release scripts, cron): an
/// instance's spec with the run phase's docker options instead of the deploy phase's.
pub fn one_off_spec(
    app: &AppName,
    release: &Release,
    process: &str,
    index: u32,
    settings: &RunSettings,
) -> InstanceSpec {
    InstanceSpec {
        options: settings.options("run"),
        ..instance_spec(app, release, process, index, settings)
    }
}

/// Runs an app.json script in a one-off container of `release`, its output indented.
async fn run_script(
    ctx: &Ctx,
    record: &AppRecord,
    release: &Release,
    phase: &str,
    script: &str,
    stop: &CancellationToken,
    io: &mut Io,
) -> Result<i64, DeployError> {
    io.step(&format!("Running {phase} script: {script}")).await;
    let mut spec = one_off_spec(
        &record.name,
        release,
        phase,
        1,
        &RunSettings::new(ctx, record)?,
    );
    spec.command = Some(vec!["/bin/sh".into(), "-c".into(), script.to_string()]);
    Ok(ctx
        .scheduler
        .run_once(&spec, &mut IndentedOutput(io), stop)
        .await?)
}

/// Build (or script) output under the deploy's own steps: indented, except lines already in
/// Heroku's shape (`-----> step`, `       detail`, ` !     warning`), as buildpacks print them.
pub struct IndentedOutput<'a>(pub &'a mut Io);

#[async_trait::async_trait]
impl crate::scheduler::BuildOutput for IndentedOutput<'_> {
    async fn line(&mut self, text: &str) {
        if ["-----> ", "       ", " !     "]
            .iter()
            .any(|shape| text.starts_with(shape))
        {
            self.0.line(text).await;
        } else {
            self.0.detail(text).await;
        }
    }
}

/// Removes instances that never took traffic.
async fn discard(ctx: &Ctx, instances: &[Instance]) {
    for instance in instances {
        if let Err(err) = ctx.scheduler.retire(&instance.id, Duration::ZERO).await {
            tracing::warn!(id = %instance.id, error = %err, "could not remove a failed instance");
        }
    }
}

/// After a failed stop-first deploy: start the release that was serving again (only the process
/// type a restart of one type stopped, when `only` names it) and route to it.
async fn restore_previous(ctx: &Ctx, app: &AppName, only: Option<&str>, io: &mut Io) {
    let hosts = ctx.app_hosts(app);
    let Ok(record) = ctx.store.app(app) else {
        ctx.routes.set_app(app, &hosts, Vec::new());
        return;
    };
    let Some(current) = record.current() else {
        ctx.routes.set_app(app, &hosts, Vec::new());
        return;
    };
    io.step(&format!("Starting v{} again", current.number))
        .await;
    let settings = match RunSettings::new(ctx, &record) {
        Ok(settings) => settings,
        Err(err) => {
            tracing::error!(app = %app, error = %err, "could not restart the previous release");
            ctx.routes.set_app(app, &hosts, Vec::new());
            return;
        }
    };
    let mut upstreams = Vec::new();
    let formation = record.formation_for(current);
    let stopped = formation
        .iter()
        .filter(|(process, _)| only.is_none_or(|only| only == process.as_str()));
    for (process, count) in stopped {
        for index in 1..=*count {
            let spec = instance_spec(app, current, process, index, &settings);
            let started = ctx.scheduler.start(&spec).await;
            if let Ok(instance) = &started {
                let attached = super::networks::attach_post_deploy(
                    ctx,
                    &record,
                    std::slice::from_ref(instance),
                );
                if let Err(err) = attached.await {
                    tracing::error!(app = %app, error = %err, "could not attach the previous release's instance to its networks");
                }
            }
            match started {
                Ok(instance) if process == "web" => {
                    upstreams.extend(super::upstream(&instance, current.port))
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(app = %app, error = %err, "could not restart the previous release")
                }
            }
        }
    }
    ctx.routes.set_app(app, &hosts, upstreams);
}
