//! The CLI side of the control socket: `berth <command>` on the server, and the pre-receive hook.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::protocol::{
    read_frame, write_frame, Request, EXIT, REQUEST, STDERR, STDIN, STDIN_EOF, STDOUT,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the berth daemon at {path} (is `berth daemon` running?)")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("lost the connection to the berth daemon: {0}")]
    Io(#[from] std::io::Error),
    #[error("the berth daemon closed the connection without an exit status")]
    NoExit,
}

/// Runs one command through the daemon, relaying stdin/stdout/stderr; returns its exit status.
pub async fn run_command(socket: &Path, argv: Vec<String>) -> Result<i32, ClientError> {
    let tty = std::io::stdin().is_terminal();
    relay(socket, Request::Command { argv, tty }).await
}

/// `berth ssh-command --key NAME`, the forced command of the host sshd's `authorized_keys`:
/// the client's `SSH_ORIGINAL_COMMAND`, run by the daemon for key `key`.
pub async fn run_ssh_command(socket: &Path, key: String) -> Result<i32, ClientError> {
    let command = std::env::var("SSH_ORIGINAL_COMMAND").ok();
    // `SSH_CONNECTION` is `client-address client-port server-address server-port`.
    let source = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|c| c.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "-".to_string());
    let tty = std::io::stdin().is_terminal();
    let request = Request::SshCommand {
        key,
        command,
        source,
        tty,
    };
    relay(socket, request).await
}

/// Sends `request`, relays stdin to the daemon and its output back; returns the exit status.
async fn relay(socket: &Path, request: Request) -> Result<i32, ClientError> {
    let stream = connect(socket).await?;
    let (read, mut write) = stream.into_split();
    send_request(&mut write, &request).await?;
    // stdin is read on a plain thread: blocking reads of a terminal must not hold the runtime.
    let (tx, mut rx) = mpsc::channel::<Option<Vec<u8>>>(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.blocking_send(None);
                    break;
                }
                Ok(n) => {
                    if tx.blocking_send(Some(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    // The write half stays open until the exit status arrives: closing it early would tell the
    // daemon that the client went away.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            let sent = match chunk {
                Some(bytes) => write_frame(&mut write, STDIN, &bytes).await,
                None => {
                    let _ = write_frame(&mut write, STDIN_EOF, &[]).await;
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
        let _ = done_rx.await;
    });
    let result = relay_output(read).await;
    drop(done_tx);
    result
}

/// The pre-receive hook: hands the ref updates to the daemon and relays the deploy's output
/// (git shows it to the pusher as `remote:` lines). Exit status decides whether git accepts.
pub async fn run_hook(socket: &Path, request: Request) -> Result<i32, ClientError> {
    let stream = connect(socket).await?;
    let (read, mut write) = stream.into_split();
    send_request(&mut write, &request).await?;
    // The daemon may answer (and close) before this arrives, when there is nothing to deploy:
    // a failed write here is not a lost answer, which `relay_output` reads either way.
    let _ = write_frame(&mut write, STDIN_EOF, &[]).await;
    relay_output(read).await
}

async fn connect(socket: &Path) -> Result<UnixStream, ClientError> {
    UnixStream::connect(socket)
        .await
        .map_err(|source| ClientError::Connect {
            path: socket.display().to_string(),
            source,
        })
}

async fn send_request(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    request: &Request,
) -> Result<(), ClientError> {
    let json = serde_json::to_vec(request)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))?;
    write_frame(write, REQUEST, &json).await?;
    Ok(())
}

async fn relay_output(mut read: tokio::net::unix::OwnedReadHalf) -> Result<i32, ClientError> {
    while let Some((kind, payload)) = read_frame(&mut read).await? {
        match kind {
            STDOUT => {
                let mut out = std::io::stdout().lock();
                out.write_all(&payload)?;
                out.flush()?;
            }
            STDERR => {
                let mut err = std::io::stderr().lock();
                err.write_all(&payload)?;
                err.flush()?;
            }
            EXIT => {
                let bytes: [u8; 4] = payload
                    .as_slice()
                    .try_into()
                    .map_err(|_| ClientError::NoExit)?;
                return Ok(i32::from_be_bytes(bytes));
            }
            _ => {}
        }
    }
    Err(ClientError::NoExit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_error_names_its_cause_once() {
        let err = ClientError::Connect {
            path: "/run/berth.sock".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        // The binary's edge prints the message, then its source: the message must not repeat it.
        let source = std::error::Error::source(&err).expect("a source");
        let chain = format!("{err}: {source}");
        assert_eq!(chain.matches("refused").count(), 1, "{chain}");
        assert!(chain.starts_with("cannot reach the berth daemon at /run/berth.sock"));
    }
}
