//! A declared health check, as releases store it.

use serde::{Deserialize, Serialize};

/// When a check runs, as in Dokku's app.json `healthchecks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Startup,
    Readiness,
    Liveness,
}

/// One declared health check of a process type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub process: String,
    pub kind: CheckKind,
    pub name: String,
    /// An HTTP check's path (with query); `None` for command and uptime checks.
    pub path: Option<String>,
    /// The port to probe; the process's `PORT` when unset.
    pub port: Option<u16>,
    /// Text the response body must contain.
    pub content: Option<String>,
    /// A command run inside the container; exit status 0 passes.
    pub command: Option<Vec<String>>,
    /// Seconds the container must have been running.
    pub uptime: Option<u64>,
    /// Host header for HTTP checks; the app's first domain when unset.
    pub host: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub attempts: u32,
    pub timeout_secs: u64,
    pub wait_secs: u64,
    pub initial_delay_secs: u64,
}
