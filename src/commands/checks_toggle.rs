//! `checks:enable|disable|skip <app> [process,...]`: how the app's deploys are checked.
//! The three commands edit the same two lists, so they live together.
//!
//! - disable: stop-first deploys (the old release stops before the new one starts; the proxy
//!   holds requests meanwhile);
//! - skip: no checks (traffic switches as soon as the new container runs);
//! - enable: back to checked, zero-downtime deploys.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::state::ChecksSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    Enable,
    Disable,
    Skip,
}

impl Toggle {
    pub fn command(self) -> &'static str {
        match self {
            Toggle::Enable => "checks:enable",
            Toggle::Disable => "checks:disable",
            Toggle::Skip => "checks:skip",
        }
    }
}

#[derive(Debug)]
pub struct Args {
    pub toggle: Toggle,
    pub app: AppName,
    pub processes: Vec<String>,
}

impl Args {
    /// `command` is one of `checks:enable`, `checks:disable`, `checks:skip`.
    pub fn parse(command: &str, words: &[String]) -> Result<Args, CommandError> {
        let toggle = [Toggle::Enable, Toggle::Disable, Toggle::Skip]
            .into_iter()
            .find(|t| t.command() == command)
            .ok_or_else(|| CommandError::Unknown(command.to_string()))?;
        let mut argv = Argv::new(toggle.command(), words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let processes = match argv.optional()? {
            None => vec![ChecksSettings::ALL.to_string()],
            Some(list) => parse_processes(&list)?,
        };
        argv.finish()?;
        Ok(Args {
            toggle,
            app,
            processes,
        })
    }
}

fn parse_processes(list: &str) -> Result<Vec<String>, CommandError> {
    list.split(',')
        .map(|p| {
            let valid = !p.is_empty()
                && p.len() <= 63
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if valid {
                Ok(p.to_string())
            } else {
                Err(CommandError::User(format!(
                    "Invalid process type \"{shown}\"",
                    shown = crate::names::shown(p)
                )))
            }
        })
        .collect()
}

fn apply(settings: &mut ChecksSettings, toggle: Toggle, processes: &[String]) {
    let all = processes.iter().any(|p| p == ChecksSettings::ALL);
    let remove = |list: &mut Vec<String>| {
        if all {
            list.clear();
        } else {
            list.retain(|p| !processes.contains(p));
        }
    };
    remove(&mut settings.disabled);
    remove(&mut settings.skipped);
    let target = match toggle {
        Toggle::Enable => return,
        Toggle::Disable => &mut settings.disabled,
        Toggle::Skip => &mut settings.skipped,
    };
    target.extend(processes.iter().cloned());
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let processes = args.processes.clone();
    ctx.store.update_app(&args.app, |record| {
        apply(&mut record.checks, args.toggle, &processes)
    })?;
    let what = match args.toggle {
        Toggle::Enable => "enabled",
        Toggle::Disable => "disabled (stop-first deploys)",
        Toggle::Skip => "skipped",
    };
    let list = if processes.iter().any(|p| p == ChecksSettings::ALL) {
        "all processes".to_string()
    } else {
        processes.join(", ")
    };
    io.step(&format!(
        "Zero downtime checks {what} for {} ({list})",
        args.app
    ))
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn toggles_move_processes_between_lists() {
        let mut settings = ChecksSettings::default();
        apply(&mut settings, Toggle::Disable, &list(&["web"]));
        assert!(settings.is_disabled("web") && !settings.is_disabled("worker"));
        apply(&mut settings, Toggle::Skip, &list(&["web", "worker"]));
        assert!(!settings.is_disabled("web"));
        assert!(settings.is_skipped("web") && settings.is_skipped("worker"));
        apply(&mut settings, Toggle::Enable, &list(&[ChecksSettings::ALL]));
        assert_eq!(settings, ChecksSettings::default());
        apply(
            &mut settings,
            Toggle::Disable,
            &list(&[ChecksSettings::ALL]),
        );
        assert!(settings.is_disabled("anything"));
    }

    #[test]
    fn process_lists_are_validated() {
        assert_eq!(
            parse_processes("web,worker").unwrap(),
            list(&["web", "worker"])
        );
        assert!(parse_processes("web,").is_err());
        assert!(parse_processes("we b").is_err());
    }
}
