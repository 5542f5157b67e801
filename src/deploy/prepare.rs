//! The first stage: turn what the user asked to deploy into a release record with an image.

use std::collections::BTreeMap;

use super::pipeline::IndentedOutput;
use super::DeployError;
use crate::appjson::AppJson;
use crate::build::{
    build_with_buildpacks, buildpack_list, choose, BuilderKind, BuildpackBuild, Choice,
};
use crate::caller::Caller;
use crate::clock::now_unix;
use crate::context::Ctx;
use crate::git::{check_public, short, Checkout};
use crate::health::from_checks_file;
use crate::health::HealthCheck;
use crate::io::Io;
use crate::names::AppName;
use crate::scheduler::{image_tag, BuiltImage, DockerfileBuild, Pull};
use crate::state::{registry_host, registry_server_host, AppRecord, LoginKind, Release, Role};

/// The port a web process listens on when its image EXPOSEs none (or several): Dokku's default.
const DEFAULT_PORT: u16 = 5000;

/// What a deploy deploys.
#[derive(Debug)]
pub enum Source {
    /// A pushed commit (`git push`).
    Push(Checkout),
    /// The deploy branch again (`ps:rebuild`).
    Rebuild(Checkout),
    /// A prebuilt image (`git:from-image`), pulled if this host lacks it.
    Image(String),
    /// The image the current release was deployed from, pulled again (`ps:rebuild`).
    ImageAgain(String),
    /// An earlier release's image and config (`releases:rollback`, or the watch window).
    Rollback { target: u32, reason: Option<String> },
    /// The current release's image with the app's changed config (`config:set` and friends).
    Config { description: String },
    /// The current release again, in fresh containers, without a new release (`ps:restart`,
    /// `ps:start`); only the named process type's when one is named (`ps:restart <app> worker`).
    Restart(Option<String>),
}

/// What the prepare stage hands on: the release to run, and whether it is a new one.
pub struct Prepared {
    pub release: Release,
    pub is_new: bool,
    /// The one process type to replace (a restart of one type); `None`: all of them.
    pub only: Option<String>,
    /// A rollback, which brings back its release's config.
    pub rollback: bool,
}

