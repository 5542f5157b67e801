//! Reading declared checks: Dokku's app.json `healthchecks` (as `appjson::AppJson` parses the
//! file) and the legacy `CHECKS` file.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{CheckKind, HealthCheck};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CHECKS line {line}: {message}")]
pub struct SpecError {
    line: usize,
    message: String,
}

/// One entry of app.json `healthchecks`, as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppJsonCheck {
    #[serde(rename = "type", default = "startup")]
    kind: CheckKind,
    name: Option<String>,
    path: Option<String>,
    port: Option<u16>,
    content: Option<String>,
    command: Option<Vec<String>>,
    uptime: Option<u64>,
    attempts: Option<u32>,
    timeout: Option<u64>,
    wait: Option<u64>,
    initial_delay: Option<u64>,
    #[serde(default)]
    http_headers: Vec<AppJsonHeader>,
}

#[derive(Deserialize)]
struct AppJsonHeader {
    name: String,
    value: String,
}

fn startup() -> CheckKind {
    CheckKind::Startup
}

/// The checks app.json declares, per Dokku's defaults (3 attempts, 5 s timeout, 5 s wait).
pub fn app_json_checks(declared: BTreeMap<String, Vec<AppJsonCheck>>) -> Vec<HealthCheck> {
    let mut checks = Vec::new();
    for (process, list) in declared {
        for (index, check) in list.into_iter().enumerate() {
            let kinds = [check.command.is_some(), check.uptime.is_some()];
            let path = match (&check.path, kinds) {
                (Some(path), _) => Some(normalize_path(path)),
                (None, [false, false]) => Some("/".to_string()),
                (None, _) => None,
            };
            checks.push(HealthCheck {
                process: process.clone(),
                kind: check.kind,
                name: check
                    .name
                    .unwrap_or_else(|| format!("{process} check {}", index + 1)),
                path,
                port: check.port,
                content: check.content,
                command: check.command,
                uptime: check.uptime,
                host: None,
                headers: check
                    .http_headers
                    .into_iter()
                    .map(|h| (h.name, h.value))
                    .collect(),
                attempts: check.attempts.unwrap_or(3).max(1),
                timeout_secs: check.timeout.unwrap_or(5).max(1),
                wait_secs: check.wait.unwrap_or(5),
                initial_delay_secs: check.initial_delay.unwrap_or(0),
            });
        }
    }
    checks
}

fn normalize_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The legacy CHECKS file: `WAIT=`, `TIMEOUT=`, `ATTEMPTS=` settings, `#` comments, and lines
/// `<path> [expected content]`, `//host/path [content]` or `http(s)://host/path [content]`.
/// Its checks are startup checks of `web` (defaults: wait 5, timeout 30, attempts 5).
pub fn from_checks_file(text: &str) -> Result<Vec<HealthCheck>, SpecError> {
    let (mut wait, mut timeout, mut attempts) = (5u64, 30u64, 5u32);
    let mut targets = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: String| SpecError {
            line: index + 1,
            message,
        };
        if let Some((key, value)) = line.split_once('=').filter(|(k, _)| !k.contains('/')) {
            let number: u64 = value
                .trim()
                .parse()
                .map_err(|_| fail(format!("{key} needs a number of seconds")))?;
            match key.trim() {
                "WAIT" => wait = number,
                "TIMEOUT" => timeout = number.max(1),
                "ATTEMPTS" => attempts = u32::try_from(number.max(1)).unwrap_or(u32::MAX),
                other => return Err(fail(format!("unknown setting {other}"))),
            }
            continue;
        }
        let (target, content) = match line.split_once(char::is_whitespace) {
            Some((target, content)) => (target, Some(content.trim().to_string())),
            None => (line, None),
        };
        let (host, path) =
            split_target(target).ok_or_else(|| fail(format!("{target} is not a path or URL")))?;
        targets.push((host, path, content));
    }
    Ok(targets
        .into_iter()
        .map(|(host, path, content)| HealthCheck {
            process: "web".to_string(),
            kind: CheckKind::Startup,
            name: format!("CHECKS {path}"),
            path: Some(path),
            port: None,
            content,
            command: None,
            uptime: None,
            host,
            headers: Vec::new(),
            attempts,
            timeout_secs: timeout,
            wait_secs: wait,
            initial_delay_secs: wait,
        })
        .collect())
}

/// `/path` → (None, /path); `//host/path` or `http://host/path` → (Some(host), /path).
fn split_target(target: &str) -> Option<(Option<String>, String)> {
    if target.starts_with('/') && !target.starts_with("//") {
        return Some((None, target.to_string()));
    }
    let rest = target
        .strip_prefix("//")
        .or_else(|| target.strip_prefix("http://"))
        .or_else(|| target.strip_prefix("https://"))?;
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], rest[slash..].to_string()),
        None => (rest, "/".to_string()),
    };
    (!host.is_empty()).then(|| (Some(host.to_string()), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_file() {
        let checks = from_checks_file(
            "# comment\nWAIT=2\nTIMEOUT=10\nATTEMPTS=3\n/ Welcome\n//admin.example/health ok\nhttps://shop.example\n",
        )
        .unwrap();
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].path.as_deref(), Some("/"));
        assert_eq!(checks[0].content.as_deref(), Some("Welcome"));
        assert_eq!(
            (
                checks[0].wait_secs,
                checks[0].timeout_secs,
                checks[0].attempts
            ),
            (2, 10, 3)
        );
        assert_eq!(checks[1].host.as_deref(), Some("admin.example"));
        assert_eq!(checks[1].path.as_deref(), Some("/health"));
        assert_eq!(checks[2].host.as_deref(), Some("shop.example"));
        assert_eq!(checks[2].path.as_deref(), Some("/"));
        let err = from_checks_file("WAIT=soon\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "CHECKS line 1: WAIT needs a number of seconds"
        );
    }
}
