//! `apps:clone [--skip-deploy] [--ignore-existing] <old> <new>` and
//! `apps:rename [--skip-deploy] <old> <new>`.
//!
//! A clone gets the old app's settings (config, checks, scale, mounts, resources, restart
//! policy, basic auth, HTTP and HTTPS port mappings) and a copy of its repository, but not its
//! domains, certificate, TCP ports (a TCP port serves one app), releases or lock; it is then built
//! from its deploy branch (or given the old app's current image when it was deployed from one).
//! A rename is a clone that, once the new app serves, takes over the old app's domains (its
//! default `<old>.<global>` ones renamed), certificate, HTTPS and Let's Encrypt settings and TCP
//! ports, and then destroys the old app; if the new app fails to deploy, it is removed again and
//! the old one keeps serving, settings and all.

use super::argv::Argv;
use super::deploying::run_deploy;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{destroy_app, DeployRequest, Source, Wait};
use crate::git::{deploy_branch_head, export_commit};
use crate::names::AppName;
use crate::ports::{PortMap, Scheme};
use crate::state::{DomainSettings, StateError};

#[derive(Debug)]
pub struct Args {
    pub rename: bool,
    pub old: AppName,
    pub new: AppName,
    pub skip_deploy: bool,
    pub ignore_existing: bool,
}

impl Args {
    pub fn parse(rename: bool, words: &[String]) -> Result<Args, CommandError> {
        let command = if rename { "apps:rename" } else { "apps:clone" };
        let mut argv = Argv::new(command, words);
        let skip_deploy = argv.flag("--skip-deploy");
        let ignore_existing = !rename && argv.flag("--ignore-existing");
        let old = AppName::parse(&argv.required("old app name")?)?;
        let new = AppName::parse(&argv.required("new app name")?)?;
        argv.finish()?;
        Ok(Args {
            rename,
            old,
            new,
            skip_deploy,
            ignore_existing,
        })
    }
}

/// What the new app deploys: its copied deploy branch, else the old app's current image.
async fn source_for(
    ctx: &Ctx,
    new: &AppName,
    old: &AppName,
) -> Result<Option<Source>, CommandError> {
    let repo = ctx.store.layout().repo_dir(new);
    let spec = ctx.source_spec(new)?;
    let checkout = tokio::task::spawn_blocking(move || {
        let Some(rev) = deploy_branch_head(&repo, &spec)? else {
            return Ok(None);
        };
        export_commit(&repo, &rev, &[], &spec).map(Some)
    })
    .await
    .map_err(|err| CommandError::Internal(format!("clone task failed: {err}")))?
    .map_err(|err: crate::git::GitError| CommandError::User(err.to_string()))?;
    if let Some(checkout) = checkout {
        return Ok(Some(Source::Rebuild(checkout)));
    }
    let image = ctx
        .store
        .app(old)?
        .current()
        .map(|r| r.source_image.clone().unwrap_or_else(|| r.image.clone()));
    Ok(image.map(Source::Image))
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store.app(&args.old)?;
    if args.ignore_existing && ctx.store.app_exists(&args.new) {
        io.step(&format!("{} already exists; nothing to clone", args.new))
            .await;
        return Ok(());
    }
    // Refused before saying what it would do (the clone below checks again, atomically).
    if ctx.store.app_exists(&args.new) {
        return Err(StateError::AppExists(args.new.clone()).into());
    }
    let verb = if args.rename { "Renaming" } else { "Cloning" };
    io.step(&format!("{verb} {} to {}", args.old, args.new))
        .await;
    let shared_ports = ctx
        .store
        .app(&args.old)?
        .ports
        .into_iter()
        .filter(|m| PortMap::parse(m).is_ok_and(|m| m.scheme != Scheme::Tcp))
        .collect();
    ctx.store.clone_app(&args.old, &args.new, shared_ports)?;
    ctx.routes
        .set_app(&args.new, &ctx.app_hosts(&args.new), Vec::new());
    if !args.skip_deploy {
        if let Some(source) = source_for(ctx, &args.new, &args.old).await? {
            let request = DeployRequest {
                app: args.new.clone(),
                caller: caller.clone(),
                source,
                wait: Wait::Wait,
            };
            if let Err(err) = run_deploy(ctx, request, io).await {
                if args.rename {
                    destroy_app(ctx, &args.new, io).await?;
                    io.warn(&format!("{} keeps its name and keeps serving", args.old))
                        .await;
                }
                return Err(err);
            }
        }
    }
    if args.rename {
        move_identity(ctx, &args.old, &args.new)?;
        destroy_app(ctx, &args.old, io).await?;
        io.step(&format!("Renamed {} to {}", args.old, args.new))
            .await;
        let trigger_args = [args.old.to_string(), args.new.to_string()];
        ctx.trigger(
            "post-app-rename",
            &trigger_args,
            Some(&args.new),
            caller,
            io,
        )
        .await?;
    }
    Ok(())
}

/// Hands what identifies the old app on the network to the new one: domains, certificate,
/// HTTPS and Let's Encrypt settings, maintenance mode and page (with its files), and every port
/// mapping. The proxy routes the domains to the new app before the old one lets go of them, so
/// no request finds neither.
fn move_identity(ctx: &Ctx, old: &AppName, new: &AppName) -> Result<(), CommandError> {
    let globals = ctx.global_domains();
    let cert = ctx.store.cert(old)?;
    if let Some(pem) = &cert {
        ctx.store.save_cert(new, &pem.crt, &pem.key)?;
    }
    ctx.store.update_pair(old, new, |from, to| {
        let vhosts = from.domains.vhosts.take().map(|hosts| {
            let defaults = crate::domains::default_vhosts(old, &globals);
            let renamed = crate::domains::default_vhosts(new, &globals);
            hosts
                .into_iter()
                .map(|host| match defaults.iter().position(|d| *d == host) {
                    Some(index) => renamed[index].clone(),
                    None => host,
                })
                .collect()
        });
        to.domains = DomainSettings {
            vhosts,
            disabled: from.domains.disabled,
        };
        from.domains = DomainSettings {
            vhosts: Some(Vec::new()),
            disabled: true,
        };
        to.tls = from.tls.clone();
        to.maintenance = from.maintenance;
        to.letsencrypt = std::mem::take(&mut from.letsencrypt);
        to.ports = std::mem::take(&mut from.ports);
    })?;
    if cert.is_some() {
        ctx.store.remove_cert(old)?;
    }
    if let Some(page) = ctx.store.maintenance_page(old)? {
        ctx.store.save_maintenance_page(new, Some(&page))?;
    }
    // The new app's policy (maintenance, HTTPS) first, so its new hosts never serve without it.
    ctx.refresh_policy(new);
    ctx.reroute_hosts(new);
    ctx.reroute_hosts(old);
    ctx.refresh_tls(new);
    ctx.reopen_ports();
    Ok(())
}