/// Builds or finds the image and assembles release `number` (not saved yet).
pub async fn prepare(
    ctx: &Ctx,
    record: &AppRecord,
    number: u32,
    caller: &Caller,
    source: Source,
    io: &mut Io,
) -> Result<Prepared, DeployError> {
    let app = &record.name;
    let current = record.current();

    let rollback = matches!(source, Source::Rollback { .. });
    let mut release = Release {
        number,
        image: image_tag(app, number),
        git_rev: None,
        source_image: None,
        image_digest: None,
        pushed: None,
        created_at: now_unix(),
        created_by: caller.to_string(),
        port: DEFAULT_PORT,
        description: String::new(),
        env: record.env.clone(),
        formation: Default::default(),
        checks: Vec::new(),
        processes: current.map(|r| r.processes.clone()).unwrap_or_default(),
        predeploy: None,
        postdeploy: None,
        declared_formation: current
            .map(|r| r.declared_formation.clone())
            .unwrap_or_default(),
        cron: current.map(|r| r.cron.clone()).unwrap_or_default(),
    };
    let stale = match &source {
        Source::Push(_) | Source::Rebuild(_) | Source::Image(_) | Source::ImageAgain(_) => {
            ctx.builder.image_id(&release.image).await?
        }
        _ => None,
    };
    match source {
        Source::Push(checkout) => build(ctx, record, checkout, "Deploy", &mut release, io).await?,
        Source::Rebuild(checkout) => {
            build(ctx, record, checkout, "Rebuild", &mut release, io).await?
        }
        Source::Image(image) => {
            adopt(ctx, caller, app, image, Pull::IfMissing, &mut release, io).await?
        }
        Source::ImageAgain(image) => {
            adopt(ctx, caller, app, image, Pull::Again, &mut release, io).await?
        }
        Source::Restart(only) => {
            let Some(current) = current else {
                return Err(DeployError::Refused(format!("{app} has not been deployed")));
            };
            if current.env == record.env {
                let what = match &only {
                    Some(process) => format!("{app}'s {process} processes"),
                    None => app.to_string(),
                };
                io.step(&format!("Restarting {what} (v{})", current.number))
                    .await;
                return Ok(Prepared {
                    release: current.clone(),
                    is_new: false,
                    only,
                    rollback: false,
                });
            }
            // Every config change is a release (Heroku's rule), and it restarts every process.
            io.step(&format!(
                "Restarting {app} with the config set since v{} (config:set --no-restart)",
                current.number
            ))
            .await;
            release.take_code_from(current);
            release.description = "Restart with changed config".to_string();
        }
        Source::Config { description } => {
            let Some(current) = current else {
                return Err(DeployError::Refused(format!("{app} has not been deployed")));
            };
            io.step(&format!("Restarting {app} with the new config"))
                .await;
            release.take_code_from(current);
            release.description = description;
        }
        Source::Rollback { target, reason } => {
            let Some(old) = record.release(target) else {
                return Err(DeployError::Refused(format!(
                    "{app} has no release v{target}"
                )));
            };
            if ctx.builder.image_id(&old.image).await?.is_none() {
                return Err(DeployError::Refused(format!(
                    "The image of v{target} ({}) is gone: only the last {} releases keep theirs",
                    old.image, ctx.config.deploy.keep_releases
                )));
            }
            io.step(&format!("Rolling back {app} to v{target}")).await;
            if let Some(current) = current {
                for line in super::changes::rollback(current, old) {
                    io.detail(&line).await;
                }
            }
            release.take_code_from(old);
            release.env = old.env.clone();
            release.description = match reason {
                Some(reason) => format!("Automatic rollback to v{target}: {reason}"),
                None => format!("Rollback to v{target}"),
            };
        }
    }
    if let Some(stale) = stale {
        remove_if_replaced(ctx, &release.image, &stale).await;
    }
    if let Some(port) = crate::ports::container_port(&crate::ports::parse_all(&record.ports)) {
        release.port = port;
    }
    release.formation = record.formation_for(&release);
    Ok(Prepared {
        release,
        is_new: true,
        only: None,
        rollback,
    })
}

/// Makes the prebuilt `image` the release's image. An image Berth built for another app holds
/// that app's code: only an admin (or the server's CLI) may deploy it, whatever it is called
/// (an id, a `docker.io/berth/…` alias, a registry copy pulled with the host's login).
async fn adopt(
    ctx: &Ctx,
    caller: &Caller,
    app: &AppName,
    image: String,
    pull: Pull,
    release: &mut Release,
    io: &mut Io,
) -> Result<(), DeployError> {
    let verb = match pull {
        Pull::IfMissing => "Deploy",
        Pull::Again => "Rebuild",
    };
    io.step(&format!("Deploying image {image} to {app}")).await;
    if !may_deploy_other_apps_code(ctx, caller) {
        let pulls = match pull {
            Pull::IfMissing => ctx.builder.image_id(&image).await?.is_none(),
            Pull::Again => true,
        };
        if pulls {
            registry_reachable(ctx, caller, &image).await?;
        }
    }
    let auth = super::push::login_for_image(ctx, &image)?;
    let built = ctx
        .builder
        .adopt_image(
            &image,
            &release.image,
            pull,
            auth.as_ref(),
            &mut IndentedOutput(io),
        )
        .await?;
    if let Some(owner) = built.app.as_deref().filter(|owner| *owner != app.as_str()) {
        if !may_deploy_other_apps_code(ctx, caller) {
            if let Err(err) = ctx.builder.remove_image(&release.image).await {
                tracing::warn!(tag = %release.image, error = %err, "refused image left tagged");
            }
            return Err(DeployError::Refused(format!(
                "The image {image} holds the code of app {owner}: only an admin key may deploy it to {app}"
            )));
        }
    }
    release.port = port_of(&built.exposed_ports);
    release.description = format!("{verb} image {image}");
    release.source_image = Some(image);
    release.image_digest = built.digest;
    Ok(())
}

