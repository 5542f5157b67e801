//! The access log: one line per proxied request, in Berth's structured format (`app=… id=…
//! method=… path=… status=… micros=… peer=…`, as the daemon's log reads) or in nginx's
//! `combined` format (`[proxy] access_log_format`). Each proxy worker collects its lines in its
//! own buffer and hands them over every half second or at 32 KiB, so a request never waits on a lock
//! another thread holds or on a write to the log; the lines of every worker are then written
//! in time order (`order.rs`), and each written batch also goes to `Recent`, the latest lines
//! that `nginx:access-logs` shows.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use super::access_order::Recent;
use super::access_order::{Batch, Output};

/// A worker hands its lines over once this much is buffered, even before the next tick.
const FLUSH_AT: usize = 32 * 1024;
/// How often each worker hands over what it has buffered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

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

/// How a line reads (`[proxy] access_log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `<time>  INFO berth::access: app=… id=… method=… path=… status=… micros=… peer=…`
    Berth,
    /// nginx's `combined`: `$remote_addr - $remote_user [$time_local] "$request" $status
    /// $body_bytes_sent "$http_referer" "$http_user_agent"`, times in UTC.
    Combined,
}

/// The destination, opened once and shared by every worker, and the latest lines.
#[derive(Clone)]
pub struct Sink {
    format: Format,
    output: Option<Arc<Output>>,
    recent: Arc<Recent>,
}

impl Sink {
    pub fn open(destination: &Destination, format: Format) -> std::io::Result<Sink> {
        let writer: Box<dyn std::io::Write + Send> = match destination {
            Destination::Off => return Ok(Sink::off()),
            Destination::Stderr if !tracing::enabled!(target: "berth::access", tracing::Level::INFO) => {
                return Ok(Sink::off())
            }
            Destination::Stderr => Box::new(std::io::stderr()),
            Destination::File(path) => Box::new(append(path)?),
        };
        let recent = Arc::new(Recent::new(true));
        Ok(Sink {
            format,
            output: Some(Arc::new(Output::new(writer, recent.clone()))),
            recent,
        })
    }

    pub fn off() -> Sink {
        Sink {
            format: Format::Berth,
            output: None,
            recent: Arc::new(Recent::new(false)),
        }
    }

    /// The latest lines, as written through this sink.
    pub fn recent(&self) -> Arc<Recent> {
        self.recent.clone()
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
    /// What only the combined format shows.
    pub client: Option<&'a Client>,
}

/// The combined format's fields beyond Berth's: the client's request version, Basic auth user,
/// Referer and User-Agent as it sent them, and the response body's size.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub version: &'static str,
    pub user: Option<String>,
    pub referer: Option<hyper::header::HeaderValue>,
    pub agent: Option<hyper::header::HeaderValue>,
    pub bytes: u64,
}

impl Client {
    /// What `request` tells about its client.
    pub fn of<B>(request: &hyper::Request<B>) -> Client {
        use hyper::header::{AUTHORIZATION, REFERER, USER_AGENT};
        let headers = request.headers();
        Client {
            version: match request.version() {
                hyper::Version::HTTP_10 => "HTTP/1.0",
                hyper::Version::HTTP_2 => "HTTP/2.0",
                _ => "HTTP/1.1",
            },
            user: headers
                .get(AUTHORIZATION)
                .and_then(|value| super::policy::basic_user(value.as_bytes())),
            referer: headers.get(REFERER).cloned(),
            agent: headers.get(USER_AGENT).cloned(),
            bytes: 0,
        }
    }
}

/// One worker's buffer in front of the shared sink.
pub struct AccessLog {
    sink: Sink,
    buffer: Mutex<Buffer>,
}

#[derive(Default)]
struct Buffer {
    batch: Batch,
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

    /// Whether lines need the combined format's `Client`.
    pub fn combined(&self) -> bool {
        self.sink.output.is_some() && self.sink.format == Format::Combined
    }

