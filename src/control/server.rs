//! The daemon side of the control socket.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::hook;
use super::protocol::{
    read_frame, write_frame, Request, EXIT, REQUEST, STDERR, STDIN, STDIN_EOF, STDOUT,
};
use crate::caller::Caller;
use crate::commands::{self, Io};
use crate::context::Ctx;
use crate::names::KeyName;

/// Binds the socket, refusing to steal it from a daemon that still answers.
pub async fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("another berth daemon answers on {}", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The socket is created 0600 (no moment when another user could connect to it): the umask
    // is the process's, so it is narrowed only around the bind, before other work starts.
    // SAFETY: umask only swaps the process's file mode mask; it cannot fail.
    let previous = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the mask in force before.
    unsafe { libc::umask(previous) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

pub async fn serve(
    listener: UnixListener,
    ctx: Arc<Ctx>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let mut accept_errors = crate::accept::AcceptErrors::new("control");
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_errors.pause(&err).await;
                    continue;
                }
            },
        };
        let ctx = ctx.clone();
        let inner = tracker.clone();
        tracker.spawn(async move {
            if let Err(err) = connection(stream, ctx, inner).await {
                tracing::debug!(error = %err, "control connection ended with an error");
            }
        });
    }
}

async fn connection(
    stream: UnixStream,
    ctx: Arc<Ctx>,
    tracker: TaskTracker,
) -> std::io::Result<()> {
    let (mut read, mut write) = stream.into_split();
    let Some((REQUEST, payload)) = read_frame(&mut read).await? else {
        return Ok(());
    };
    let request: Request = serde_json::from_slice(&payload)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?;

    let (frames, mut outgoing) = mpsc::channel::<(u8, Vec<u8>)>(64);
    let writer = tracker.spawn(async move {
        while let Some((kind, payload)) = outgoing.recv().await {
            if write_frame(&mut write, kind, &payload).await.is_err() {
                break;
            }
        }
    });
    let (mut stdin_tx, stdin_rx) = tokio::io::duplex(64 * 1024);
    let hangup = CancellationToken::new();
    let hung_up = hangup.clone();
    let reader = tracker.spawn(async move {
        let mut stdin_open = true;
        while let Ok(Some((kind, payload))) = read_frame(&mut read).await {
            match kind {
                STDIN if stdin_open => {
                    stdin_open = stdin_tx.write_all(&payload).await.is_ok();
                }
                STDIN_EOF if stdin_open => {
                    let _ = stdin_tx.shutdown().await;
                    stdin_open = false;
                }
                _ => {}
            }
        }
        let _ = stdin_tx.shutdown().await;
        // The client closed its end before the exit status: it went away.
        hung_up.cancel();
    });
    let (stdout, stdout_pump) = tokio::io::duplex(64 * 1024);
    let (stderr, stderr_pump) = tokio::io::duplex(64 * 1024);
    let pumps = [
        tracker.spawn(pump(stdout_pump, STDOUT, frames.clone())),
        tracker.spawn(pump(stderr_pump, STDERR, frames.clone())),
    ];
    let tty = matches!(
        request,
        Request::Command { tty: true, .. } | Request::SshCommand { tty: true, .. }
    );
    let io = Io {
        stdin: Box::new(stdin_rx),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        tty,
        hangup,
        report: Default::default(),
    };
    let code = match request {
        Request::Command { argv, .. } => {
            let mut io = io;
            let code = commands::execute(&ctx, &Caller::Local, "local", &argv, &mut io).await;
            io.flush().await;
            code
        }
        Request::SshCommand {
            key,
            command,
            source,
            ..
        } => ssh_command(&ctx, &tracker, &key, command, source, io).await,
        Request::Hook {
            push_id,
            updates,
            object_dirs,
        } => {
            let mut io = io;
            let code = hook::run(&ctx, &push_id, &updates, object_dirs, &mut io).await;
            io.flush().await;
            code
        }
    };
    for pump in pumps {
        let _ = pump.await;
    }
    let _ = frames.send((EXIT, code.to_be_bytes().to_vec())).await;
    drop(frames);
    let _ = writer.await;
    reader.abort();
    Ok(())
}

/// `berth ssh-command --key NAME`: the exec request as the embedded SSH server would run it for
/// that key (a key not in `keys.toml` is refused, as sshd would have been told).
async fn ssh_command(
    ctx: &Arc<Ctx>,
    tracker: &TaskTracker,
    key: &str,
    command: Option<String>,
    source: String,
    mut io: Io,
) -> i32 {
    let known = KeyName::parse(key)
        .ok()
        .filter(|name| ctx.store.key(name).is_some());
    let refusal = match (&known, &command) {
        (None, _) => "This key is not allowed in: ssh-keys:add adds it",
        (Some(_), None) => "Berth has no shell; run a command: ssh <host> help",
        (Some(_), Some(_)) => "",
    };
    let (Some(name), Some(command)) = (known, command) else {
        io.warn(refusal).await;
        io.flush().await;
        return 1;
    };
    let client = crate::ssh::Client {
        caller: Caller::Key(name),
        source,
        tty: io.tty,
        stdin: io.stdin,
        stdout: io.stdout,
        stderr: io.stderr,
        hangup: io.hangup,
    };
    crate::ssh::run_exec(ctx, tracker, command.as_bytes(), client).await
}

/// Forwards everything written to one of the command's outputs as frames of `kind`.
async fn pump<R: AsyncRead + Unpin>(mut reader: R, kind: u8, frames: mpsc::Sender<(u8, Vec<u8>)>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if frames.send((kind, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        }
    }
}
