//! The audit log: every command (its name, app, key, source address, exit status, duration)
//! and every push (its commit and result), one JSON line each in `<data_dir>/events.log`.
//! Never a command's arguments: they may hold config values or secrets. Bounded: past
//! `MAX_BYTES` the file becomes `events.log.1` (the one before is dropped), so the log takes at
//! most twice that. New events are also sent to followers (`events -t`).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::names::{shown, AppName};

/// Bytes one file of the log may reach before it is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Command,
    Push,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unix seconds.
    pub time: u64,
    pub kind: Kind,
    /// The key's name, `local` (the server's CLI) or `berth-watch`.
    pub key: String,
    /// The client's address, `local` for the server's CLI.
    pub source: String,
    /// The command's name as typed (`git-receive-pack` for a push).
    pub command: String,
    pub app: Option<AppName>,
    pub status: i32,
    pub duration_ms: u64,
    /// A push's deployed commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = format!("{}Z", crate::clock::iso(self.time));
        let kind = match self.kind {
            Kind::Command => "command",
            Kind::Push => "push",
        };
        write!(
            f,
            "{time} {kind} {} app={} key={} source={} status={} duration={}ms",
            shown(&self.command),
            self.app.as_ref().map_or("-", AppName::as_str),
            shown(&self.key),
            shown(&self.source),
            self.status,
            self.duration_ms
        )?;
        if let Some(commit) = &self.commit {
            write!(f, " commit={}", shown(commit))?;
        }
        Ok(())
    }
}

/// The log on disk and its followers.
pub struct EventLog {
    path: PathBuf,
    /// Held while appending and rotating, so lines never interleave.
    file: Mutex<()>,
    live: broadcast::Sender<Event>,
}

impl EventLog {
    pub fn new(path: PathBuf) -> EventLog {
        EventLog {
            path,
            file: Mutex::new(()),
            live: broadcast::channel(256).0,
        }
    }

    /// Appends `event` and tells followers; a failure to write is logged, never the
    /// command's.
    pub fn record(&self, event: Event) {
        if let Err(err) = self.append(&event) {
            tracing::error!(error = %err, path = %self.path.display(), "cannot write the audit log");
        }
        let _ = self.live.send(event);
    }

    fn append(&self, event: &Event) -> std::io::Result<()> {
        let line = serde_json::to_string(event).map_err(std::io::Error::other)? + "\n";
        let _held = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        if size + line.len() as u64 > MAX_BYTES {
            std::fs::rename(&self.path, rotated(&self.path))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode_0600()
            .open(&self.path)?;
        file.write_all(line.as_bytes())
    }

    /// The latest `n` events that `keep` keeps, oldest first. Read without the writers' lock:
    /// a line being appended is whole or not there, and one cut short is skipped.
    pub fn latest(&self, n: usize, keep: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut events: Vec<Event> = [rotated(&self.path), self.path.clone()]
            .iter()
            .flat_map(|path| read(path))
            .filter(|e| keep(e))
            .collect();
        let skip = events.len().saturating_sub(n);
        events.drain(..skip);
        events
    }

    /// Events recorded from now on.
    pub fn follow(&self) -> broadcast::Receiver<Event> {
        self.live.subscribe()
    }
}

fn rotated(path: &Path) -> PathBuf {
    path.with_extension("log.1")
}

/// Every readable line of one file (a line cut short by a crash is skipped).
fn read(path: &Path) -> Vec<Event> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect()
}

/// `OpenOptions::mode(0o600)`, named.
trait Private {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Private for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> Event {
        Event {
            time: 1_700_000_000 + n,
            kind: Kind::Command,
            key: "alice".into(),
            source: "127.0.0.1".into(),
            command: "config:set".into(),
            app: Some(AppName::parse("shop").unwrap()),
            status: 0,
            duration_ms: n,
            commit: None,
        }
    }

    #[test]
    fn the_log_keeps_the_latest_events_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("events.log"));
        let line = serde_json::to_string(&event(0)).unwrap().len() as u64 + 1;
        let many = 3 * MAX_BYTES / line;
        for n in 0..many {
            log.record(event(n));
        }
        let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(size("events.log") <= MAX_BYTES && size("events.log.1") <= MAX_BYTES);
        let latest = log.latest(3, |_| true);
        let numbers: Vec<u64> = latest.iter().map(|e| e.duration_ms).collect();
        assert_eq!(numbers, [many - 3, many - 2, many - 1]);
        assert!(log.latest(usize::MAX, |_| true).len() as u64 > MAX_BYTES / line);
    }

    #[test]
    fn an_event_prints_on_one_line_without_terminal_escapes() {
        let mut e = event(5);
        e.command = "x\u{1b}[2J\nfake".into();
        assert_eq!(
            e.to_string(),
            "2023-11-14T22:13:25Z command x\\u{1b}[2J\\nfake app=shop key=alice source=127.0.0.1 status=0 duration=5ms"
        );
    }
}
