//! `buildpacks:add|set [--index N] <app> <buildpack>`, `buildpacks:remove <app> (<buildpack>|
//! --index N)`, `buildpacks:clear|report <app>`, `buildpacks:list <app> [--format stdout|json]` and `buildpacks:set-property (<app>|--global)
//! stack [IMAGE]`. A buildpack is a bundled name, a directory on the server (local CLI only) or
//! a git URL (`#ref` picks a branch, tag or commit). Changes apply from the next build.

use super::argv::Argv;
use super::output::report;
use super::{CommandError, Io};
use crate::build::BuildpackRef;
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add {
        index: Option<usize>,
        buildpack: String,
    },
    Set {
        index: usize,
        buildpack: String,
    },
    Remove {
        target: Target,
    },
    Clear,
    /// Whether as JSON.
    List(bool),
    Report,
    Stack(Option<String>),
}

/// What `buildpacks:remove` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Buildpack(String),
    Index(usize),
}

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    /// `None` only for `set-property --global`.
    pub app: Option<AppName>,
    pub action: Action,
}

const COMMANDS: [&str; 7] = [
    "buildpacks:add",
    "buildpacks:set",
    "buildpacks:remove",
    "buildpacks:clear",
    "buildpacks:list",
    "buildpacks:report",
    "buildpacks:set-property",
];

fn index_of(argv: &mut Argv) -> Result<Option<usize>, CommandError> {
    argv.option("--index")?
        .map(|raw| match raw.parse::<usize>() {
            Ok(index) if index >= 1 => Ok(index),
            _ => Err(CommandError::User(format!(
                "--index takes a position from 1, not \"{shown}\"",
                shown = crate::names::shown(&raw)
            ))),
        })
        .transpose()
}

fn buildpack(argv: &mut Argv) -> Result<String, CommandError> {
    let raw = argv.required("buildpack")?;
    BuildpackRef::parse(&raw)?;
    Ok(raw)
}