/// Refuses a pull a developer key or a deploy token asks for from a registry on the server's
/// own network (as `git:sync` refuses such hosts: `git::check_public`), unless an admin logged
/// in to it, made it the registry server, or listed it in `sync-allowed-hosts`. The engine
/// resolves the name again when it pulls.
async fn registry_reachable(ctx: &Ctx, caller: &Caller, image: &str) -> Result<(), DeployError> {
    let host = registry_host(image);
    if host == "docker.io" {
        return Ok(());
    }
    let global = ctx.store.global();
    let mut allowed = global.git.sync_allowed_hosts;
    allowed.extend(ctx.store.login_users(LoginKind::Registry)?.into_keys());
    allowed.extend(
        global
            .registry
            .server
            .as_deref()
            .map(|server| registry_server_host(server).to_string()),
    );
    let host_only = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if allowed.iter().any(|a| a == host || a == host_only) {
        return Ok(());
    }
    check_public(&format!("https://{host}/"), &[])
        .await
        .map(|_| ())
        .map_err(|why| {
            DeployError::Refused(format!(
                "{caller} may not pull from there: {why} (or registry:login to it)"
            ))
        })
}

/// Admin keys and the server's own callers may deploy one app's image to another, and pull
/// from registries on the server's own network.
fn may_deploy_other_apps_code(ctx: &Ctx, caller: &Caller) -> bool {
    match caller {
        Caller::Key(key) => ctx
            .store
            .key(key)
            .is_some_and(|key| key.role == Role::Admin),
        Caller::Local | Caller::Watch => true,
        Caller::Token { .. } => false,
    }
}