    pub fn record(&self, entry: &Entry<'_>) {
        if self.sink.output.is_none() {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let full = {
            let mut buffer = self.lock();
            buffer.push(self.sink.format, now, entry);
            buffer.batch.len() >= FLUSH_AT
        };
        if full {
            self.flush();
        }
    }

    /// Hands the buffered lines over, and writes those every worker has handed over.
    pub fn flush(&self) {
        self.hand_over(false);
    }

    /// Hands the buffered lines over and writes every line handed over so far (at shutdown).
    pub fn finish(&self) {
        self.hand_over(true);
    }

    fn hand_over(&self, all: bool) {
        let Some(output) = &self.sink.output else {
            return;
        };
        let batch = std::mem::take(&mut self.lock().batch);
        output.hand_over(batch, all);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Buffer {
    fn push(&mut self, format: Format, now: Duration, entry: &Entry<'_>) {
        if self.stamp.is_empty() || now.as_secs() != self.second {
            self.second = now.as_secs();
            self.stamp = match format {
                Format::Berth => crate::clock::iso(now.as_secs()),
                Format::Combined => crate::clock::common_log(now.as_secs()),
            };
        }
        let stamp = &self.stamp;
        let at = now.as_micros() as u64;
        self.batch.push(at, entry.app, |line| match (format, entry.client) {
            (Format::Combined, Some(client)) => {
                let _ = write!(line, "{} - ", entry.peer);
                escaped(line, client.user.as_deref().map(str::as_bytes));
                let _ = write!(line, " [{stamp}] \"");
                escaped(line, Some(entry.method.as_bytes()));
                line.push(' ');
                escaped(line, Some(entry.path.as_bytes()));
                let _ = write!(
                    line,
                    " {}\" {} {} \"",
                    client.version, entry.status, client.bytes
                );
                escaped(line, client.referer.as_ref().map(|v| v.as_bytes()));
                line.push_str("\" \"");
                escaped(line, client.agent.as_ref().map(|v| v.as_bytes()));
                line.push_str("\"\n");
            }
            _ => {
                let _ = writeln!(
                    line,
                    "{stamp}.{:06}Z  INFO berth::access: app={} id={} method={} path={} status={} micros={} peer={}",
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
        });
    }
}

/// `value` as nginx writes a variable into a log line (`escape=default`): `"`, `\`, control
/// characters and bytes past ASCII as `\xHH`; `-` when there is none or it is empty.
fn escaped(line: &mut String, value: Option<&[u8]>) {
    match value {
        None | Some([]) => line.push('-'),
        Some(bytes) => {
            for &byte in bytes {
                match byte {
                    b'"' | b'\\' | 0..=0x1f | 0x7f.. => {
                        let _ = write!(line, "\\x{byte:02X}");
                    }
                    _ => line.push(char::from(byte)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(client: Option<&'a Client>) -> Entry<'a> {
        Entry {
            app: "shop",
            id: "abc",
            method: "GET",
            path: "/cart?x=1",
            status: 200,
            micros: 812,
            peer: "203.0.113.9".parse().unwrap(),
            client,
        }
    }

    #[test]
    fn lines_are_buffered_until_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let sink = Sink::open(&Destination::File(path.clone()), Format::Berth).unwrap();
        let log = AccessLog::new(sink);
        log.record(&entry(None));
        log.record(&Entry {
            status: 404,
            ..entry(None)
        });
        log.flush();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "held until every worker has had time to hand its lines over"
        );
        log.finish();
        let written = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 2, "{written}");
        assert!(lines[0].ends_with(
            "Z  INFO berth::access: app=shop id=abc method=GET path=/cart?x=1 status=200 micros=812 peer=203.0.113.9"
        ), "{written}");
        assert!(lines[1].contains("status=404"));
        assert_eq!(lines[0].find('T'), Some(10), "an RFC 3339 timestamp first");
    }

    #[test]
    fn combined_lines_read_as_nginx_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let sink = Sink::open(&Destination::File(path.clone()), Format::Combined).unwrap();
        let log = AccessLog::new(sink);
        assert!(log.combined());
        let client = Client {
            version: "HTTP/1.1",
            user: Some("ann".into()),
            referer: Some(hyper::header::HeaderValue::from_static(
                "https://shop.example/",
            )),
            agent: Some(hyper::header::HeaderValue::from_bytes(b"curl/8 \"x\" \xe9").unwrap()),
            bytes: 1234,
        };
        log.record(&entry(Some(&client)));
        let bare = Client {
            version: "HTTP/1.1",
            ..Client::default()
        };
        log.record(&entry(Some(&bare)));
        log.finish();
        let written = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        let (start, rest) = lines[0].split_once(" [").unwrap();
        assert_eq!(start, "203.0.113.9 - ann");
        let (stamp, rest) = rest.split_once("] ").unwrap();
        assert!(
            chrono::DateTime::parse_from_str(stamp, "%d/%b/%Y:%H:%M:%S %z").is_ok(),
            "{stamp}"
        );
        assert_eq!(
            rest,
            r#""GET /cart?x=1 HTTP/1.1" 200 1234 "https://shop.example/" "curl/8 \x22x\x22 \xE9""#
        );
        assert!(
            lines[1].ends_with(r#""GET /cart?x=1 HTTP/1.1" 200 0 "-" "-""#)
                && lines[1].starts_with("203.0.113.9 - - ["),
            "{}",
            lines[1]
        );
    }
}
