//! The parts of app.json outside health checks: `scripts.dokku.predeploy|postdeploy`,
//! `formation` and `cron`. (Health checks are read by `health::spec`.)

use serde::Deserialize;

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

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    scripts: ScriptsSection,
    #[serde(default)]
    formation: std::collections::BTreeMap<String, Quantity>,
    #[serde(default)]
    cron: Vec<CronEntry>,
}

#[derive(Deserialize)]
struct CronEntry {
    command: String,
    schedule: String,
}

/// app.json `cron` entries, their schedules checked.
pub fn cron(text: &str) -> Result<Vec<crate::state::CronTask>, AppJsonError> {
    let document: Document =
        serde_json::from_str(text).map_err(|err| AppJsonError(err.to_string()))?;
    document
        .cron
        .into_iter()
        .map(|entry| {
            crate::cron::Schedule::parse(&entry.schedule)
                .map_err(|err| AppJsonError(err.to_string()))?;
            if entry.command.trim().is_empty() {
                return Err(AppJsonError("a cron entry has an empty command".into()));
            }
            Ok(crate::state::CronTask {
                schedule: entry.schedule,
                command: entry.command,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct Quantity {
    quantity: u32,
}

/// app.json `formation`: instances per process type. When present it wins over `ps:scale`.
pub fn formation(text: &str) -> Result<std::collections::BTreeMap<String, u32>, AppJsonError> {
    let document: Document =
        serde_json::from_str(text).map_err(|err| AppJsonError(err.to_string()))?;
    Ok(document
        .formation
        .into_iter()
        .map(|(process, q)| (process, q.quantity))
        .collect())
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

pub fn scripts(text: &str) -> Result<Scripts, AppJsonError> {
    let document: Document =
        serde_json::from_str(text).map_err(|err| AppJsonError(err.to_string()))?;
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    Ok(Scripts {
        predeploy: nonempty(document.scripts.dokku.predeploy),
        postdeploy: nonempty(document.scripts.dokku.postdeploy),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dokku_scripts() {
        let parsed =
            scripts(r#"{"scripts": {"dokku": {"predeploy": "bin/migrate", "postdeploy": " "}}}"#)
                .unwrap();
        assert_eq!(parsed.predeploy.as_deref(), Some("bin/migrate"));
        assert_eq!(parsed.postdeploy, None);
        assert_eq!(scripts("{}").unwrap(), Scripts::default());
        assert!(scripts(r#"{"scripts": {"dokku": {"predeploy": 3}}}"#).is_err());
    }

    #[test]
    fn cron_entries() {
        let tasks = cron(r#"{"cron": [{"command": "bin/report", "schedule": "@daily"}]}"#).unwrap();
        assert_eq!(tasks[0].command, "bin/report");
        assert_eq!(tasks[0].id().len(), 8);
        let err = cron(r#"{"cron": [{"command": "x", "schedule": "often"}]}"#).unwrap_err();
        assert!(err.to_string().contains("invalid cron schedule"), "{err}");
    }

    #[test]
    fn formation_quantities() {
        let parsed =
            formation(r#"{"formation": {"web": {"quantity": 2}, "worker": {"quantity": 0}}}"#)
                .unwrap();
        assert_eq!(parsed["web"], 2);
        assert_eq!(parsed["worker"], 0);
        assert!(formation("{}").unwrap().is_empty());
        assert!(formation(r#"{"formation": {"web": {"quantity": -1}}}"#).is_err());
    }
}
