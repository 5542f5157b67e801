//! `builder-dockerfile:set (<app>|--global) dockerfile-path [path]` and
//! `builder-dockerfile:report <app>`: which Dockerfile builds the app, relative to its build
//! directory (Dokku's names). Unset falls back to the global value, then `Dockerfile`.

use super::argv::{AppArgs, Argv};
use super::builder::relative_path;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};

#[derive(Debug)]
pub struct Args {
    /// `None`: `--global`.
    pub app: Option<AppName>,
    /// `None`: unset.
    pub path: Option<String>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let (app, key, value) = Argv::new("builder-dockerfile:set", words).app_property()?;
        if key != "dockerfile-path" {
            return Err(CommandError::User(format!(
                "Invalid property \"{}\": builder-dockerfile:set knows dockerfile-path",
                shown(&key)
            )));
        }
        let path = value
            .map(|v| relative_path("dockerfile-path", &v, "deploy/Dockerfile.prod"))
            .transpose()?;
        Ok(Args { app, path })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let path = args.path.clone();
    let target = match &args.app {
        Some(app) => {
            ctx.store
                .update_app(app, |record| record.builder.dockerfile_path = path)?;
            app.to_string()
        }
        None => {
            ctx.store
                .update_global(|global| global.builder_dockerfile_path = path)?;
            "--global".to_string()
        }
    };
    let line = match args.path {
        Some(path) => format!("Setting dockerfile-path to {path} for {target}"),
        None => format!("Unsetting dockerfile-path for {target}"),
    };
    io.step(&line).await;
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let own = ctx.store.app(&args.app)?.builder.dockerfile_path;
    let global = ctx.store.global().builder_dockerfile_path;
    let computed = ctx.source_spec(&args.app)?.dockerfile;
    report(
        io,
        &format!("{} builder-dockerfile information", args.app),
        &[
            ("Builder dockerfile computed dockerfile path", computed),
            (
                "Builder dockerfile dockerfile path",
                own.unwrap_or_default(),
            ),
            (
                "Builder dockerfile global dockerfile path",
                global.unwrap_or_default(),
            ),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_the_path() {
        let args = Args::parse(&words("shop dockerfile-path deploy/Dockerfile.prod")).unwrap();
        assert_eq!(args.path.as_deref(), Some("deploy/Dockerfile.prod"));
        let args = Args::parse(&words("--global dockerfile-path")).unwrap();
        assert!(args.app.is_none() && args.path.is_none());
        for bad in [
            "shop dockerfile-path ../Dockerfile",
            "shop dockerfile-path /etc/passwd",
            "shop dockerfile-path -f",
            "shop build-dir web",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
