//! One exec request from a key, whichever SSH server took it: the embedded one (`session.rs`)
//! or the host's sshd through the forced command `berth ssh-command` (over the control socket).
//! Both run the same commands and pushes with the same rights, sessions and audit log.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::exec::{parse_exec, ExecRequest};
use super::receive;
use crate::caller::Caller;
use crate::commands::{self, Io};
use crate::context::Ctx;

/// Who asked, and the streams to answer on.
pub struct Client {
    pub caller: Caller,
    /// The client's address.
    pub source: String,
    pub tty: bool,
    pub stdin: Box<dyn AsyncRead + Send + Unpin>,
    pub stdout: Box<dyn AsyncWrite + Send + Unpin>,
    pub stderr: Box<dyn AsyncWrite + Send + Unpin>,
    /// Cancelled when the client goes away.
    pub hangup: CancellationToken,
}

/// Runs the exec request `raw` for `client`; returns its exit status.
pub async fn run_exec(
    ctx: &Arc<Ctx>,
    tracker: &TaskTracker,
    raw: &[u8],
    mut client: Client,
) -> i32 {
    let request = match parse_exec(raw) {
        Ok(request) => request,
        Err(err) => return refuse(&mut client, &err.to_string()).await,
    };
    let name = match &request {
        ExecRequest::ReceivePack(_) => "git-receive-pack",
        ExecRequest::UploadPack(_) => "git-upload-pack",
        ExecRequest::Command(words) => words.first().map_or("help", String::as_str),
    };
    let session = commands::access::open_session(ctx, &client.caller, &client.source, name);
    let _session = match session {
        Ok(session) => session,
        Err(err) => return refuse(&mut client, &err.to_string()).await,
    };
    match request {
        ExecRequest::ReceivePack(app) => receive::run(ctx, tracker, app, client).await,
        ExecRequest::UploadPack(app) => super::fetch::run(ctx, tracker, app, client).await,
        ExecRequest::Command(words) => {
            let mut io = Io {
                stdin: client.stdin,
                stdout: client.stdout,
                stderr: client.stderr,
                tty: client.tty,
                hangup: client.hangup,
                report: Default::default(),
            };
            let code =
                commands::execute(ctx, &client.caller, &client.source, &words, &mut io).await;
            io.flush().await;
            code
        }
    }
}

/// One ` !` line on the client's stderr; exit status 1.
async fn refuse(client: &mut Client, message: &str) -> i32 {
    let line = format!(" !     {message}\n");
    let _ = client.stderr.write_all(line.as_bytes()).await;
    1
}

/// A client's stdin, stdout and stderr.
pub type Streams = (
    Box<dyn AsyncRead + Send + Unpin>,
    Box<dyn AsyncWrite + Send + Unpin>,
    Box<dyn AsyncWrite + Send + Unpin>,
);

/// Relays a client's streams to and from `child` (spawned with piped stdio) until it exits; a
/// client that hangs up kills it.
pub async fn relay_child(
    tracker: &TaskTracker,
    mut child: tokio::process::Child,
    (stdin, mut stdout, mut stderr): Streams,
    hangup: &CancellationToken,
) -> std::io::Result<std::process::ExitStatus> {
    let (Some(child_in), Some(mut child_out), Some(mut child_err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill().await;
        return child.wait().await;
    };
    let stdin_pump = tracker.spawn(copy_then_close(stdin, child_in));
    let out_pump = tracker.spawn(async move { tokio::io::copy(&mut child_out, &mut stdout).await });
    let err_pump = tracker.spawn(async move { tokio::io::copy(&mut child_err, &mut stderr).await });
    let status = tokio::select! {
        status = child.wait() => status,
        _ = hangup.cancelled() => {
            let _ = child.kill().await;
            child.wait().await
        }
    };
    let _ = out_pump.await;
    let _ = err_pump.await;
    stdin_pump.abort();
    status
}

/// Copies `reader` into `writer` until EOF, then closes `writer`.
pub async fn copy_then_close<R, W>(mut reader: R, mut writer: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _ = tokio::io::copy(&mut reader, &mut writer).await;
    let _ = writer.shutdown().await;
}
