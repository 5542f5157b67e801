//! Who runs a command: the server's own CLI, an SSH key, or Berth itself.

use std::fmt;

use crate::names::KeyName;

/// Who runs a command: the server's own CLI (root, over the control socket) or an SSH key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Local,
    Key(KeyName),
    /// Berth itself: the watch window rolling back a bad release.
    Watch,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Local => f.write_str("local"),
            Caller::Key(name) => f.write_str(name.as_str()),
            Caller::Watch => f.write_str("berth-watch"),
        }
    }
}

impl Caller {
    /// Refuses commands that only the server's administrator may run.
    pub fn require_local(&self, command: &str) -> Result<(), LocalOnly> {
        match self {
            Caller::Local => Ok(()),
            Caller::Key(_) | Caller::Watch => Err(LocalOnly(command.to_string())),
        }
    }
}

/// A command only the server's own CLI may run, asked for by someone else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} can only be run on the server itself (berth {0} ...)")]
pub struct LocalOnly(String);
