//! `git:from-image <app> <image> [--no-wait]`: deploys a prebuilt image (pulled if missing)
//! through the same checked cutover as a push. `git:load-image <app> <image> [--no-wait]`
//! first loads it from a `docker save` tar on stdin, for servers that reach no registry.

use futures_util::StreamExt;

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, IndentedOutput, Source};
use crate::names::{shown, AppName};
use crate::scheduler::SchedulerError;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub image: String,
    pub no_wait: bool,
    /// `git:load-image`: the image comes on stdin.
    pub load: bool,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let no_wait = argv.flag("--no-wait");
        let app = AppName::parse(&argv.required("app name")?)?;
        let image = valid_image(&argv.required("image")?)?;
        argv.finish()?;
        Ok(Args {
            app,
            image,
            no_wait,
            load: name == "git:load-image",
        })
    }
}

/// An image reference as Docker writes it: `name[:tag][@digest]`.
fn valid_image(raw: &str) -> Result<String, CommandError> {
    let ok = !raw.is_empty()
        && raw.len() <= 255
        && !raw.starts_with(['-', '.', ':', '/'])
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'));
    if ok {
        Ok(raw.to_string())
    } else {
        Err(CommandError::User(format!(
            "Invalid image reference \"{shown}\"",
            shown = crate::names::shown(raw)
        )))
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    if args.load {
        load(ctx, io, &args.image).await?;
    }
    let request = DeployRequest {
        app: args.app,
        caller: caller.clone(),
        source: Source::Image(args.image),
        wait: wait_flag(args.no_wait),
    };
    run_deploy(ctx, request, io).await.map(|_| ())
}

/// Loads the tar on stdin and makes sure it held `image`.
async fn load(ctx: &Ctx, io: &mut Io, image: &str) -> Result<(), CommandError> {
    io.step("Loading the image from stdin").await;
    let stdin = std::mem::replace(&mut io.stdin, Box::new(tokio::io::empty()));
    let tar = tokio_util::io::ReaderStream::new(stdin).boxed();
    let loaded = ctx
        .builder
        .load_images(tar, &mut IndentedOutput(io))
        .await
        .map_err(|err| match err {
            SchedulerError::BuildFailed(why) => {
                CommandError::User(format!("Cannot load the image from stdin: {why}"))
            }
            other => CommandError::Internal(other.to_string()),
        })?;
    if loaded.iter().any(|name| same_image(name, image)) {
        return Ok(());
    }
    Err(CommandError::User(format!(
        "The tar on stdin holds no image {} (it holds: {}); pass the name docker save was given",
        shown(image),
        match loaded.is_empty() {
            true => "nothing".to_string(),
            false => loaded
                .iter()
                .map(|n| shown(n))
                .collect::<Vec<_>>()
                .join(", "),
        }
    )))
}

/// Whether the engine's `loaded` name is the `wanted` reference (`nginx` is `nginx:latest`).
fn same_image(loaded: &str, wanted: &str) -> bool {
    let tagged = wanted.contains('@') || wanted.rsplit('/').next().is_some_and(|l| l.contains(':'));
    match tagged {
        true => loaded == wanted,
        false => loaded == format!("{wanted}:latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_names_match_references_docker_completes() {
        assert!(same_image("shop:v2", "shop:v2"));
        assert!(same_image("nginx:latest", "nginx"));
        assert!(same_image("registry:5000/app:latest", "registry:5000/app"));
        assert!(!same_image("nginx:1.25", "nginx"));
        assert!(!same_image("shop:v1", "shop:v2"));
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx",
            "nginx:1.25",
            "ghcr.io/org/app:v1",
            "app@sha256:abc123",
        ] {
            assert_eq!(valid_image(ok).unwrap(), ok);
        }
        for bad in ["", "-v", "a b", "x;y", "$(id)"] {
            assert!(valid_image(bad).is_err(), "{bad}");
        }
    }
}
