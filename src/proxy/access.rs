//! The access log: one structured line per proxied request (`app=… id=… method=… path=…
//! status=… micros=… peer=…`), in the daemon log's format. Each proxy worker collects its lines
//! in its own buffer and writes them in one batch every second or at 32 KiB, so a request never
//! waits on a lock another thread holds or on a write to the log. Each batch written also goes
//! to `Recent`, the latest lines per app that `nginx:access-logs` shows.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

/// A worker writes its lines once this much is buffered, even before the next tick.
const FLUSH_AT: usize = 32 * 1024;
/// How often each worker writes what it has buffered.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Where the lines go (`[proxy] access_log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Off,
    /// The daemon's own log.
    Stderr,
    /// A file, appended to (created 0640 if missing).
    File(PathBuf),
}

impl Destination {
    /// `[proxy] access_log`: `stderr` (or empty), `off`, or a file path.
    pub fn from_setting(setting: &str) -> Destination {
        match setting {
            "off" => Destination::Off,
            "stderr" | "" => Destination::Stderr,
            path => Destination::File(PathBuf::from(path)),
        }
    }
}

type Writer = Arc<Mutex<Box<dyn std::io::Write + Send>>>;

/// The destination, opened once and shared by every worker, and the latest lines per app.
#[derive(Clone)]
pub struct Sink {
    writer: Option<Writer>,
    recent: Arc<Recent>,
}

impl Sink {
    pub fn open(destination: &Destination) -> std::io::Result<Sink> {
        let writer: Box<dyn std::io::Write + Send> = match destination {
            Destination::Off => return Ok(Sink::off()),
            Destination::Stderr if !tracing::enabled!(target: "berth::access", tracing::Level::INFO) => {
                return Ok(Sink::off())
            }
            Destination::Stderr => Box::new(std::io::stderr()),
            Destination::File(path) => Box::new(append(path)?),
        };
        Ok(Sink {
            writer: Some(Arc::new(Mutex::new(writer))),
            recent: Arc::new(Recent::new(true)),
        })
    }

    pub fn off() -> Sink {
        Sink {
            writer: None,
            recent: Arc::new(Recent::new(false)),
        }
    }

    /// The latest lines per app, as written through this sink.
    pub fn recent(&self) -> Arc<Recent> {
        self.recent.clone()
    }
}

/// Batches of access lines as workers write them.
pub type Feed = broadcast::Receiver<Arc<str>>;

/// How much of the access log (all apps together) is kept in memory for `nginx:access-logs`.
const RECENT_BYTES: usize = 4 << 20;

/// The latest access log batches, as written, and a feed of new ones for `nginx:access-logs
/// -t`. A written batch is moved here whole; lines are picked out per app only when someone
/// reads them, so requests pay nothing for it.
pub struct Recent {
    enabled: bool,
    batches: Mutex<(VecDeque<Arc<str>>, usize)>,
    feed: broadcast::Sender<Arc<str>>,
}

/// The app a line is about (its `app=` field).
pub fn app_of(line: &str) -> Option<&str> {
    line.split(" app=").nth(1)?.split(' ').next()
}

impl Recent {
    fn new(enabled: bool) -> Recent {
        Recent {
            enabled,
            batches: Mutex::default(),
            feed: broadcast::Sender::new(64),
        }
    }

    /// Whether the access log is written at all (`[proxy] access_log` not `off`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The last `lines` kept lines of `app`, and with `follow` a receiver of every later
    /// batch, taken together so that no line is missed or seen twice.
    pub fn tail(&self, app: &str, lines: usize, follow: bool) -> (Vec<Arc<str>>, Option<Feed>) {
        let batches = self.lock();
        let mut kept: Vec<Arc<str>> = batches
            .0
            .iter()
            .rev()
            .flat_map(|batch| batch.lines().rev())
            .filter(|line| app_of(line) == Some(app))
            .take(lines)
            .map(Arc::from)
            .collect();
        kept.reverse();
        (kept, follow.then(|| self.feed.subscribe()))
    }

