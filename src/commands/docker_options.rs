//! `docker-options:add|remove <app> <phase[,phase...]> OPTION...`, `docker-options:clear <app>
//! [phases]`, `docker-options:list <app> --phase <phase> [--format stdout|json]` and `docker-options:report <app>`: a
//! parsed, safe subset of docker flags for the build, deploy and run phases (see `options`),
//! applied from the next deploy.

use super::argv::Argv;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::options::{check_phase, normalize};

const PHASES: [&str; 3] = ["build", "deploy", "run"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
    Clear,
    List,
    Report,
}

impl Action {
    pub fn command(self) -> &'static str {
        match self {
            Action::Add => "docker-options:add",
            Action::Remove => "docker-options:remove",
            Action::Clear => "docker-options:clear",
            Action::List => "docker-options:list",
            Action::Report => "docker-options:report",
        }
    }
}

#[derive(Debug)]
pub struct Args {
    pub action: Action,
    pub app: AppName,
    pub phases: Vec<String>,
    pub options: Vec<String>,
    /// `docker-options:list --format json`.
    pub json: bool,
}

fn parse_phases(raw: &str) -> Result<Vec<String>, CommandError> {
    raw.split(',')
        .map(|phase| match PHASES.contains(&phase) {
            true => Ok(phase.to_string()),
            false => Err(CommandError::User(format!(
                "Invalid phase \"{shown}\": use build, deploy and/or run",
                shown = crate::names::shown(phase)
            ))),
        })
        .collect()
}

impl Args {
    pub fn parse(command: &str, words: &[String]) -> Result<Args, CommandError> {
        let action = [
            Action::Add,
            Action::Remove,
            Action::Clear,
            Action::List,
            Action::Report,
        ]
        .into_iter()
        .find(|a| a.command() == command)
        .ok_or_else(|| CommandError::Unknown(command.to_string()))?;
        let (app, rest) = words.split_first().ok_or_else(|| {
            CommandError::Usage(format!(
                "app name required; usage: {}",
                super::usage(action.command())
            ))
        })?;
        let app = AppName::parse(app)?;
        let mut json = false;
        let (phases, options) = match action {
            Action::Add | Action::Remove => {
                let (phases, option) = rest.split_first().ok_or_else(|| {
                    CommandError::Usage(format!(
                        "phases required; usage: {}",
                        super::usage(action.command())
                    ))
                })?;
                let options =
                    normalize(option).map_err(|err| CommandError::User(err.to_string()))?;
                if options.is_empty() {
                    return Err(CommandError::Usage("an option is required".into()));
                }
                (parse_phases(phases)?, options)
            }
            Action::Clear => {
                let mut argv = Argv::new("docker-options:clear", rest);
                let phases = match argv.optional()? {
                    Some(list) => parse_phases(&list)?,
                    None => PHASES.iter().map(|p| p.to_string()).collect(),
                };
                argv.finish()?;
                (phases, Vec::new())
            }
            Action::List => {
                let mut argv = Argv::new("docker-options:list", rest);
                let phase = argv.option("--phase")?.ok_or_else(|| {
                    CommandError::Usage(format!(
                        "--phase required; usage: {}",
                        super::usage("docker-options:list")
                    ))
                })?;
                json = argv.json_format("stdout")?;
                argv.finish()?;
                let phases = parse_phases(&phase)?;
                if phases.len() != 1 {
                    return Err(CommandError::Usage("--phase takes one phase".into()));
                }
                (phases, Vec::new())
            }
            Action::Report => {
                Argv::new("docker-options:report", rest).finish()?;
                (Vec::new(), Vec::new())
            }
        };
        for phase in &phases {
            if action == Action::Add {
                check_phase(&options, phase).map_err(|err| CommandError::User(err.to_string()))?;
            }
        }
        Ok(Args {
            action,
            app,
            phases,
            options,
            json,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if args.action == Action::List {
        let record = ctx.store.app(&args.app)?;
        let options = args
            .phases
            .first()
            .and_then(|phase| record.docker_options.get(phase));
        if args.json {
            return super::output::json(io, &options.cloned().unwrap_or_default()).await;
        }
        for option in options.into_iter().flatten() {
            io.line(option).await;
        }
        return Ok(());
    }
    if args.action == Action::Report {
        let record = ctx.store.app(&args.app)?;
        let rows: Vec<(String, String)> = PHASES
            .iter()
            .map(|phase| {
                let label = format!("Docker options {phase}");
                let value = record
                    .docker_options
                    .get(*phase)
                    .map(|o| o.join(" "))
                    .unwrap_or_default();
                (label, value)
            })
            .collect();
        let rows: Vec<(&str, String)> = rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
        report(
            io,
            &format!("{} docker options information", args.app),
            &rows,
        )
        .await?;
        return Ok(());
    }
    ctx.store.update_app(&args.app, |record| {
        for phase in &args.phases {
            let list = record.docker_options.entry(phase.clone()).or_default();
            match args.action {
                Action::Add => {
                    for option in &args.options {
                        if !list.contains(option) {
                            list.push(option.clone());
                        }
                    }
                }
                Action::Remove => list.retain(|o| !args.options.contains(o)),
                Action::Clear => list.clear(),
                Action::List | Action::Report => {}
            }
        }
        record.docker_options.retain(|_, list| !list.is_empty());
    })?;
    let verb = match args.action {
        Action::Add => "Adding",
        Action::Remove => "Removing",
        _ => "Clearing",
    };
    io.step(&format!(
        "{verb} docker options for {} ({}) {}",
        args.app,
        args.phases.join(","),
        args.options.join(" ")
    ))
    .await;
    io.detail(&format!(
        "They apply from the next deploy: ps:rebuild {}",
        args.app
    ))
    .await;
    Ok(())
}
