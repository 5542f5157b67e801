//! `ps:scale [--no-wait] [--skip-deploy] [--format stdout|json] <app> [process=N ...]`: shows or
//! sets how many instances of each process type run. Scaling starts or stops instances of the
//! current release; it makes no new release, and no request is dropped. `--skip-deploy` only
//! records the counts, for the next deploy or restart.

use std::collections::BTreeMap;

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{scale, DeployRequest, Scaled, Source};
use crate::names::AppName;
use crate::procfile::valid_process_name;

/// More instances than this per process type are refused: one host runs them all.
const MAX_INSTANCES: u32 = 100;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub changes: Vec<(String, u32)>,
    pub no_wait: bool,
    pub skip_deploy: bool,
    pub json: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ps:scale", words);
        let no_wait = argv.flag("--no-wait");
        let skip_deploy = argv.flag("--skip-deploy");
        let json = argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        let mut changes: Vec<(String, u32)> = Vec::new();
        while let Some(tuple) = argv.optional()? {
            let change = parse_tuple(&tuple)?;
            if !changes.iter().any(|(p, _)| *p == change.0) {
                changes.push(change);
            }
        }
        argv.finish()?;
        Ok(Args {
            app,
            changes,
            no_wait,
            skip_deploy,
            json,
        })
    }
}

fn parse_tuple(tuple: &str) -> Result<(String, u32), CommandError> {
    let Some((process, count)) = tuple.split_once('=') else {
        return Err(CommandError::User(format!(
            "Missing count for {}",
            crate::names::shown(tuple)
        )));
    };
    if !valid_process_name(process) {
        return Err(CommandError::User(format!(
            "Invalid process type \"{shown}\"",
            shown = crate::names::shown(process)
        )));
    }
    match count.parse::<u32>() {
        Ok(n) if n <= MAX_INSTANCES => Ok((process.to_string(), n)),
        _ => Err(CommandError::User(format!(
            "Invalid count for {process}: \"{shown}\" (a whole number from 0 to {MAX_INSTANCES})",
            shown = crate::names::shown(count)
        ))),
    }
}

async fn show(io: &mut Io, app: &AppName, formation: &BTreeMap<String, u32>, json: bool) {
    if json {
        let rows: Vec<serde_json::Value> = formation
            .iter()
            .map(|(process, count)| serde_json::json!({"process_type": process, "quantity": count}))
            .collect();
        io.line(&serde_json::Value::from(rows).to_string()).await;
        return;
    }
    io.step(&format!("Scaling for {app}")).await;
    // Dokku's header; the counts line up under `qty` however long the process types are.
    let width = formation
        .keys()
        .map(|process| process.len() + 1)
        .max()
        .unwrap_or(0)
        .max("proctype:".len());
    io.line(&format!("{:<width$} qty", "proctype:")).await;
    io.line(&format!("{:-<w$}: ---", "", w = width - 1)).await;
    if formation.is_empty() {
        io.line("none").await;
    }
    for (process, count) in formation {
        io.line(&format!("{:<width$} {count}", format!("{process}:")))
            .await;
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let current = record.current().cloned();
    if args.changes.is_empty() {
        let formation = match &current {
            Some(release) => record.formation_for(release),
            None => record.formation.clone(),
        };
        show(io, &args.app, &formation, args.json).await;
        return Ok(());
    }
    if let Some(release) = &current {
        if !release.declared_formation.is_empty() {
            return Err(CommandError::User(format!(
                "App {} contains an app.json file with a formation key and cannot be manually scaled",
                args.app
            )));
        }
        let types = release.process_types();
        if let Some((process, _)) = args
            .changes
            .iter()
            .find(|(p, n)| *n > 0 && !types.contains(p))
        {
            return Err(CommandError::User(format!(
                "{process} is not a valid process name to scale up (the Procfile has {})",
                types.join(", ")
            )));
        }
    }
    let changes = args.changes.clone();
    ctx.store
        .update_app(&args.app, |record| record.formation.extend(changes))?;
    let summary: Vec<String> = args
        .changes
        .iter()
        .map(|(p, n)| format!("{p}={n}"))
        .collect();
    io.step(&format!(
        "Scaling {} processes: {}",
        args.app,
        summary.join(", ")
    ))
    .await;
    if args.skip_deploy {
        io.detail("Recorded; the next deploy or ps:restart applies it (--skip-deploy)")
            .await;
        return Ok(());
    }
    let wait = wait_flag(args.no_wait);
    let Scaled::Restart(only) = scale(ctx, &args.app, io, wait).await? else {
        return Ok(());
    };
    io.detail("The swarm has more than one node and would pick the tasks that go, not Berth: restarting at the new scale instead").await;
    let request = DeployRequest {
        app: args.app,
        caller: caller.clone(),
        source: Source::Restart(only),
        wait,
    };
    run_deploy(ctx, request, io).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples() {
        assert_eq!(parse_tuple("web=3").unwrap(), ("web".into(), 3));
        assert_eq!(parse_tuple("worker=0").unwrap(), ("worker".into(), 0));
        assert_eq!(
            parse_tuple("web").unwrap_err().to_string(),
            "Missing count for web"
        );
        assert!(parse_tuple("web=-1")
            .unwrap_err()
            .to_string()
            .starts_with("Invalid count for web"));
        assert!(parse_tuple("web=101").is_err());
        assert!(parse_tuple("w b=1").is_err());
    }
}
