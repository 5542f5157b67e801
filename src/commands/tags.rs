//! Dokku's old tags plugin, for users of older guides: `tags <app>` (and `tags:list`),
//! `tags:create <app> <tag>` (the running release's image, kept as `berth-tags/<app>:<tag>`),
//! `tags:deploy [--no-wait] <app> <tag>` (that image through `git:from-image`'s path) and
//! `tags:destroy <app> <tag>`. Tags live apart from the release images, so pruning old
//! releases never removes them; `apps:destroy` does.

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source};
use crate::names::{shown, AppName};
use crate::scheduler::tags_repository;

#[derive(Debug)]
pub enum Args {
    /// With `--format json`.
    List(AppName, bool),
    Create(AppName, String),
    Deploy {
        app: AppName,
        tag: String,
        no_wait: bool,
    },
    Destroy(AppName, String),
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let no_wait = name == "tags:deploy" && argv.flag("--no-wait");
        let listing = matches!(name, "tags" | "tags:list");
        let json = listing && argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        let args = match name {
            _ if listing => Args::List(app, json),
            _ => {
                let tag = argv.required("tag")?;
                if !valid_tag(&tag) {
                    return Err(CommandError::User(format!(
                        "Invalid tag \"{}\": letters, digits, _, . and -, at most 128, not starting with . or -",
                        shown(&tag)
                    )));
                }
                match name {
                    "tags:create" => Args::Create(app, tag),
                    "tags:deploy" => Args::Deploy { app, tag, no_wait },
                    _ => Args::Destroy(app, tag),
                }
            }
        };
        argv.finish()?;
        Ok(args)
    }

    pub fn app(&self) -> &AppName {
        match self {
            Args::List(app, _) | Args::Create(app, _) | Args::Destroy(app, _) => app,
            Args::Deploy { app, .. } => app,
        }
    }
}

/// A Docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(args.app())?;
    let repository = tags_repository(&record.name);
    let tags = ctx.builder.repository_tags(&repository).await?;
    let has = |tag: &str| tags.iter().any(|t| *t == format!("{repository}:{tag}"));
    match args {
        Args::List(app, json) => {
            let mut names: Vec<&str> = tags
                .iter()
                .filter_map(|t| t.strip_prefix(&format!("{repository}:")))
                .collect();
            names.sort_unstable();
            if json {
                return super::output::json(io, &names).await;
            }
            io.header(&format!("Image tags for {app}")).await;
            for name in names {
                io.line(name).await;
            }
        }
        Args::Create(app, tag) => {
            let Some(release) = record.current() else {
                return Err(CommandError::User(format!(
                    "{app} has no deployed release to tag"
                )));
            };
            ctx.builder
                .tag_image(&release.image, &format!("{repository}:{tag}"))
                .await?;
            io.step(&format!("Added {tag} tag to {app} (v{})", release.number))
                .await;
        }
        Args::Deploy { app, tag, no_wait } => {
            if !has(&tag) {
                return Err(CommandError::User(format!(
                    "{app} has no tag {tag} (tags {app} lists them)"
                )));
            }
            let request = DeployRequest {
                app,
                caller: caller.clone(),
                source: Source::Image(format!("{repository}:{tag}")),
                wait: wait_flag(no_wait),
            };
            run_deploy(ctx, request, io).await?;
        }
        Args::Destroy(app, tag) => {
            if !has(&tag) {
                return Err(CommandError::User(format!("{app} has no tag {tag}")));
            }
            ctx.builder
                .remove_image(&format!("{repository}:{tag}"))
                .await?;
            io.step(&format!("Removed {tag} tag from {app}")).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn tags_are_checked() {
        assert!(matches!(
            Args::parse("tags:deploy", &words("--no-wait shop v0.9.0")).unwrap(),
            Args::Deploy { no_wait: true, .. }
        ));
        assert!(matches!(
            Args::parse("tags", &words("shop --format json")).unwrap(),
            Args::List(_, true)
        ));
        for bad in [
            "shop",
            "shop -x",
            "shop ../x",
            "shop a:b",
            "shop .x",
            "shop v1 extra",
        ] {
            assert!(Args::parse("tags:create", &words(bad)).is_err(), "{bad}");
        }
    }
}