/// A Docker image reference: `name[:tag][@digest]`, never an option.
fn check_image(raw: &str) -> Result<String, CommandError> {
    let fine = !raw.starts_with('-')
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    match fine {
        true => Ok(raw.to_string()),
        false => Err(CommandError::User(format!(
            "Invalid image name \"{shown}\"",
            shown = crate::names::shown(raw)
        ))),
    }
}

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let command = super::argv::known(&COMMANDS, name)?;
        let mut argv = Argv::new(command, words);
        let index = index_of(&mut argv)?;
        let global = command == "buildpacks:set-property" && argv.flag("--global");
        let json = command == "buildpacks:list" && argv.json_format("stdout")?;
        let app = match global {
            true => None,
            false => Some(AppName::parse(&argv.required("app name")?)?),
        };
        let action = match command {
            "buildpacks:add" => Action::Add {
                index,
                buildpack: buildpack(&mut argv)?,
            },
            "buildpacks:set" => Action::Set {
                index: index.unwrap_or(1),
                buildpack: buildpack(&mut argv)?,
            },
            "buildpacks:remove" => Action::Remove {
                target: match index {
                    Some(index) => Target::Index(index),
                    None => Target::Buildpack(argv.required("buildpack or --index")?),
                },
            },
            "buildpacks:clear" => Action::Clear,
            "buildpacks:list" => Action::List(json),
            "buildpacks:report" => Action::Report,
            _ => {
                let key = argv.required("property")?;
                if key != "stack" {
                    return Err(CommandError::User(format!(
                        "Invalid property \"{shown}\": buildpacks:set-property knows stack",
                        shown = crate::names::shown(&key)
                    )));
                }
                let image = argv.optional()?.filter(|v| !v.is_empty());
                Action::Stack(image.as_deref().map(check_image).transpose()?)
            }
        };
        if index.is_some()
            && !matches!(
                action,
                Action::Add { .. } | Action::Set { .. } | Action::Remove { .. }
            )
        {
            return Err(CommandError::Usage(format!("{command} takes no --index")));
        }
        argv.finish()?;
        Ok(Args {
            command,
            app,
            action,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let Some(app) = args.app else {
        let Action::Stack(image) = args.action else {
            return Err(CommandError::Usage(
                "--global is for set-property only".into(),
            ));
        };
        ctx.store
            .update_global(|global| global.stack = image.clone())?;
        return announce_stack(io, "--global", image).await;
    };
    let action = match args.action {
        Action::List(json) => {
            let list = ctx.store.app(&app)?.buildpacks.list;
            if json {
                return super::output::json(io, &list).await;
            }
            io.header(&format!("{app} buildpack urls")).await;
            for buildpack in &list {
                io.line(buildpack).await;
            }
            return Ok(());
        }
        Action::Report => return report_app(ctx, io, &app).await,
        Action::Stack(image) => {
            ctx.store
                .update_app(&app, |record| record.buildpacks.stack = image.clone())?;
            return announce_stack(io, app.as_str(), image).await;
        }
        action => action,
    };
    let list = edit_list(ctx, caller, args.command, &app, action)?;
    match list.is_empty() {
        true => {
            io.step(&format!("{app} has no buildpacks set: builds detect one"))
                .await
        }
        false => {
            io.step(&format!("Buildpacks of {app}: {}", list.join(" ")))
                .await
        }
    }
    Ok(())
}

/// Applies `action` to the app's list and stores it, as one edit; returns the new list.
fn edit_list(
    ctx: &Ctx,
    caller: &Caller,
    command: &str,
    app: &AppName,
    action: Action,
) -> Result<Vec<String>, CommandError> {
    let _edit = ctx.edit();
    let mut list = ctx.store.app(app)?.buildpacks.list;
    match action {
        Action::Add { index, buildpack } => {
            allowed(caller, command, &buildpack)?;
            if list.contains(&buildpack) {
                return Err(CommandError::User(format!(
                    "The buildpack {buildpack} is already set for {app}"
                )));
            }
            let at = index.map(|i| i - 1).unwrap_or(list.len()).min(list.len());
            list.insert(at, buildpack);
        }
        Action::Set { index, buildpack } => {
            allowed(caller, command, &buildpack)?;
            match list.get_mut(index - 1) {
                Some(slot) => *slot = buildpack,
                None => list.push(buildpack),
            }
        }
        Action::Remove { target } => {
            let position = match &target {
                Target::Index(index) => (*index <= list.len()).then(|| index - 1),
                Target::Buildpack(buildpack) => list.iter().position(|b| b == buildpack),
            };
            let Some(position) = position else {
                return Err(CommandError::User(format!(
                    "{app} has no such buildpack; see buildpacks:list {app}"
                )));
            };
            list.remove(position);
        }
        Action::Clear => list.clear(),
        Action::List(_) | Action::Report | Action::Stack(_) => {}
    }
    ctx.store
        .update_app(app, |record| record.buildpacks.list = list.clone())?;
    Ok(list)
}

/// Buildpacks that read the server's files may only be chosen on the server itself.
fn allowed(caller: &Caller, command: &str, buildpack: &str) -> Result<(), CommandError> {
    if BuildpackRef::parse(buildpack)?.reads_host_files() {
        caller.require_local(command)?;
    }
    Ok(())
}

async fn announce_stack(
    io: &mut Io,
    target: &str,
    image: Option<String>,
) -> Result<(), CommandError> {
    match image {
        Some(image) => {
            io.step(&format!("Setting stack to {image} for {target}"))
                .await
        }
        None => io.step(&format!("Unsetting stack for {target}")).await,
    }
    Ok(())
}

async fn report_app(ctx: &Ctx, io: &mut Io, app: &AppName) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    let global = ctx.store.global().stack;
    let stack = record.buildpacks.stack.clone();
    let computed = stack
        .clone()
        .or(global.clone())
        .unwrap_or(ctx.config.build.stack_image.clone());
    report(
        io,
        &format!("{app} buildpacks information"),
        &[
            ("Buildpacks computed stack", computed),
            ("Buildpacks global stack", global.unwrap_or_default()),
            ("Buildpacks list", record.buildpacks.list.join(",")),
            ("Buildpacks stack", stack.unwrap_or_default()),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two adds that read the list before either wrote it back would store one list without
    /// the other's buildpack, after both said so.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_buildpack_adds_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::fake::test_ctx(dir.path()).await;
        let shop = AppName::parse("shop").unwrap();
        ctx.create_app(&shop).unwrap();
        let urls: Vec<String> = (0..100)
            .map(|i| format!("https://example.com/pack{i}.git"))
            .collect();
        let adds: Vec<String> = urls
            .iter()
            .map(|u| format!("buildpacks:add shop {u}"))
            .collect();
        let statuses = crate::fake::at_once(&ctx, &adds).await;
        assert!(statuses.iter().all(|s| *s == 0), "{statuses:?}");
        let list = ctx.store.app(&shop).unwrap().buildpacks.list;
        let lost: Vec<&String> = urls.iter().filter(|u| !list.contains(u)).collect();
        assert!(lost.is_empty(), "lost {lost:?}");
    }

    fn parse(command: &str, line: &str) -> Result<Args, CommandError> {
        Args::parse(command, &crate::commands::argv::words(line))
    }

    #[test]
    fn parses_dokku_argument_orders() {
        let args = parse("buildpacks:add", "--index 1 shop python").unwrap();
        assert_eq!(
            args.action,
            Action::Add {
                index: Some(1),
                buildpack: "python".into()
            }
        );
        let args = parse("buildpacks:add", "shop --index 2 https://x/bp.git#v1").unwrap();
        assert!(matches!(args.action, Action::Add { index: Some(2), .. }));
        let args = parse("buildpacks:set", "shop nodejs").unwrap();
        assert!(matches!(args.action, Action::Set { index: 1, .. }));
        let args = parse("buildpacks:remove", "shop --index 2").unwrap();
        assert_eq!(
            args.action,
            Action::Remove {
                target: Target::Index(2)
            }
        );
        let args = parse("buildpacks:set-property", "--global stack heroku/heroku:24").unwrap();
        assert_eq!(args.app, None);
        assert_eq!(args.action, Action::Stack(Some("heroku/heroku:24".into())));
        let args = parse("buildpacks:set-property", "shop stack").unwrap();
        assert_eq!(args.action, Action::Stack(None));
    }

    #[test]
    fn refuses_bad_input() {
        for (command, line) in [
            ("buildpacks:add", "shop ruby"),
            ("buildpacks:add", "shop --index 0 python"),
            ("buildpacks:add", "shop"),
            ("buildpacks:clear", "shop --index 1"),
            ("buildpacks:set-property", "shop colour red"),
            ("buildpacks:set-property", "shop stack --privileged"),
            ("buildpacks:list", "--global"),
        ] {
            assert!(parse(command, line).is_err(), "{command} {line}");
        }
    }
}
