//! `scheduler:set (<app>|--global) selected [docker-local|docker-swarm]` and `scheduler:report
//! [<app>]`, Dokku's names: what runs an app's processes, this host's Docker or a Docker Swarm
//! (docs/cluster.md). Moving a deployed app is a deploy of its current release through the
//! normal cutover: the new scheduler's instances are checked before the old ones stop.
//! `scheduler-docker-swarm:set <app> placement [CONSTRAINT[,CONSTRAINT...]]` and
//! `scheduler-docker-swarm:report [<app>]`: where on the swarm its tasks may run, from its next
//! deploy.

use super::argv::{AppArgs, Argv};
use super::deploying::redeploy;
use super::output::report;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::Source;
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
    let global = ctx.store.global();
    let (record, before) = ctx.store.update_app(&app, |record| {
        let before = SchedulerKind::named(record.scheduler_in(&global));
        record.scheduler = value.clone();
        before
    })?;
    announce(io, app.as_str(), value.as_deref()).await;
    let after = SchedulerKind::named(record.scheduler_in(&global));
    if after == before || record.current_release.is_none() {
        return Ok(());
    }
    io.step(&format!(
        "Moving {app} from {} to {}",
        before.as_str(),
        after.as_str()
    ))
    .await;
    let after_failure = format!("{app} keeps running where it ran, and moves at its next deploy");
    redeploy(ctx, caller, &app, Source::Restart(None), &after_failure, io).await
}

/// `scheduler-docker-swarm:set <app> placement [constraints]`.
#[derive(Debug)]
pub struct PlacementArgs {
    pub app: AppName,
    /// Empty unsets.
    pub constraints: Vec<String>,
}

impl PlacementArgs {
    pub fn parse(words: &[String]) -> Result<PlacementArgs, CommandError> {
        let (app, key, value) = Argv::new("scheduler-docker-swarm:set", words).app_property()?;
        let Some(app) = app else {
            return Err(CommandError::User(
                "placement is set per app, not --global".into(),
            ));
        };
        if key != "placement" {
            return Err(CommandError::User(format!(
                "Invalid property \"{}\": scheduler-docker-swarm:set knows placement",
                shown(&key)
            )));
        }
        let constraints = value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(constraint)
            .collect::<Result<_, _>>()?;
        Ok(PlacementArgs { app, constraints })
    }
}

/// One Swarm placement constraint: `node.id|hostname|role|platform.os|platform.arch`,
/// `node.labels.<key>` or `engine.labels.<key>`, then `==` or `!=`, then a plain value.
fn constraint(raw: &str) -> Result<String, CommandError> {
    let invalid = || {
        CommandError::User(format!(
            "Invalid placement constraint \"{}\": use ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE, like node.role==manager or node.labels.zone==east",
            shown(raw)
        ))
    };
    let (attribute, value) = raw
        .split_once("==")
        .or_else(|| raw.split_once("!="))
        .ok_or_else(invalid)?;
    let plain = |text: &str, extra: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    let known = [
        "node.id",
        "node.hostname",
        "node.role",
        "node.platform.os",
        "node.platform.arch",
    ]
    .contains(&attribute.trim())
        || ["node.labels.", "engine.labels."].iter().any(|prefix| {
            attribute
                .trim()
                .strip_prefix(prefix)
                .is_some_and(|key| plain(key, "._-"))
        });
    match known && plain(value.trim(), "._:-") {
        true => Ok(raw.chars().filter(|c| !c.is_whitespace()).collect()),
        false => Err(invalid()),
    }
}

pub async fn set_placement(
    ctx: &Ctx,
    io: &mut Io,
    args: PlacementArgs,
) -> Result<(), CommandError> {
    ctx.store.update_app(&args.app, |record| {
        record.swarm_placement = args.constraints.clone()
    })?;
    let app = &args.app;
    match args.constraints.is_empty() {
        true => io.step(&format!("Unsetting placement for {app}")).await,
        false => {
            io.step(&format!(
                "Setting placement to {} for {app}",
                args.constraints.join(",")
            ))
            .await
        }
    }
    io.detail(&format!(
        "It applies from the next deploy on the swarm (ps:restart {app})"
    ))
    .await;
    Ok(())
}

pub async fn report_placement(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    report(
        io,
        &format!("{} scheduler-docker-swarm information", args.app),
        &[(
            "Scheduler docker swarm placement",
            record.swarm_placement.join(","),
        )],
    )
    .await
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
    SchedulerKind::named(ctx.store.scheduler_of(app).as_deref())
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
    fn placement_constraints_are_checked() {
        let args = PlacementArgs::parse(&words(
            "shop placement node.role==manager,node.labels.zone!=b",
        ))
        .unwrap();
        assert_eq!(
            args.constraints,
            ["node.role==manager", "node.labels.zone!=b"]
        );
        assert!(PlacementArgs::parse(&words("shop placement"))
            .unwrap()
            .constraints
            .is_empty());
        for bad in [
            "shop placement node.role=manager",
            "shop placement node.color==red",
            "shop placement node.labels.==x",
            "shop placement node.role==$(reboot)",
            "--global placement node.role==manager",
            "shop selected docker-swarm",
        ] {
            assert!(PlacementArgs::parse(&words(bad)).is_err(), "{bad}");
        }
    }

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