    fn add(&self, batch: String) {
        let batch: Arc<str> = batch.into();
        let mut batches = self.lock();
        let (kept, bytes) = &mut *batches;
        *bytes += batch.len();
        kept.push_back(batch.clone());
        while *bytes > RECENT_BYTES {
            match kept.pop_front() {
                Some(old) => *bytes -= old.len(),
                None => break,
            }
        }
        if self.feed.receiver_count() > 0 {
            let _ = self.feed.send(batch);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (VecDeque<Arc<str>>, usize)> {
        self.batches.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// One request's line.
pub struct Entry<'a> {
    pub app: &'a str,
    pub id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub micros: u64,
    pub peer: IpAddr,
}

/// One worker's buffer in front of the shared sink.
pub struct AccessLog {
    sink: Sink,
    buffer: Mutex<Buffer>,
}

#[derive(Default)]
struct Buffer {
    lines: String,
    /// The formatted timestamp of `second`, reused within it.
    second: u64,
    stamp: String,
}

impl AccessLog {
    pub fn new(sink: Sink) -> AccessLog {
        AccessLog {
            sink,
            buffer: Mutex::new(Buffer::default()),
        }
    }

    pub fn record(&self, entry: &Entry<'_>) {
        if self.sink.writer.is_none() {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let full = {
            let mut buffer = self.lock();
            buffer.push(now, entry);
            buffer.lines.len() >= FLUSH_AT
        };
        if full {
            self.flush();
        }
    }

    /// Writes the buffered lines, if any, in one write.
    pub fn flush(&self) {
        let Some(sink) = &self.sink.writer else {
            return;
        };
        let lines = std::mem::take(&mut self.lock().lines);
        if lines.is_empty() {
            return;
        }
        let mut writer = sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = writer
            .write_all(lines.as_bytes())
            .and_then(|_| writer.flush())
        {
            tracing::warn!(error = %err, "cannot write the access log");
        }
        drop(writer);
        self.sink.recent.add(lines);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Buffer {
    fn push(&mut self, now: Duration, entry: &Entry<'_>) {
        if self.stamp.is_empty() || now.as_secs() != self.second {
            self.second = now.as_secs();
            self.stamp = crate::clock::iso(now.as_secs());
        }
        let _ = writeln!(
            self.lines,
            "{}.{:06}Z  INFO berth::access: app={} id={} method={} path={} status={} micros={} peer={}",
            self.stamp,
            now.subsec_micros(),
            entry.app,
            entry.id,
            entry.method,
            entry.path,
            entry.status,
            entry.micros,
            entry.peer
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_buffered_until_flushed_then_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::new(Sink::open(&Destination::File(path.clone())).unwrap());
        let entry = Entry {
            app: "shop",
            id: "abc",
            method: "GET",
            path: "/cart?x=1",
            status: 200,
            micros: 812,
            peer: "203.0.113.9".parse().unwrap(),
        };
        log.record(&entry);
        log.record(&Entry {
            status: 404,
            ..entry
        });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        log.flush();
        let written = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 2, "{written}");
        assert!(lines[0].ends_with(
            "Z  INFO berth::access: app=shop id=abc method=GET path=/cart?x=1 status=200 micros=812 peer=203.0.113.9"
        ), "{written}");
        assert!(lines[1].contains("status=404"));
        assert_eq!(lines[0].find('T'), Some(10), "an RFC 3339 timestamp first");

        let recent = log.sink.recent();
        let (kept, _) = recent.tail("shop", 1, false);
        assert_eq!(kept.len(), 1);
        assert!(kept[0].contains("status=404"), "the latest line: {kept:?}");
        let (kept, mut feed) = recent.tail("shop", 10, true);
        assert_eq!(kept.len(), 2);
        assert!(kept[0].contains("status=200"), "oldest first: {kept:?}");
        log.record(&Entry {
            app: "other",
            ..entry
        });
        log.flush();
        let batch = feed.as_mut().unwrap().try_recv().unwrap();
        assert_eq!(
            batch.lines().map(app_of).collect::<Vec<_>>(),
            vec![Some("other")]
        );
        assert!(recent.tail("nobody", 10, false).0.is_empty());
    }
}
