//! Access lines written in time order. Each worker hands over its batch of lines (each in its
//! worker's order) every second; the lines of all workers wait here until every worker has had
//! time to hand over its lines of the same moment (`HOLD`), and are then written sorted by time,
//! in one write. The written lines are kept, with the app each belongs to, for
//! `nginx:access-logs` (`Recent`).

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use super::access::FLUSH_EVERY;

/// How long a line waits for the lines other workers recorded before it: a worker hands its
/// lines over at least every `FLUSH_EVERY`, and this leaves it as long again to be late.
const HOLD: std::time::Duration = FLUSH_EVERY.saturating_mul(2);

/// One worker's lines, each with its time (microseconds since the epoch) and its app, in the
/// order it recorded them.
#[derive(Default)]
pub struct Batch {
    text: String,
    lines: Vec<Line>,
}

/// One line of a batch: `text[start..app_end]` is its app, `text[app_end..end]` the line.
#[derive(Clone, Copy)]
struct Line {
    at: u64,
    start: u32,
    app_end: u32,
    end: u32,
}

impl Batch {
    /// Adds a line for `app` at `at`, which `write` writes (with its newline).
    pub fn push(&mut self, at: u64, app: &str, write: impl FnOnce(&mut String)) {
        let start = self.text.len() as u32;
        self.text.push_str(app);
        let app_end = self.text.len() as u32;
        write(&mut self.text);
        let end = self.text.len() as u32;
        self.lines.push(Line {
            at,
            start,
            app_end,
            end,
        });
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    fn app(&self, line: &Line) -> &str {
        &self.text[line.start as usize..line.app_end as usize]
    }

    fn line(&self, line: &Line) -> &str {
        &self.text[line.app_end as usize..line.end as usize]
    }
}

/// Lines as they were written, each with the app it belongs to, kept for `nginx:access-logs`.
pub struct Written {
    text: String,
    /// Each line's end in `text` and its app's index in `apps`.
    lines: Vec<(u32, u32)>,
    apps: Vec<String>,
}

impl Written {
    /// The lines of `app`, oldest first, without their newlines.
    pub fn lines_of<'a>(&'a self, app: &str) -> impl DoubleEndedIterator<Item = &'a str> {
        let wanted = self.apps.iter().position(|a| a == app);
        let starts = std::iter::once(0).chain(self.lines.iter().map(|(end, _)| *end));
        starts
            .zip(self.lines.iter())
            .filter(move |(_, (_, app))| Some(*app as usize) == wanted)
            .map(|(start, (end, _))| {
                self.text[start as usize..*end as usize].trim_end_matches('\n')
            })
            .collect::<Vec<_>>()
            .into_iter()
    }
}

type Writer = Box<dyn std::io::Write + Send>;

/// A handed-over batch and how many of its lines are written.
struct Pending {
    batch: Batch,
    written: usize,
}

/// Lines handed over and not yet written, and where they go.
pub struct Output {
    handed: Mutex<Vec<Batch>>,
    /// The writer, and the batches with lines still waiting for older lines.
    writer: Mutex<(Writer, Vec<Pending>)>,
    recent: Arc<Recent>,
}

impl Output {
    pub fn new(writer: Writer, recent: Arc<Recent>) -> Output {
        Output {
            handed: Mutex::default(),
            writer: Mutex::new((writer, Vec::new())),
            recent,
        }
    }

    /// Takes `batch`, then writes the lines that waited long enough (with `all`, every line).
    /// A worker that finds another writing leaves the writing to it.
    pub fn hand_over(&self, batch: Batch, all: bool) {
        let cutoff = match all {
            true => u64::MAX,
            false => now_micros().saturating_sub(HOLD.as_micros() as u64),
        };
        self.write_until(batch, cutoff, all);
    }

    /// Takes `batch`, then writes the lines up to `cutoff`; with `wait`, after the writer
    /// another worker holds.
    fn write_until(&self, batch: Batch, cutoff: u64, wait: bool) {
        if !batch.lines.is_empty() {
            lock(&self.handed).push(batch);
        }
        let mut writer = match self.writer.try_lock() {
            Ok(writer) => writer,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) if wait => lock(&self.writer),
            Err(TryLockError::WouldBlock) => return,
        };
        let (writer, pending) = &mut *writer;
        pending.extend(
            std::mem::take(&mut *lock(&self.handed))
                .into_iter()
                .map(|batch| Pending { batch, written: 0 }),
        );
        let Some(due) = take_due(pending, cutoff) else {
            return;
        };
        if let Err(err) = writer
            .write_all(due.text.as_bytes())
            .and_then(|_| writer.flush())
        {
            tracing::warn!(error = %err, "cannot write the access log");
        }
        self.recent.add(due);
    }
}

