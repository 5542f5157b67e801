//! `(--all|<app>) [--parallel N]` for the commands that act on every app at once
//! (`ps:restart --all` after an engine upgrade, say), as Dokku's: with `--all`, every deployed
//! app in turn, and one that fails does not stop the others. Berth takes them one at a time
//! (each through its zero-downtime cutover); `--parallel` is accepted for Dokku's scripts.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    App(AppName),
    All,
}

impl Target {
    pub fn parse(argv: &mut Argv) -> Result<Target, CommandError> {
        if let Some(n) = argv.option("--parallel")? {
            if n.parse::<i64>().is_err() {
                return Err(CommandError::User(format!(
                    "--parallel takes a number, not \"{}\"",
                    shown(&n)
                )));
            }
        }
        match argv.flag("--all") {
            true => Ok(Target::All),
            false => Ok(Target::App(AppName::parse(&argv.required("app name")?)?)),
        }
    }
}

/// The apps a target names: the one app, or every app with a release.
pub fn apps(ctx: &Ctx, target: &Target) -> Vec<AppName> {
    match target {
        Target::App(app) => vec![app.clone()],
        Target::All => {
            let mut apps: Vec<AppName> = ctx
                .store
                .apps()
                .into_iter()
                .filter(|r| r.current_release.is_some())
                .map(|r| r.name)
                .collect();
            apps.sort();
            apps
        }
    }
}

/// Collects failures under `--all`: each is shown as it happens, and the command fails at the
/// end naming them. For one app, its error is the command's.
#[derive(Default)]
pub struct Outcome {
    failed: Vec<AppName>,
}

impl Outcome {
    pub async fn record(
        &mut self,
        target: &Target,
        app: AppName,
        result: Result<(), CommandError>,
        io: &mut Io,
    ) -> Result<(), CommandError> {
        match (result, target) {
            (Ok(()), _) => Ok(()),
            (Err(err), Target::App(_)) => Err(err),
            (Err(err), Target::All) => {
                io.warn(&format!("{app}: {err}")).await;
                self.failed.push(app);
                Ok(())
            }
        }
    }

    pub fn finish(self) -> Result<(), CommandError> {
        match self.failed.is_empty() {
            true => Ok(()),
            false => {
                let names: Vec<String> = self.failed.iter().map(|a| a.to_string()).collect();
                Err(CommandError::User(format!(
                    "{} app(s) failed: {}",
                    names.len(),
                    names.join(", ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_all_or_one_app() {
        let parse = |line: &str| {
            let mut argv = Argv::new("ps:restart", &words(line));
            Target::parse(&mut argv)
        };
        assert_eq!(parse("--all --parallel 4").unwrap(), Target::All);
        assert_eq!(
            parse("shop").unwrap(),
            Target::App(AppName::parse("shop").unwrap())
        );
        assert!(parse("--parallel many --all").is_err());
        assert!(parse("").is_err());
    }
}
