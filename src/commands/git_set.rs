//! `git:set (<app>|--global) deploy-branch|rev-env-var [<value>]` and `git:report <app>`: which
//! branch's pushes deploy, and which config var carries the deployed commit (Dokku's names);
//! `git:set --global sync-allowed-hosts <host>[,<host>…]`, Berth's, the hosts on the server's
//! own network that developer keys and deploy tokens may `git:sync` from.
//! Unset falls back to the global value, then to `main`/`master` and `GIT_REV`; `rev-env-var`
//! set to an empty word (`''`) turns the variable off.

use super::argv::{AppArgs, Argv};
use super::config_common::valid_key;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::git::{is_branch_name, rev_env_var, valid_allowed_host, DeployBranch};
use crate::names::{shown, AppName};
use crate::state::GitSettings;

/// How a turned-off `rev-env-var` reads in a report (no variable name has parentheses).
const NO_VARIABLE: &str = "(none)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// `None`: unset.
    DeployBranch(Option<String>),
    /// `None`: unset; `Some("")`: no variable.
    RevEnvVar(Option<String>),
    /// Global only; empty: none.
    SyncAllowedHosts(Vec<String>),
}

#[derive(Debug)]
pub struct Args {
    /// `None`: `--global`.
    pub app: Option<AppName>,
    pub property: Property,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("git:set", words);
        let app = argv.app_or_global()?;
        let key = argv.required("property")?;
        let value = argv.optional()?;
        argv.finish()?;
        let property =
            match key.as_str() {
                "deploy-branch" => Property::DeployBranch(
                    value
                        .filter(|v| !v.is_empty())
                        .map(|v| match is_branch_name(&v) {
                            true => Ok(v),
                            false => Err(CommandError::User(format!(
                                "Invalid deploy-branch \"{}\": not a git branch name",
                                shown(&v)
                            ))),
                        })
                        .transpose()?,
                ),
                "rev-env-var" => {
                    if let Some(name) = value.as_deref().filter(|v| !v.is_empty()) {
                        valid_key(name)?;
                    }
                    Property::RevEnvVar(value)
                }
                "sync-allowed-hosts" if app.is_some() => return Err(CommandError::User(
                    "sync-allowed-hosts is global: git:set --global sync-allowed-hosts <host>[,<host>…]"
                        .into(),
                )),
                "sync-allowed-hosts" => {
                    let hosts: Vec<String> = value
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(String::from)
                        .collect();
                    if let Some(bad) = hosts.iter().find(|h| !valid_allowed_host(h)) {
                        return Err(CommandError::User(format!(
                            "Invalid host \"{}\": a lowercase host name or an IP address",
                            shown(bad)
                        )));
                    }
                    Property::SyncAllowedHosts(hosts)
                }
                "keep-git-dir" => return Err(CommandError::User(
                    "keep-git-dir is not supported: builds get the commit's files without .git; \
                     the commit is in GIT_REV"
                        .into(),
                )),
                other => {
                    return Err(CommandError::User(format!(
                        "Invalid property \"{}\": git:set knows deploy-branch, rev-env-var and sync-allowed-hosts",
                        shown(other)
                    )))
                }
            };
        Ok(Args { app, property })
    }
}

impl Property {
    fn name(&self) -> &'static str {
        match self {
            Property::DeployBranch(_) => "deploy-branch",
            Property::RevEnvVar(_) => "rev-env-var",
            Property::SyncAllowedHosts(_) => "sync-allowed-hosts",
        }
    }

    fn apply(&self, settings: &mut GitSettings) {
        match self {
            Property::DeployBranch(value) => settings.deploy_branch = value.clone(),
            Property::RevEnvVar(value) => settings.rev_env_var = value.clone(),
            Property::SyncAllowedHosts(hosts) => settings.sync_allowed_hosts = hosts.clone(),
        }
    }

    fn value(&self) -> Option<String> {
        match self {
            Property::DeployBranch(value) | Property::RevEnvVar(value) => value.clone(),
            Property::SyncAllowedHosts(hosts) if hosts.is_empty() => None,
            Property::SyncAllowedHosts(hosts) => Some(hosts.join(",")),
        }
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let property = &args.property;
    match &args.app {
        Some(app) => {
            ctx.store
                .update_app(app, |record| property.apply(&mut record.git))?;
        }
        None => ctx
            .store
            .update_global(|global| property.apply(&mut global.git))?,
    }
    let target = args
        .app
        .as_ref()
        .map_or("--global".to_string(), |app| app.to_string());
    let name = property.name();
    let line = match property.value().as_deref() {
        None => format!("Unsetting {name} for {target}"),
        Some("") => format!("Turning off {name} for {target}: no variable carries the commit"),
        Some(value) => format!("Setting {name} to {value} for {target}"),
    };
    io.step(&line).await;
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let global = ctx.store.global().git;
    let own = &record.git;
    let var_text = |value: &Option<String>| match value.as_deref() {
        Some("") => NO_VARIABLE.to_string(),
        other => other.unwrap_or_default().to_string(),
    };
    let computed_var = rev_env_var(own, &global).unwrap_or_else(|| NO_VARIABLE.to_string());
    let (sha, image) = match record.current() {
        Some(release) => match &release.git_rev {
            Some(rev) => (rev.clone(), String::new()),
            None => (
                String::new(),
                release
                    .source_image
                    .clone()
                    .unwrap_or_else(|| release.image.clone()),
            ),
        },
        None => (String::new(), String::new()),
    };
    report(
        io,
        &format!("{} git information", args.app),
        &[
            (
                "Git computed deploy branch",
                DeployBranch::of(own, &global).to_string(),
            ),
            (
                "Git deploy branch",
                own.deploy_branch.clone().unwrap_or_default(),
            ),
            (
                "Git global deploy branch",
                global.deploy_branch.clone().unwrap_or_default(),
            ),
            ("Git computed rev env var", computed_var),
            ("Git rev env var", var_text(&own.rev_env_var)),
            ("Git global rev env var", var_text(&global.rev_env_var)),
            (
                "Git sync allowed hosts",
                global.sync_allowed_hosts.join(","),
            ),
            ("Git sha", sha),
            ("Git source image", image),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_properties() {
        let args = Args::parse(&words("shop deploy-branch prod")).unwrap();
        assert_eq!(
            (args.app.unwrap().as_str(), args.property),
            ("shop", Property::DeployBranch(Some("prod".into())))
        );
        let args = Args::parse(&words("--global deploy-branch")).unwrap();
        assert!(args.app.is_none());
        assert_eq!(args.property, Property::DeployBranch(None));
        let args = Args::parse(&["shop".into(), "rev-env-var".into(), String::new()]).unwrap();
        assert_eq!(args.property, Property::RevEnvVar(Some(String::new())));
        let args = Args::parse(&words("shop rev-env-var")).unwrap();
        assert_eq!(args.property, Property::RevEnvVar(None));
        let args =
            Args::parse(&words("--global sync-allowed-hosts 10.0.0.5,git.internal")).unwrap();
        let hosts = vec!["10.0.0.5".to_string(), "git.internal".to_string()];
        assert_eq!(args.property, Property::SyncAllowedHosts(hosts));
        for bad in [
            "shop deploy-branch a..b",
            "shop deploy-branch -x",
            "shop rev-env-var 1X",
            "shop keep-git-dir true",
            "shop colour red",
            "shop deploy-branch a b",
            "shop sync-allowed-hosts 10.0.0.5",
            "--global sync-allowed-hosts Git.Internal",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
