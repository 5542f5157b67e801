//! The app's running one-off containers (`run`, `run:detached`, cron): `run:list <app>
//! [--format json]`, `run:logs (<app>|--container NAME) [-n N] [-t] [-q]` and
//! `run:stop (<app>|--container NAME)`.

use super::argv::Argv;
use super::logs::{show, Source, Tail};
use super::output::{table, utc};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::deploy::ONE_OFF_STOP_GRACE;
use crate::names::{shown, AppName};
use crate::scheduler::OneOff;

#[derive(Debug)]
pub enum Target {
    App(AppName),
    /// `--container NAME`: one container, whichever app it runs for.
    Container(String),
}

#[derive(Debug)]
pub struct Args {
    pub name: &'static str,
    pub target: Target,
    pub json: bool,
    pub tail: Tail,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let json = name == "run:list" && argv.json_format("stdout")?;
        let tail = match name {
            "run:logs" => Tail::parse(&mut argv)?,
            _ => Tail {
                lines: 0,
                follow: false,
                quiet: false,
            },
        };
        let container = match name {
            "run:list" => None,
            _ => argv.option("--container")?,
        };
        let target = match container {
            Some(container) => Target::Container(container),
            None => Target::App(AppName::parse(&argv.required("app name")?)?),
        };
        argv.finish()?;
        Ok(Args {
            name,
            target,
            json,
            tail,
        })
    }
}

/// The one-offs named by the target, with their app.
async fn find(ctx: &Ctx, target: &Target) -> Result<Vec<(AppName, OneOff)>, CommandError> {
    let apps = match target {
        Target::App(app) => {
            ctx.store.app(app)?;
            vec![app.clone()]
        }
        Target::Container(_) => ctx.store.app_names(),
    };
    let mut found = Vec::new();
    for app in apps {
        let one_offs = ctx
            .scheduler
            .one_offs(&app)
            .await
            .map_err(|err| CommandError::Internal(err.to_string()))?;
        found.extend(
            one_offs
                .into_iter()
                .filter(|o| match target {
                    Target::App(_) => true,
                    Target::Container(name) => *name == o.name,
                })
                .map(|o| (app.clone(), o)),
        );
    }
    if let (Target::Container(name), true) = (target, found.is_empty()) {
        return Err(CommandError::User(format!(
            "No running one-off container is named {}",
            shown(name)
        )));
    }
    Ok(found)
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let found = find(ctx, &args.target).await?;
    match args.name {
        "run:list" => list(io, &args.target, &found, args.json).await,
        "run:logs" => {
            let Some((app, _)) = found.first() else {
                return Err(CommandError::User(format!(
                    "{} has no running one-off containers",
                    shown_target(&args.target)
                )));
            };
            let sources: Vec<Source> = found
                .iter()
                .map(|(_, o)| Source {
                    id: o.id.clone(),
                    dyno: o.dyno.clone(),
                })
                .collect();
            show(ctx, io, app, &sources, args.tail).await
        }
        _ => {
            for (_, one_off) in &found {
                io.step(&format!("Stopping {}", one_off.name)).await;
                ctx.scheduler
                    .retire(&one_off.id, ONE_OFF_STOP_GRACE)
                    .await
                    .map_err(|err| CommandError::Internal(err.to_string()))?;
            }
            Ok(())
        }
    }
}

fn shown_target(target: &Target) -> String {
    match target {
        Target::App(app) => app.to_string(),
        Target::Container(name) => shown(name),
    }
}

async fn list(
    io: &mut Io,
    target: &Target,
    found: &[(AppName, OneOff)],
    json: bool,
) -> Result<(), CommandError> {
    if json {
        let entries: Vec<serde_json::Value> = found
            .iter()
            .map(|(_, o)| {
                serde_json::json!({
                    "name": o.name,
                    "command": o.command,
                    "created_at": o.created,
                })
            })
            .collect();
        io.line(&serde_json::Value::from(entries).to_string()).await;
        return Ok(());
    }
    io.header(&format!("{} run containers", shown_target(target)))
        .await;
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|(_, o)| vec![o.name.clone(), format!("\"{}\"", o.command), utc(o.created)])
        .collect();
    table(io, &["NAME", "COMMAND", "CREATED"], &rows).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_targets_and_flags() {
        let args = Args::parse("run:logs", &words("--container shop.run.1 -t -n 5")).unwrap();
        assert!(matches!(args.target, Target::Container(ref c) if c == "shop.run.1"));
        assert!(args.tail.follow && args.tail.lines == 5);
        let args = Args::parse("run:list", &words("shop --format json")).unwrap();
        assert!(args.json && matches!(args.target, Target::App(_)));
        for (name, bad) in [
            ("run:list", "--container x"),
            ("run:stop", ""),
            ("run:stop", "shop extra"),
            ("run:logs", "shop -n many"),
        ] {
            assert!(Args::parse(name, &words(bad)).is_err(), "{name} {bad}");
        }
    }
}