/// The lines of `pending` at or before `cutoff`, in time order (a stable sort: one worker's
/// lines of the same microsecond keep their order), marked written; batches written whole are
/// dropped. Each batch is in its worker's order, so its due lines come first.
fn take_due(pending: &mut Vec<Pending>, cutoff: u64) -> Option<Written> {
    let mut order: Vec<(u64, usize, usize)> = Vec::new();
    let mut size = 0;
    for (b, waiting) in pending.iter_mut().enumerate() {
        let lines = &waiting.batch.lines[waiting.written..];
        let due = lines.iter().take_while(|line| line.at <= cutoff).count();
        for (l, line) in lines[..due].iter().enumerate() {
            order.push((line.at, b, waiting.written + l));
            size += (line.end - line.app_end) as usize;
        }
        waiting.written += due;
    }
    if order.is_empty() {
        return None;
    }
    order.sort_by_key(|(at, _, _)| *at);
    let mut due = Written {
        text: String::with_capacity(size),
        lines: Vec::with_capacity(order.len()),
        apps: Vec::new(),
    };
    for (_, b, l) in order {
        let (batch, line) = (&pending[b].batch, &pending[b].batch.lines[l]);
        let app = batch.app(line);
        let index = match due.apps.iter().position(|a| a == app) {
            Some(index) => index,
            None => {
                due.apps.push(app.to_string());
                due.apps.len() - 1
            }
        };
        due.text.push_str(batch.line(line));
        due.lines.push((due.text.len() as u32, index as u32));
    }
    pending.retain(|waiting| waiting.written < waiting.batch.lines.len());
    Some(due)
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Batches of access lines as they are written.
pub type Feed = broadcast::Receiver<Arc<Written>>;

/// How much of the access log (all apps together) is kept in memory for `nginx:access-logs`.
const RECENT_BYTES: usize = 4 << 20;

/// The latest access log batches, as written, and a feed of new ones for `nginx:access-logs
/// -t`. A written batch is moved here whole; lines are picked out per app only when someone
/// reads them, so requests pay nothing for it.
pub struct Recent {
    enabled: bool,
    batches: Mutex<(VecDeque<Arc<Written>>, usize)>,
    feed: broadcast::Sender<Arc<Written>>,
}

impl Recent {
    pub fn new(enabled: bool) -> Recent {
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
    pub fn tail(&self, app: &str, lines: usize, follow: bool) -> (Vec<String>, Option<Feed>) {
        let batches = lock(&self.batches);
        let mut kept: Vec<String> = batches
            .0
            .iter()
            .rev()
            .flat_map(|batch| batch.lines_of(app).rev())
            .take(lines)
            .map(str::to_string)
            .collect();
        kept.reverse();
        (kept, follow.then(|| self.feed.subscribe()))
    }

    fn add(&self, batch: Written) {
        let batch = Arc::new(batch);
        let mut batches = lock(&self.batches);
        let (kept, bytes) = &mut *batches;
        *bytes += batch.text.len();
        kept.push_back(batch.clone());
        while *bytes > RECENT_BYTES {
            match kept.pop_front() {
                Some(old) => *bytes -= old.text.len(),
                None => break,
            }
        }
        if self.feed.receiver_count() > 0 {
            let _ = self.feed.send(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn batch(lines: &[(u64, &str, &str)]) -> Batch {
        let mut batch = Batch::default();
        for (at, app, line) in lines {
            batch.push(*at, app, |text| {
                text.push_str(line);
                text.push('\n')
            });
        }
        batch
    }

    #[test]
    fn workers_lines_are_written_in_time_order_once_every_worker_had_its_turn() {
        let written = Shared::default();
        let recent = Arc::new(Recent::new(true));
        let output = Output::new(Box::new(written.clone()), recent.clone());
        // Two workers' batches, each in its own order, interleaved in time; one line is later.
        output.write_until(batch(&[(1, "shop", "a1"), (3, "blog", "a3")]), 0, false);
        assert!(lock(&written.0).is_empty());
        output.write_until(
            batch(&[(2, "shop", "b2"), (4, "shop", "b4"), (100, "shop", "new")]),
            10,
            false,
        );
        let text = String::from_utf8(lock(&written.0).clone()).unwrap();
        assert_eq!(text, "a1\nb2\na3\nb4\n", "the later line waits");
        assert_eq!(
            lock(&output.writer).1.len(),
            1,
            "only the batch with a line waiting"
        );
        let (kept, mut feed) = recent.tail("shop", 2, true);
        assert_eq!(
            kept,
            ["b2", "b4"],
            "the latest of the app's lines, oldest first"
        );
        output.hand_over(Batch::default(), true);
        let text = String::from_utf8(lock(&written.0).clone()).unwrap();
        assert!(text.ends_with("b4\nnew\n"), "{text}");
        assert!(
            lock(&output.writer).1.is_empty(),
            "written batches are let go"
        );
        let batch = feed.as_mut().unwrap().try_recv().unwrap();
        assert_eq!(batch.lines_of("shop").collect::<Vec<_>>(), ["new"]);
        assert_eq!(recent.tail("blog", 10, false).0, ["a3"]);
        assert!(recent.tail("nobody", 10, false).0.is_empty());
    }
}
