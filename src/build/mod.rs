//! Builders: which one builds a push (`builder:set`, a Dockerfile, buildpack settings), and the
//! buildpack builder itself (Heroku's classic API, run in a container from the stack image).
//!
//! The Dockerfile builder is `ImageBuilder::build`; this module adds the buildpack one on top of
//! `ImageBuilder::compile` and `assemble`, so it works with any engine behind those traits.

mod buildpacks;
mod compile;
mod release;

pub use buildpacks::{BuildpackRef, BUNDLED};
pub use compile::{build_with_buildpacks, cache_volume, BuildpackBuild, Slug};

use std::collections::BTreeMap;

use crate::scheduler::SchedulerError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The settings or the pushed code ask for something Berth will not do; the message says why.
    #[error("{0}")]
    Refused(String),
    /// The build ran and failed (a buildpack, a fetch); its output has been shown.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Engine(#[from] SchedulerError),
}

/// The builders a user can choose with `builder:set <app> selected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderKind {
    Dockerfile,
    Buildpacks,
}

impl BuilderKind {
    /// `dockerfile` or `buildpacks` (`herokuish`, Dokku's name, is accepted for the latter).
    pub fn parse(raw: &str) -> Result<BuilderKind, BuildError> {
        match raw {
            "dockerfile" => Ok(BuilderKind::Dockerfile),
            "buildpacks" | "herokuish" => Ok(BuilderKind::Buildpacks),
            other => Err(BuildError::Refused(format!(
                "Invalid builder \"{shown}\": use dockerfile or buildpacks (or an empty value for auto)"
            , shown = crate::names::shown(other)))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BuilderKind::Dockerfile => "dockerfile",
            BuilderKind::Buildpacks => "buildpacks",
        }
    }
}

/// The builder a build uses and why, as the deploy output says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: BuilderKind,
    pub reason: String,
}

/// The buildpacks a push asked for, and where the list came from; `None` means auto-detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildpackList {
    pub refs: Vec<String>,
    pub origin: &'static str,
}

/// The app's buildpacks (`buildpacks:add`), else `BUILDPACK_URL`, else the `.buildpacks` file.
/// The last two come with the push, so they may not read the host's files.
pub fn buildpack_list(
    app_list: &[String],
    env: &BTreeMap<String, String>,
    buildpacks_file: Option<&str>,
) -> Result<Option<BuildpackList>, BuildError> {
    if !app_list.is_empty() {
        return Ok(Some(BuildpackList {
            refs: app_list.to_vec(),
            origin: "buildpacks:add",
        }));
    }
    let (refs, origin): (Vec<String>, _) = match (env.get("BUILDPACK_URL"), buildpacks_file) {
        (Some(url), _) if !url.trim().is_empty() => (vec![url.trim().to_string()], "BUILDPACK_URL"),
        (_, Some(text)) => (
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
            "the .buildpacks file",
        ),
        _ => return Ok(None),
    };
    for raw in &refs {
        if BuildpackRef::parse(raw)?.reads_host_files() {
            return Err(BuildError::Refused(format!(
                "{origin} names {raw}, which reads this server's files; use a bundled name or a remote git URL"
            )));
        }
    }
    if refs.is_empty() {
        return Ok(None);
    }
    Ok(Some(BuildpackList { refs, origin }))
}

/// `builder:set selected` wins; else buildpacks the app or push names; else the Dockerfile when
/// there is one; else buildpacks.
pub fn choose(
    selected: Option<BuilderKind>,
    has_dockerfile: bool,
    list: Option<&BuildpackList>,
) -> Result<Choice, BuildError> {
    let choice = |kind, reason: &str| Choice {
        kind,
        reason: reason.to_string(),
    };
    Ok(match (selected, list) {
        (Some(BuilderKind::Dockerfile), _) if !has_dockerfile => {
            return Err(BuildError::Refused(
                "The builder is set to dockerfile but the build directory has no Dockerfile (at its dockerfile-path); add one, or: builder:set <app> selected"
                    .to_string(),
            ))
        }
        (Some(kind), _) => choice(kind, "selected with builder:set"),
        (None, Some(list)) => choice(
            BuilderKind::Buildpacks,
            &format!("buildpacks set by {}", list.origin),
        ),
        (None, None) if has_dockerfile => choice(BuilderKind::Dockerfile, "a Dockerfile is present"),
        (None, None) => choice(BuilderKind::Buildpacks, "no Dockerfile"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_app_list_wins_then_buildpack_url_then_the_file() {
        let file = Some("# comment\nnodejs\n\nhttps://example.com/bp.git#v1\n");
        let url = env(&[("BUILDPACK_URL", "python")]);
        let list = buildpack_list(&["static".into()], &url, file)
            .unwrap()
            .unwrap();
        assert_eq!(
            (list.refs, list.origin),
            (vec!["static".to_string()], "buildpacks:add")
        );
        let list = buildpack_list(&[], &url, file).unwrap().unwrap();
        assert_eq!(list.refs, ["python"]);
        let list = buildpack_list(&[], &env(&[]), file).unwrap().unwrap();
        assert_eq!(list.refs, ["nodejs", "https://example.com/bp.git#v1"]);
        assert_eq!(buildpack_list(&[], &env(&[]), None).unwrap(), None);
        assert_eq!(buildpack_list(&[], &env(&[]), Some("\n")).unwrap(), None);
    }

    #[test]
    fn a_push_cannot_name_host_files_or_nonsense() {
        for text in ["/etc\n", "file:///srv/bp.git\n", "ruby\n"] {
            assert!(
                buildpack_list(&[], &env(&[]), Some(text)).is_err(),
                "{text}"
            );
        }
        let url = env(&[("BUILDPACK_URL", "/srv/bp")]);
        assert!(buildpack_list(&[], &url, None).is_err());
    }

    #[test]
    fn choosing_a_builder() {
        let list = BuildpackList {
            refs: vec!["static".into()],
            origin: "BUILDPACK_URL",
        };
        let kind = |selected, dockerfile, list| choose(selected, dockerfile, list).map(|c| c.kind);
        assert_eq!(kind(None, true, None).unwrap(), BuilderKind::Dockerfile);
        assert_eq!(kind(None, false, None).unwrap(), BuilderKind::Buildpacks);
        assert_eq!(
            kind(None, true, Some(&list)).unwrap(),
            BuilderKind::Buildpacks
        );
        assert_eq!(
            kind(Some(BuilderKind::Buildpacks), true, None).unwrap(),
            BuilderKind::Buildpacks
        );
        assert_eq!(
            kind(Some(BuilderKind::Dockerfile), true, Some(&list)).unwrap(),
            BuilderKind::Dockerfile
        );
        assert!(kind(Some(BuilderKind::Dockerfile), false, None).is_err());
        assert_eq!(
            choose(None, true, Some(&list)).unwrap().reason,
            "buildpacks set by BUILDPACK_URL"
        );
    }
}
