//! `ps:rebuild (--all|<app>) [--no-wait]`: builds the deploy branch again and deploys it; an app
//! deployed from an image (`git:from-image`, `git:load-image`) has that image pulled again.

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::every_app::{apps, Outcome, Target};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{code, DeployRequest, Source};
use crate::git::{deploy_branch_head, export_commit, short, Checkout};
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub target: Target,
    pub no_wait: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ps:rebuild", words);
        let no_wait = argv.flag("--no-wait");
        let target = Target::parse(&mut argv)?;
        argv.finish()?;
        Ok(Args { target, no_wait })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let mut outcome = Outcome::default();
    for app in apps(ctx, &args.target) {
        let result = rebuild(ctx, caller, io, app.clone(), args.no_wait).await;
        outcome.record(&args.target, app, result, io).await?;
    }
    outcome.finish()
}

async fn rebuild(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    app: AppName,
    no_wait: bool,
) -> Result<(), CommandError> {
    let record = ctx.store.app(&app)?;
    let source = match record.current() {
        Some(release) if release.git_rev.is_none() && release.source_image.is_some() => {
            Source::ImageAgain(release.source_image.clone().unwrap_or_default())
        }
        running => {
            let checkout = checkout(ctx, &app).await?;
            // After a rollback the branch is ahead of what runs: say what the rebuild brings.
            if let Some(running) = running.filter(|r| r.git_rev.as_ref() != Some(&checkout.rev)) {
                io.warn(&format!(
                    "{app} runs {} (v{}: {}); this rebuild deploys the deploy branch's commit {} instead",
                    code(running),
                    running.number,
                    running.description,
                    short(&checkout.rev)
                ))
                .await;
            }
            Source::Rebuild(checkout)
        }
    };
    let request = DeployRequest {
        app,
        caller: caller.clone(),
        source,
        wait: wait_flag(no_wait),
    };
    run_deploy(ctx, request, io).await.map(|_| ())
}

/// The app's deploy branch, exported.
async fn checkout(ctx: &Ctx, app: &AppName) -> Result<Checkout, CommandError> {
    let spec = ctx.source_spec(app)?;
    let shown_branch = spec.branch.to_string();
    let repo = ctx.store.layout().repo_dir(app);
    let checkout = tokio::task::spawn_blocking(move || {
        let Some(rev) = deploy_branch_head(&repo, &spec)? else {
            return Ok(None);
        };
        export_commit(&repo, &rev, &[], &spec).map(Some)
    })
    .await
    .map_err(|err| CommandError::Internal(format!("rebuild task failed: {err}")))?
    .map_err(|err: crate::git::GitError| CommandError::User(err.to_string()))?;
    checkout.ok_or_else(|| {
        CommandError::User(format!(
            "{app} has no {shown_branch} branch to rebuild from (push one)"
        ))
    })
}
