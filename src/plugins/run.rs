//! Running a plugin's command: its executable with the words as argv (never a shell string),
//! the client's stdin, stdout and stderr passed through as they come (or, for a client with a
//! terminal, a pseudo-terminal: `pty.rs`), and its exit status returned. The program is killed
//! when the client goes away.

use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Plugin, PluginError};
use crate::io::Io;

/// The exit status of a `commands` program that does not handle the command it was given
/// (Dokku's convention).
pub const NOT_MINE: i32 = 10;

/// Runs `NAME:sub ARGS` (`command` is the whole name) with `plugin`: `subcommands/<sub>` with
/// `ARGS`, else `commands` with `NAME:sub ARGS`. `None` when the plugin has neither; else the
/// exit status (`NOT_MINE` from `commands`: it does not handle `sub`). `env` is added to the
/// program's environment (`BERTH_DATA_DIR`, `BERTH_KEY`).
pub async fn run_command(
    registry: &super::Registry,
    plugin: &Plugin,
    command: &str,
    sub: &str,
    args: &[String],
    env: &[(&'static str, String)],
    io: &mut Io,
) -> Result<Option<i32>, PluginError> {
    let Some((program, whole)) = plugin.executable_for(sub) else {
        return Ok(None);
    };
    let mut child = registry.process(&program, plugin);
    if whole {
        child.arg(command);
    }
    child
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let Io {
        stdin: client_in,
        stdout: client_out,
        stderr: client_err,
        hangup,
        tty,
        ..
    } = io;
    let spawn_err = |err: std::io::Error| {
        PluginError::Internal(format!("cannot run {}: {err}", program.display()))
    };
    let (input, status): (BoxFuture<'_, ()>, BoxFuture<'_, std::io::Result<_>>) = if *tty {
        let (master, slave) = super::pty::open().map_err(spawn_err)?;
        let side = |fd: &std::os::fd::OwnedFd| fd.try_clone().map(Stdio::from);
        child
            .stdin(side(&slave).map_err(spawn_err)?)
            .stdout(side(&slave).map_err(spawn_err)?)
            .stderr(Stdio::from(slave));
        super::pty::controlled_by_stdin(&mut child);
        let spawned = child.spawn().map_err(spawn_err);
        // The command holds the slave side's descriptors: closed, the terminal ends (EIO)
        // when the program and its children have exited.
        drop(child);
        let mut child = spawned?;
        let mut writer =
            tokio::fs::File::from_std(std::fs::File::from(master.try_clone().map_err(spawn_err)?));
        let mut reader = tokio::fs::File::from_std(std::fs::File::from(master));
        let input = async move {
            let _ = tokio::io::copy(client_in, &mut writer).await;
        };
        // The terminal's output until the program and its children have closed it (EIO).
        let status = async move {
            let (_, status) = tokio::join!(pass(&mut reader, client_out), child.wait());
            status
        };
        (Box::pin(input), Box::pin(status))
    } else {
        let mut child = child
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(PluginError::Internal(
                "the plugin's pipes are missing".into(),
            ));
        };
        // The client's input until it ends (or the program stops reading), then EOF.
        let input = async move {
            let _ = tokio::io::copy(client_in, &mut stdin).await;
            drop(stdin);
        };
        let status = async move {
            let (_, _, status) = tokio::join!(
                pass(&mut stdout, client_out),
                pass(&mut stderr, client_err),
                child.wait()
            );
            status
        };
        (Box::pin(input), Box::pin(status))
    };
    let (mut input, mut status) = (input, status);
    let mut input_ended = false;
    loop {
        tokio::select! {
            _ = hangup.cancelled() => return Ok(Some(-1)),
            _ = &mut input, if !input_ended => input_ended = true,
            status = &mut status => {
                let status = status.map_err(|err| PluginError::Internal(err.to_string()))?;
                return Ok(Some(status.code().unwrap_or(1)));
            }
        }
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// How long `commands help` may take, and how much of its output is read.
const HELP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const HELP_BYTES: u64 = 64 << 10;

/// The lines `commands help` prints (Dokku's convention: one `NAME:sub <args>, what it does`
/// per command); none when the plugin has no `commands`, or it fails or takes too long.
pub async fn help_lines(registry: &super::Registry, plugin: &Plugin) -> Vec<String> {
    use tokio::io::AsyncReadExt;
    let program = plugin.dir.join("commands");
    if !super::is_executable(&program) {
        return Vec::new();
    }
    let spawned = registry
        .process(&program, plugin)
        .arg("help")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = spawned else {
        return Vec::new();
    };
    let Some(stdout) = child.stdout.take() else {
        return Vec::new();
    };
    let mut text = String::new();
    let mut limited = stdout.take(HELP_BYTES);
    let read = limited.read_to_string(&mut text);
    match tokio::time::timeout(HELP_TIMEOUT, async { (read.await, child.wait().await) }).await {
        Ok((Ok(_), Ok(status))) if status.success() => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| crate::names::shown(line.trim()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Copies the program's output to the client as it comes.
async fn pass(from: &mut (impl AsyncRead + Unpin), to: &mut (impl AsyncWrite + Unpin + ?Sized)) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = [0u8; 8192];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 || to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
        let _ = to.flush().await;
    }
}
