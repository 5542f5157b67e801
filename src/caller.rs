//! Who runs a command: the server's own CLI, an SSH key, a deploy token, or Berth itself.

use std::fmt;

use crate::names::{AppName, KeyName};

/// Who runs a command: the server's own CLI (root, over the control socket) or an SSH key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Local,
    Key(KeyName),
    /// Berth itself: the watch window rolling back a bad release.
    Watch,
    /// A deploy token of one app (`deploy-tokens:create`), through the deploy webhook: it may
    /// run that app's commands and nothing else.
    Token {
        app: AppName,
        name: String,
    },
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Local => f.write_str("local"),
            Caller::Key(name) => f.write_str(name.as_str()),
            Caller::Watch => f.write_str("berth-watch"),
            Caller::Token { name, .. } => write!(f, "token:{name}"),
        }
    }
}

impl Caller {
    /// Refuses commands that only the server's administrator may run.
    pub fn require_local(&self, command: &str) -> Result<(), LocalOnly> {
        match self {
            Caller::Local => Ok(()),
            Caller::Key(_) | Caller::Watch | Caller::Token { .. } => {
                Err(LocalOnly(command.to_string()))
            }
        }
    }
}

/// A command only the server's own CLI may run, asked for by someone else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} can only be run on the server itself (berth {0} ...)")]
pub struct LocalOnly(String);
