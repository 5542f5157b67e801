//! `scheduler:set (<app>|--global) selected [docker-local|docker-swarm]` and `scheduler:report
//! [<app>]`, Dokku's names: what runs an app's processes, this host's Docker or a Docker Swarm
//! (docs/cluster.md). Moving a deployed app is a deploy of its current release through the
//! normal cutover: the new scheduler's instances are checked before the old ones stop.

use super::argv::{AppArgs, Argv};
use super::deploying::run_deploy;
use super::output::report;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source, Wait};
use crate::names::{shown, AppName};
use crate::scheduler::SchedulerKind;

#[derive(Debug)]
pub struct Args {
    /// `None` means `--global`: the default for apps that select none.
    pub app: Option<AppName>,
    /// `None` unsets.
    pub selected: Option<SchedulerKind>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let (app, key, value) = Argv::new("scheduler:set", words).app_property()?;
        if key != "selected" {
            return Err(CommandError::User(format!(
                "Invalid property \"{}\": scheduler:set knows selected",
                shown(&key)
            )));
        }
        let selected = value
            .map(|raw| {
                SchedulerKind::parse(&raw).ok_or_else(|| {
                    CommandError::User(format!(
                        "Invalid scheduler \"{}\": use docker-local or docker-swarm",
                        shown(&raw)
                    ))
                })
            })
            .transpose()?;
        Ok(Args { app, selected })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if args.selected == Some(SchedulerKind::DockerSwarm) && !ctx.scheduler.in_swarm().await? {
        return Err(CommandError::User(
            "This Docker engine is not a swarm manager: run `docker swarm init` (docs/cluster.md)"
                .into(),
        ));
    }
    let value = args.selected.map(|kind| kind.as_str().to_string());
    let Some(app) = args.app else {
        ctx.store
            .update_global(|global| global.scheduler = value.clone())?;
        announce(io, "--global", value.as_deref()).await;
        return Ok(());
    };
    ctx.store.app(&app)?;
    let before = selected(ctx, &app);
    let (record, ()) = ctx
        .store
        .update_app(&app, |record| record.scheduler = value.clone())?;
    announce(io, app.as_str(), value.as_deref()).await;
    let after = selected(ctx, &app);
    if after == before || record.current_release.is_none() {
        return Ok(());
    }
    io.step(&format!(
        "Moving {app} from {} to {}",
        before.as_str(),
        after.as_str()
    ))
    .await;
    let request = DeployRequest {
        app: app.clone(),
        caller: caller.clone(),
        source: Source::Restart(None),
        wait: Wait::Wait,
    };
    run_deploy(ctx, request, io)
        .await
        .map(|_| ())
        .map_err(|err| {
            CommandError::User(format!(
                "{err}; {app} keeps running where it ran, and moves at its next deploy"
            ))
        })
}

async fn announce(io: &mut Io, target: &str, value: Option<&str>) {
    match value {
        Some(value) => {
            io.step(&format!("Setting selected to {value} for {target}"))
                .await
        }
        None => io.step(&format!("Unsetting selected for {target}")).await,
    }
}

/// What runs `app`: its own selection, else the global one, else docker-local.
pub(super) fn selected(ctx: &Ctx, app: &AppName) -> SchedulerKind {
    ctx.store
        .scheduler_of(app)
        .and_then(|raw| SchedulerKind::parse(&raw))
        .unwrap_or(SchedulerKind::DockerLocal)
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let global = ctx.store.global().scheduler.unwrap_or_default();
    let computed = selected(ctx, &args.app).as_str().to_string();
    report(
        io,
        &format!("{} scheduler information", args.app),
        &[
            ("Scheduler computed selected", computed),
            ("Scheduler global selected", global),
            ("Scheduler selected", record.scheduler.unwrap_or_default()),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_the_selection() {
        let args = Args::parse(&words("shop selected docker-swarm")).unwrap();
        assert_eq!(args.selected, Some(SchedulerKind::DockerSwarm));
        assert_eq!(args.app.unwrap().as_str(), "shop");
        let args = Args::parse(&words("--global selected docker-local")).unwrap();
        assert!(args.app.is_none());
        assert_eq!(args.selected, Some(SchedulerKind::DockerLocal));
        assert_eq!(Args::parse(&words("shop selected")).unwrap().selected, None);
        for bad in [
            "shop selected k3s",
            "shop placement x",
            "shop",
            "shop selected docker-swarm extra",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
