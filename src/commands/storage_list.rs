//! `storage:list <app> [--format text|json]`: the app's mounts, `host:container` per line;
//! `storage:report <app>`: the same per phase, as Dokku reports them (`-v host:container`).

use super::argv::{AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub json: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("storage:list", words);
        let json = argv.json_format("text")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(Args { app, json })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let mounts = ctx.store.app(&args.app)?.mounts;
    if args.json {
        let rows: Vec<_> = mounts
            .iter()
            .map(|m| serde_json::json!({"host_path": m.host, "container_path": m.container}))
            .collect();
        io.line(&serde_json::Value::from(rows).to_string()).await;
        return Ok(());
    }
    io.header(&format!("{} volume bind-mounts:", args.app))
        .await;
    for mount in mounts {
        io.detail(&format!("{}:{}", mount.host, mount.container))
            .await;
    }
    Ok(())
}

/// Mounts apply to the app's instances (deploy) and one-off containers (run), never to builds.
pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let mounts = ctx.store.app(&args.app)?.mounts;
    let flags: Vec<String> = mounts
        .iter()
        .map(|m| format!("-v {}:{}", m.host, m.container))
        .collect();
    let flags = flags.join(" ");
    report(
        io,
        &format!("{} storage information", args.app),
        &[
            ("Storage build mounts", String::new()),
            ("Storage deploy mounts", flags.clone()),
            ("Storage run mounts", flags),
        ],
    )
    .await
}
