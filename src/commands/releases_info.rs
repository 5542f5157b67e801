//! `releases:info <app> <vN>`: one release in full (config values are not shown, only keys).

use super::argv::Argv;
use super::output::{report, utc};
use super::releases::parse_version;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub version: u32,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("releases:info", words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let version = parse_version(&argv.required("release")?)?;
        argv.finish()?;
        Ok(Args { app, version })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let Some(release) = record.release(args.version) else {
        return Err(CommandError::User(format!(
            "{} has no release v{}",
            args.app, args.version
        )));
    };
    let status = if record.current_release == Some(release.number) {
        "current"
    } else {
        "previous"
    };
    let formation: Vec<String> = release
        .formation
        .iter()
        .map(|(process, count)| format!("{process}={count}"))
        .collect();
    let config: Vec<&str> = release.env.keys().map(String::as_str).collect();
    let checks: Vec<&str> = release.checks.iter().map(|c| c.name.as_str()).collect();
    let processes: Vec<String> = release
        .processes
        .iter()
        .map(|(process, command)| format!("{process}: {command}"))
        .collect();
    let none = |list: Vec<&str>| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    report(
        io,
        &format!("{} v{}", args.app, release.number),
        &[
            ("Description", release.description.clone()),
            ("Status", status.to_string()),
            ("Created at", utc(release.created_at)),
            ("Created by", release.created_by.clone()),
            ("Image", release.image.clone()),
            (
                "Image digest",
                release
                    .image_digest
                    .clone()
                    .unwrap_or_else(|| "none".into()),
            ),
            (
                "Git revision",
                release.git_rev.clone().unwrap_or_else(|| "none".into()),
            ),
            ("Port", release.port.to_string()),
            ("Formation", formation.join(" ")),
            (
                "Process types",
                none(processes.iter().map(String::as_str).collect()),
            ),
            ("Config keys", none(config)),
            ("Checks", none(checks)),
        ],
    )
    .await?;
    Ok(())
}