/// A failed deploy leaves its image under the tag the next release takes over (release numbers
/// are only used up by releases that went live). Once the new image holds the tag, the old one
/// has no release, and if no other tag names it (a `git:from-image` image keeps the user's),
/// it goes, after serving as the new build's cache; one the engine still needs (a layer of the
/// new image) stays.
async fn remove_if_replaced(ctx: &Ctx, tag: &str, stale: &str) {
    match ctx.builder.image_id(tag).await {
        Ok(Some(id)) if id != stale => {
            if let Err(err) = ctx.builder.remove_untagged(stale).await {
                tracing::info!(image = %stale, error = %err, "replaced image kept");
            }
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(%tag, error = %err, "cannot inspect the new image"),
    }
}

async fn build(
    ctx: &Ctx,
    record: &AppRecord,
    checkout: Checkout,
    verb: &str,
    release: &mut Release,
    io: &mut Io,
) -> Result<(), DeployError> {
    let app = &record.name;
    release.description = format!("{verb} {}", short(&checkout.rev));
    let app_json = match &checkout.app_json {
        Some(text) => AppJson::parse(text)?,
        None => AppJson::default(),
    };
    release.predeploy = app_json.scripts.predeploy;
    release.postdeploy = app_json.scripts.postdeploy;
    release.declared_formation = app_json.formation;
    release.cron = app_json.cron;
    release.checks = declared_checks(app_json.healthchecks, &checkout, io).await?;
    let procfile = match &checkout.procfile {
        Some(text) => crate::procfile::parse(text)?,
        None => Default::default(),
    };
    let global = ctx.store.global();
    let env = global.env_with(&record.env);
    let list = buildpack_list(
        &record.buildpacks.list,
        &env,
        checkout.buildpacks_file.as_deref(),
    )?;
    let selected = match record
        .builder
        .selected
        .as_ref()
        .or(global.builder_selected.as_ref())
    {
        Some(raw) => Some(BuilderKind::parse(raw)?),
        None => None,
    };
    let choice = choose(selected, checkout.dockerfile.is_some(), list.as_ref())?;
    let rev = checkout.rev.clone();
    release.git_rev = Some(rev.clone());
    let trigger_env = super::triggers::env(release, app.as_str());
    let trigger_args = [choice.kind.as_str().to_string(), app.to_string()];
    super::triggers::fire(ctx, "pre-build", &trigger_args, &trigger_env, io).await?;
    let plan = Plan {
        choice,
        checkout,
        procfile,
        buildpacks: list.map(|l| l.refs),
        stack: record.buildpacks.stack.clone().or(global.stack.clone()),
        env,
    };
    let slot = ctx.builds.slot(app, &release.description, io).await?;
    let built = slot
        .run(build_image(ctx, record, plan, release, io))
        .await?;
    release.port = port_of(&built.exposed_ports);
    super::triggers::fire(ctx, "post-build", &trigger_args, &trigger_env, io).await?;
    Ok(())
}

/// What a build builds, and with which builder.
struct Plan {
    choice: Choice,
    checkout: Checkout,
    procfile: BTreeMap<String, String>,
    buildpacks: Option<Vec<String>>,
    /// The app's (or the global) stack image, if set.
    stack: Option<String>,
    env: BTreeMap<String, String>,
}

/// Runs the chosen builder on the checkout (in a build slot); sets the release's process types.
async fn build_image(
    ctx: &Ctx,
    record: &AppRecord,
    plan: Plan,
    release: &mut Release,
    io: &mut Io,
) -> Result<BuiltImage, DeployError> {
    let Plan {
        choice,
        checkout,
        procfile,
        buildpacks,
        stack,
        env,
    } = plan;
    let app = &record.name;
    let build_options = record
        .docker_options
        .get("build")
        .map_or(&[][..], Vec::as_slice);
    let limits = crate::options::build_limits(build_options);
    let began = std::time::Instant::now();
    match (choice.kind, &checkout.dockerfile) {
        (BuilderKind::Dockerfile, Some(dockerfile)) => {
            io.step(&format!(
                "Building {app} from {dockerfile} ({})",
                choice.reason
            ))
            .await;
            release.processes = procfile;
            let build_args = crate::options::build_args(build_options);
            let job = DockerfileBuild {
                app,
                context: checkout.context.path(),
                dockerfile,
                tag: &release.image,
                build_args: &build_args,
                limits: &limits,
            };
            let image = ctx.builder.build(job, &mut IndentedOutput(io)).await?;
            super::timed(io, &format!("Building {app} ({dockerfile})"), began).await;
            Ok(image)
        }
        // `choose` picks the Dockerfile builder only when the commit has the Dockerfile.
        _ => {
            io.step(&format!(
                "Building {app} with buildpacks ({})",
                choice.reason
            ))
            .await;
            let run_image = match (&stack, &ctx.config.build.run_image) {
                (None, Some(run_image)) => run_image.clone(),
                _ => stack
                    .clone()
                    .unwrap_or(ctx.config.build.stack_image.clone()),
            };
            let job = BuildpackBuild {
                app,
                context: checkout.context.path(),
                buildpacks,
                env: &env,
                stack_image: stack.unwrap_or(ctx.config.build.stack_image.clone()),
                run_image,
                tag: release.image.clone(),
                scratch: ctx.store.layout().scratch_dir(app),
                limits,
            };
            let slug =
                build_with_buildpacks(ctx.builder.as_ref(), job, &mut IndentedOutput(io)).await?;
            release.processes = slug.default_process_types;
            release.processes.extend(procfile);
            if release.processes.is_empty() {
                return Err(DeployError::Build(
                    "it declares no process types: add a Procfile with a web process (web: <command>)".into(),
                ));
            }
            super::timed(io, &format!("Building {app} (buildpacks)"), began).await;
            Ok(slug.image)
        }
    }
}

/// app.json `healthchecks` win; the legacy CHECKS file is read when app.json declares none.
async fn declared_checks(
    from_app_json: Vec<HealthCheck>,
    checkout: &Checkout,
    io: &mut Io,
) -> Result<Vec<HealthCheck>, DeployError> {
    if !from_app_json.is_empty() {
        return Ok(from_app_json);
    }
    match &checkout.checks_file {
        Some(text) => {
            io.warn("The CHECKS file is deprecated; declare healthchecks in app.json instead")
                .await;
            Ok(from_checks_file(text)?)
        }
        None => Ok(Vec::new()),
    }
}

fn port_of(exposed: &[u16]) -> u16 {
    match exposed {
        [single] => *single,
        _ => DEFAULT_PORT,
    }
}
