//! `builder:set (<app>|--global) selected [dockerfile|buildpacks]`, `builder:set <app> build-dir
//! [SUBDIR]` and `builder:report <app>`. An empty value unsets (auto-detection, the top).

use super::argv::{AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::build::BuilderKind;
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    Selected(Option<BuilderKind>),
    BuildDir(Option<String>),
}

#[derive(Debug)]
pub struct Args {
    /// `None` means `--global` (only `selected` has a global value).
    pub app: Option<AppName>,
    pub property: Property,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let (app, key, value) = Argv::new("builder:set", words).app_property()?;
        let property = match key.as_str() {
            "selected" => Property::Selected(value.as_deref().map(BuilderKind::parse).transpose()?),
            "build-dir" if app.is_some() => Property::BuildDir(
                value
                    .map(|v| relative_path("build-dir", &v, "apps/web"))
                    .transpose()?,
            ),
            "build-dir" => {
                return Err(CommandError::User(
                    "build-dir is set per app, not --global".into(),
                ))
            }
            other => {
                return Err(CommandError::User(format!(
                    "Invalid property \"{shown}\": builder:set knows selected and build-dir",
                    shown = crate::names::shown(other)
                )))
            }
        };
        Ok(Args { app, property })
    }
}

/// A relative path inside the repository (`example` shows one): `apps/web`, never `..`, `/etc`
/// or `-x`.
pub fn relative_path(property: &str, raw: &str, example: &str) -> Result<String, CommandError> {
    let trimmed = raw.trim_end_matches('/');
    let fine = !trimmed.is_empty()
        && trimmed.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.starts_with('-')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        });
    match fine {
        true => Ok(trimmed.to_string()),
        false => Err(CommandError::User(format!(
            "Invalid {property} \"{}\": use a relative path inside the repository, like {example}",
            crate::names::shown(raw)
        ))),
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let target = args
        .app
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "--global".to_string());
    let (key, value) = match &args.property {
        Property::Selected(kind) => ("selected", kind.map(|k| k.as_str().to_string())),
        Property::BuildDir(dir) => ("build-dir", dir.clone()),
    };
    match (&args.app, args.property) {
        (Some(app), Property::Selected(_)) => {
            ctx.store
                .update_app(app, |record| record.builder.selected = value.clone())?;
        }
        (Some(app), Property::BuildDir(dir)) => {
            ctx.store
                .update_app(app, |record| record.builder.build_dir = dir.clone())?;
        }
        (None, _) => ctx
            .store
            .update_global(|global| global.builder_selected = value.clone())?,
    }
    match value {
        Some(value) => {
            io.step(&format!("Setting {key} to {value} for {target}"))
                .await
        }
        None => io.step(&format!("Unsetting {key} for {target}")).await,
    }
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let global = ctx.store.global().builder_selected.unwrap_or_default();
    let selected = record.builder.selected.clone().unwrap_or_default();
    let computed = match (selected.as_str(), global.as_str()) {
        ("", "") => "auto (Dockerfile if present, else buildpacks)".to_string(),
        ("", global) => global.to_string(),
        (selected, _) => selected.to_string(),
    };
    let build_dir = record.builder.build_dir.clone().unwrap_or_default();
    report(
        io,
        &format!("{} builder information", args.app),
        &[
            ("Builder build dir", build_dir),
            ("Builder computed selected", computed),
            ("Builder global selected", global),
            ("Builder selected", selected),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_properties() {
        let args = Args::parse(&words("shop selected buildpacks")).unwrap();
        assert_eq!(
            args.property,
            Property::Selected(Some(BuilderKind::Buildpacks))
        );
        let args = Args::parse(&words("shop selected")).unwrap();
        assert_eq!(args.property, Property::Selected(None));
        let args = Args::parse(&words("--global selected dockerfile")).unwrap();
        assert!(args.app.is_none());
        let args = Args::parse(&words("shop build-dir apps/web/")).unwrap();
        assert_eq!(args.property, Property::BuildDir(Some("apps/web".into())));
        for bad in [
            "shop selected pack",
            "shop build-dir ../x",
            "shop build-dir /etc",
            "shop build-dir a//b",
            "--global build-dir web",
            "shop colour red",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
