//! The streams a command talks to, whichever front end (SSH channel or control socket) carries them.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// A command's stdin, stdout and stderr, and whether the user sits at a terminal.
///
/// Writes never fail a command: when the client has gone, output is dropped and the work
/// (a deploy, say) still finishes or rolls back cleanly.
pub struct Io {
    pub stdin: Reader,
    pub stdout: Writer,
    pub stderr: Writer,
    pub tty: bool,
    /// Cancelled when the client disconnects; long work that has not committed yet stops.
    pub hangup: CancellationToken,
    /// How a `:report` command prints (`output::report`).
    pub report: ReportFormat,
}

impl Io {
    /// For work nobody watches (the watch window, start-up restores): no input, output dropped
    /// (progress still reaches the daemon log through tracing), cancelled by `hangup`.
    pub fn detached(hangup: CancellationToken) -> Io {
        Io {
            stdin: Box::new(tokio::io::empty()),
            stdout: Box::new(tokio::io::sink()),
            stderr: Box::new(tokio::io::sink()),
            tty: false,
            hangup,
            report: Default::default(),
        }
    }

    pub async fn out(&mut self, text: &str) {
        self.write_bytes(text.as_bytes()).await;
    }

    /// Bytes that are not text (a tar), as they are.
    pub async fn write_bytes(&mut self, bytes: &[u8]) {
        let _ = self.stdout.write_all(bytes).await;
        let _ = self.stdout.flush().await;
    }

    pub async fn line(&mut self, line: &str) {
        self.out(&format!("{line}\n")).await;
    }

    /// `-----> text`: a step of long work, as Heroku and Dokku print it.
    pub async fn step(&mut self, text: &str) {
        self.line(&format!("-----> {text}")).await;
    }

    /// `=====> text`: a section header.
    pub async fn header(&mut self, text: &str) {
        self.line(&format!("=====> {text}")).await;
    }

    /// Seven spaces, then text: detail under a step.
    pub async fn detail(&mut self, text: &str) {
        self.line(&format!("       {text}")).await;
    }

    /// `-----> text` on stderr: a step of work whose stdout is data (an archive).
    pub async fn progress(&mut self, text: &str) {
        self.error_line(&format!("-----> {text}")).await;
    }

    /// Seven spaces, then text, on stderr: detail under a `progress` step.
    pub async fn progress_detail(&mut self, text: &str) {
        self.error_line(&format!("       {text}")).await;
    }

    /// ` !     text` on stderr: a warning or the reason a command failed.
    pub async fn warn(&mut self, text: &str) {
        self.error_line(&format!(" !     {text}")).await;
    }

    async fn error_line(&mut self, line: &str) {
        let _ = self.stderr.write_all(format!("{line}\n").as_bytes()).await;
        let _ = self.stderr.flush().await;
    }

    /// Reads one line typed by the user; with a terminal, echoes what is typed (raw-mode SSH
    /// clients do not echo for us).
    pub async fn read_line(&mut self, limit: usize) -> Option<String> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.stdin.read(&mut byte).await {
                Ok(0) | Err(_) if line.is_empty() => return None,
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if byte[0] == b'\n' || byte[0] == b'\r' {
                break;
            }
            if byte[0] == 3 || byte[0] == 4 {
                return None;
            }
            if line.len() < limit {
                line.push(byte[0]);
            }
            if self.tty {
                let _ = self.stdout.write_all(&byte).await;
                let _ = self.stdout.flush().await;
            }
        }
        if self.tty {
            self.out("\r\n").await;
        }
        Some(String::from_utf8_lossy(&line).trim().to_string())
    }

    /// Reads all of stdin, up to `limit` bytes.
    pub async fn read_all(&mut self, limit: u64) -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        (&mut self.stdin).take(limit).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    /// Flushes both outputs. (Closing them is the front end's business: an SSH channel sends
    /// its exit status after the output, and only then EOF.)
    pub async fn flush(&mut self) {
        let _ = self.stdout.flush().await;
        let _ = self.stderr.flush().await;
    }
}

/// Hands a one-off container's output lines to the user unchanged.
pub struct Lines<'a>(pub &'a mut Io);

#[async_trait::async_trait]
impl crate::scheduler::BuildOutput for Lines<'_> {
    async fn line(&mut self, text: &str) {
        self.0.line(text).await;
    }
}

/// How a `:report` command prints: Dokku's options every report shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// `=====> title` and padded rows.
    #[default]
    Text,
    /// `--<info-flag>`: that row's value alone.
    Flag(String),
    /// `--format json`: one object, keyed by the rows' flag names.
    Json,
    /// `report <app> --format json`: every report's rows gathered into one object.
    Gather(serde_json::Map<String, serde_json::Value>),
}
