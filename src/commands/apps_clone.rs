//! `apps:clone [--skip-deploy] [--ignore-existing] <old> <new>` and
//! `apps:rename [--skip-deploy] <old> <new>`.
//!
//! A clone gets the old app's settings (config, checks, scale, mounts, resources, restart
//! policy) and a copy of its repository, but not its domains' history, releases or lock; it is
//! then built from its deploy branch (or given the old app's current image when it was deployed
//! from one). A rename is a clone that, once the new app serves, destroys the old one; if the new
//! app fails to deploy, it is removed again and the old one keeps serving.

use super::argv::Argv;
use super::deploying::run_deploy;
use super::{CommandError, Io};
use crate::context::{Caller, Ctx};
use crate::deploy::{destroy_app, DeployRequest, Source, Wait};
use crate::git::{deploy_branch_head, export_commit};
use crate::names::AppName;

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
    let build_dir = ctx.store.app(new)?.builder.build_dir;
    let checkout = tokio::task::spawn_blocking(move || {
        let Some(rev) = deploy_branch_head(&repo)? else {
            return Ok(None);
        };
        export_commit(&repo, &rev, &[], build_dir.as_deref()).map(Some)
    })
    .await
    .map_err(|err| CommandError::Internal(format!("clone task failed: {err}")))?
    .map_err(|err: crate::git::GitError| CommandError::User(err.to_string()))?;
    if let Some(checkout) = checkout {
        return Ok(Some(Source::Rebuild(checkout)));
    }
    let image = ctx.store.app(old)?.current().map(|r| r.image.clone());
    Ok(image.map(Source::Image))
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store.app(&args.old)?;
    if args.ignore_existing && ctx.store.app_exists(&args.new) {
        io.step(&format!("{} already exists; nothing to clone", args.new))
            .await;
        return Ok(());
    }
    let verb = if args.rename { "Renaming" } else { "Cloning" };
    io.step(&format!("{verb} {} to {}", args.old, args.new))
        .await;
    ctx.store.clone_app(&args.old, &args.new)?;
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
        destroy_app(ctx, &args.old, io).await?;
        io.step(&format!("Renamed {} to {}", args.old, args.new))
            .await;
    }
    Ok(())
}
