//! The builds running or waiting for a build slot: `builds:list [<app>] [--format json]` and
//! `builds:cancel <app>` (Dokku 0.38's names). A cancelled build fails its push or rebuild; the
//! release that was serving keeps serving.

use super::argv::Argv;
use super::output::utc;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub name: &'static str,
    pub app: Option<AppName>,
    pub json: bool,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let json = name == "builds:list" && argv.json_format("stdout")?;
        let app = match name {
            "builds:list" => argv.optional()?,
            _ => Some(argv.required("app name")?),
        };
        argv.finish()?;
        Ok(Args {
            name,
            app: app.map(|a| AppName::parse(&a)).transpose()?,
            json,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if let Some(app) = &args.app {
        ctx.store.app(app)?;
    }
    match (args.name, &args.app) {
        ("builds:cancel", Some(app)) => {
            if !ctx.builds.cancel(app) {
                return Err(CommandError::User(format!(
                    "{app} has no build running or waiting"
                )));
            }
            io.step(&format!("Cancelled the build of {app}")).await;
            Ok(())
        }
        _ => list(ctx, io, args.app.as_ref(), args.json).await,
    }
}

async fn list(
    ctx: &Ctx,
    io: &mut Io,
    app: Option<&AppName>,
    json: bool,
) -> Result<(), CommandError> {
    let builds: Vec<_> = ctx
        .builds
        .list()
        .into_iter()
        .filter(|b| app.is_none_or(|app| *app == b.app))
        .collect();
    let status = |running: bool| if running { "running" } else { "waiting" };
    if json {
        let entries: Vec<serde_json::Value> = builds
            .iter()
            .map(|b| {
                serde_json::json!({
                    "app": b.app.as_str(),
                    "status": status(b.running),
                    "queued_at": b.since,
                    "description": b.description,
                })
            })
            .collect();
        io.line(&serde_json::Value::from(entries).to_string()).await;
        return Ok(());
    }
    match app {
        Some(app) => io.header(&format!("{app} builds")).await,
        None => io.header("Builds").await,
    }
    if builds.is_empty() {
        io.line("No builds are running or waiting").await;
        return Ok(());
    }
    let width = builds
        .iter()
        .map(|b| b.app.as_str().len())
        .max()
        .unwrap_or(0)
        .max("APP".len());
    io.line(&format!(
        "{:<width$}  {:<7}  {:<20}  BUILD",
        "APP", "STATUS", "QUEUED"
    ))
    .await;
    for b in &builds {
        io.line(&format!(
            "{:<width$}  {:<7}  {:<20}  {}",
            b.app.as_str(),
            status(b.running),
            utc(b.since),
            b.description
        ))
        .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_both_commands() {
        let args = Args::parse("builds:list", &words("--format json")).unwrap();
        assert!(args.json && args.app.is_none());
        let args = Args::parse("builds:list", &words("shop")).unwrap();
        assert_eq!(args.app.unwrap().as_str(), "shop");
        let args = Args::parse("builds:cancel", &words("shop")).unwrap();
        assert_eq!(args.app.unwrap().as_str(), "shop");
        for (name, bad) in [
            ("builds:cancel", ""),
            ("builds:cancel", "--format json shop"),
            ("builds:list", "shop blog"),
            ("builds:list", "Shop"),
        ] {
            assert!(Args::parse(name, &words(bad)).is_err(), "{name} {bad}");
        }
    }
}
