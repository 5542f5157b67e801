//! Backups of a whole Berth (`backup:export`, `backup:import`, `backup:schedule`): one archive
//! holding the state files, the apps' files and repositories, installed plugins and their data,
//! the services' dumps (made by each service plugin's `backup-export` trigger) and, when asked,
//! the storage directories apps mount. The archive's format is `archive.rs`; what goes in is
//! `export.rs`; putting it back on a fresh host and redeploying is `import.rs`; the rotating
//! scheduled archives are `schedule.rs`.
//!
//! Archives are streamed both ways: the tar is written and read on a blocking thread, joined to
//! the client's streams by a bounded channel, so an export or import holds a few chunks in
//! memory whatever its size.

mod archive;
mod export;
mod import;
mod schedule;

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub use archive::{ArchiveError, FORMAT_VERSION};
pub use export::{export, Selection};
pub use import::import;
pub use schedule::{run_if_due, valid_dir};

use crate::names::AppName;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Trigger(#[from] crate::plugins::TriggerFailed),
    #[error("App {0} already exists on this host: backup:import recreates apps on a fresh host (apps:destroy it here first, or import an archive without it)")]
    AppExists(AppName),
    #[error("{what} already exists on this host; backup:import does not overwrite it")]
    Exists { what: String },
    #[error("{0}")]
    Refused(String),
    #[error("could not {doing} {}: {source}", .path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("backup task failed: {0}")]
    Task(String),
}

impl BackupError {
    /// Whether the user's archive or request is at fault (one line, no operator log).
    pub fn is_user(&self) -> bool {
        matches!(
            self,
            BackupError::Archive(
                ArchiveError::Truncated(_) | ArchiveError::Corrupt(_) | ArchiveError::Newer(_)
            ) | BackupError::AppExists(_)
                | BackupError::Exists { .. }
                | BackupError::Refused(_)
                | BackupError::State(crate::state::StateError::AppMissing(_))
        )
    }
}

fn io_error<'a>(
    doing: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        doing,
        path: path.to_path_buf(),
        source,
    }
}

/// A scratch directory under the data dir's `tmp/`, removed with what it holds when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(root: &Path) -> Result<Scratch, BackupError> {
        use std::os::unix::fs::DirBuilderExt;
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io_error("create", &tmp))?;
        let dir = tmp.join(format!("backup-{:016x}", rand::random::<u64>()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(io_error("create", &dir))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How many chunks may wait between the blocking side and the client.
const CHUNKS: usize = 8;

/// A blocking writer whose bytes go, chunk by chunk, to an async receiver; it fails once the
/// receiver is gone (the client hung up).
struct ChunkWriter(mpsc::Sender<Vec<u8>>);

impl std::io::Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.blocking_send(buf.to_vec()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A blocking reader of chunks an async sender reads from the client.
struct ChunkReader {
    chunks: mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.chunks.blocking_recv() {
                Some(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Runs `work` on a blocking thread with a writer whose bytes reach `out` as they come.
async fn stream_out<T: Send + 'static>(
    out: &mut (dyn tokio::io::AsyncWrite + Send + Unpin),
    work: impl FnOnce(ChunkWriter) -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    let (tx, mut rx) = mpsc::channel(CHUNKS);
    let task = tokio::task::spawn_blocking(move || work(ChunkWriter(tx)));
    let mut client_gone = false;
    while let Some(chunk) = rx.recv().await {
        if out.write_all(&chunk).await.is_err() {
            client_gone = true;
            break;
        }
    }
    drop(rx);
    let _ = out.flush().await;
    let result = task.await.map_err(|e| BackupError::Task(e.to_string()))?;
    if client_gone && result.is_ok() {
        return Err(BackupError::Refused("The client went away".into()));
    }
    result
}

/// Runs `work` on a blocking thread with a reader of what `input` sends.
async fn stream_in<T: Send + 'static>(
    input: &mut (dyn tokio::io::AsyncRead + Send + Unpin),
    work: impl FnOnce(ChunkReader) -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    let (tx, rx) = mpsc::channel(CHUNKS);
    let reader = ChunkReader {
        chunks: rx,
        current: Vec::new(),
        at: 0,
    };
    let task = tokio::task::spawn_blocking(move || work(reader));
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match input.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send(buf[..n].to_vec()).await.is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    task.await.map_err(|e| BackupError::Task(e.to_string()))?
}
