//! `git:from-image <app> <image> [--no-wait]`: deploys a prebuilt image (pulled if missing)
//! through the same checked cutover as a push.

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::{CommandError, Io};
use crate::context::{Caller, Ctx};
use crate::deploy::{DeployRequest, Source};
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub image: String,
    pub no_wait: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("git:from-image", words);
        let no_wait = argv.flag("--no-wait");
        let app = AppName::parse(&argv.required("app name")?)?;
        let image = valid_image(&argv.required("image")?)?;
        argv.finish()?;
        Ok(Args {
            app,
            image,
            no_wait,
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
    let request = DeployRequest {
        app: args.app,
        caller: caller.clone(),
        source: Source::Image(args.image),
        wait: wait_flag(args.no_wait),
    };
    run_deploy(ctx, request, io).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

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
