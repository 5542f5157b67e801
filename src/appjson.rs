//! app.json, parsed once into one type: `scripts.dokku.predeploy|postdeploy`, `formation`,
//! `cron` and `healthchecks` (whose entries `health::spec` turns into checks).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::health::HealthCheck;
use crate::health::{app_json_checks, AppJsonCheck};
use crate::state::CronTask;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("app.json is not valid: {0}")]
pub struct AppJsonError(String);

/// Commands run in a one-off container of the new release, around its switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scripts {
    /// Before any instance starts; failing it aborts the deploy.
    pub predeploy: Option<String>,
    /// After the switch; failing it is reported, the release stays live.
    pub postdeploy: Option<String>,
}

/// What a deploy reads from app.json.
#[derive(Debug, Clone, Default)]
pub struct AppJson {
    pub scripts: Scripts,
    /// Instances per process type; when present it wins over `ps:scale`.
    pub formation: BTreeMap<String, u32>,
    /// Cron tasks, their schedules checked.
    pub cron: Vec<CronTask>,
    /// Declared checks, with Dokku's defaults filled in.
    pub healthchecks: Vec<HealthCheck>,
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    scripts: ScriptsSection,
    #[serde(default)]
    formation: BTreeMap<String, Quantity>,
    #[serde(default)]
    cron: Vec<CronEntry>,
    #[serde(default)]
    healthchecks: BTreeMap<String, Vec<AppJsonCheck>>,
}

#[derive(Deserialize)]
struct CronEntry {
    command: String,
    schedule: String,
}

#[derive(Deserialize)]
struct Quantity {
    quantity: u32,
}

#[derive(Deserialize, Default)]
struct ScriptsSection {
    #[serde(default)]
    dokku: DokkuScripts,
}

#[derive(Deserialize, Default)]
struct DokkuScripts {
    predeploy: Option<String>,
    postdeploy: Option<String>,
}

impl AppJson {
    pub fn parse(text: &str) -> Result<AppJson, AppJsonError> {
        let document: Document =
            serde_json::from_str(text).map_err(|err| AppJsonError(err.to_string()))?;
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let cron = document
            .cron
            .into_iter()
            .map(|entry| {
                crate::crontab::Schedule::parse(&entry.schedule)
                    .map_err(|err| AppJsonError(err.to_string()))?;
                if entry.command.trim().is_empty() {
                    return Err(AppJsonError("a cron entry has an empty command".into()));
                }
                Ok(CronTask {
                    schedule: entry.schedule,
                    command: entry.command,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AppJson {
            scripts: Scripts {
                predeploy: nonempty(document.scripts.dokku.predeploy),
                postdeploy: nonempty(document.scripts.dokku.postdeploy),
            },
            formation: document
                .formation
                .into_iter()
                .map(|(process, q)| (process, q.quantity))
                .collect(),
            cron,
            healthchecks: app_json_checks(document.healthchecks),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::CheckKind;

    #[test]
    fn dokku_scripts() {
        let parsed = AppJson::parse(
            r#"{"scripts": {"dokku": {"predeploy": "bin/migrate", "postdeploy": " "}}}"#,
        )
        .unwrap()
        .scripts;
        assert_eq!(parsed.predeploy.as_deref(), Some("bin/migrate"));
        assert_eq!(parsed.postdeploy, None);
        assert_eq!(AppJson::parse("{}").unwrap().scripts, Scripts::default());
        assert!(AppJson::parse(r#"{"scripts": {"dokku": {"predeploy": 3}}}"#).is_err());
    }

    #[test]
    fn cron_entries() {
        let tasks =
            AppJson::parse(r#"{"cron": [{"command": "bin/report", "schedule": "@daily"}]}"#)
                .unwrap()
                .cron;
        assert_eq!(tasks[0].command, "bin/report");
        assert_eq!(tasks[0].id().len(), 8);
        let err =
            AppJson::parse(r#"{"cron": [{"command": "x", "schedule": "often"}]}"#).unwrap_err();
        assert!(err.to_string().contains("invalid cron schedule"), "{err}");
    }

    #[test]
    fn formation_quantities() {
        let parsed =
            AppJson::parse(r#"{"formation": {"web": {"quantity": 2}, "worker": {"quantity": 0}}}"#)
                .unwrap()
                .formation;
        assert_eq!(parsed["web"], 2);
        assert_eq!(parsed["worker"], 0);
        assert!(AppJson::parse("{}").unwrap().formation.is_empty());
        assert!(AppJson::parse(r#"{"formation": {"web": {"quantity": -1}}}"#).is_err());
    }

    #[test]
    fn app_json_checks_with_dokku_defaults() {
        let checks = AppJson::parse(
            r#"{"healthchecks": {"web": [
                {"type": "startup", "name": "ready", "path": "/health", "content": "ok",
                 "attempts": 2, "timeout": 3, "wait": 1, "initialDelay": 4,
                 "httpHeaders": [{"name": "X-Forwarded-Proto", "value": "https"}]},
                {"type": "liveness", "uptime": 5},
                {"command": ["/bin/true"]}
            ]}}"#,
        )
        .unwrap()
        .healthchecks;
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].path.as_deref(), Some("/health"));
        assert_eq!(checks[0].content.as_deref(), Some("ok"));
        assert_eq!(
            (
                checks[0].attempts,
                checks[0].timeout_secs,
                checks[0].wait_secs,
                checks[0].initial_delay_secs
            ),
            (2, 3, 1, 4)
        );
        assert_eq!(
            checks[0].headers,
            vec![("X-Forwarded-Proto".into(), "https".into())]
        );
        assert_eq!(checks[1].kind, CheckKind::Liveness);
        assert_eq!((checks[1].path.clone(), checks[1].uptime), (None, Some(5)));
        assert_eq!(checks[2].kind, CheckKind::Startup);
        assert_eq!(checks[2].name, "web check 3");
        assert_eq!((checks[2].attempts, checks[2].timeout_secs), (3, 5));
    }

    #[test]
    fn app_json_without_checks_and_broken_app_json() {
        let plain = AppJson::parse(r#"{"name": "shop"}"#).unwrap();
        assert!(plain.healthchecks.is_empty());
        assert!(AppJson::parse("{").is_err());
        assert!(AppJson::parse(r#"{"healthchecks": {"web": [{"type": "sometimes"}]}}"#).is_err());
    }
}
