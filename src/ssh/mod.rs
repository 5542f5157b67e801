//! The SSH front end (russh): authenticates users by the keys in state, then turns each exec
//! request into a typed `ExecRequest` — a command for the shared router, or a push.

mod authorized;
mod exec;
mod fetch;
mod keys;
mod receive;
mod run;
mod session;

use std::sync::Arc;
use std::time::Duration;

use russh::{ChannelMsg, ChannelReadHalf};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use authorized::sync as sync_authorized_keys;
pub use keys::{load_or_create_host_key, parse_public_key, KeyError};
pub use run::{run_exec, Client};

use crate::context::Ctx;

/// Accepts SSH connections until `shutdown` fires. Connections that have not logged in are
/// bounded in number (`[ssh] max_unauthenticated`) and in time (`login_grace_time_secs`), so
/// idle or slow strangers cannot hold the daemon's file descriptors.
pub async fn serve(
    listener: TcpListener,
    host_key: russh::keys::PrivateKey,
    ctx: Arc<Ctx>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let config = Arc::new(russh::server::Config {
        keys: vec![host_key],
        methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(Duration::from_secs(3600)),
        ..Default::default()
    });
    let strangers = Arc::new(Semaphore::new(ctx.config.ssh.max_unauthenticated));
    let grace = Duration::from_secs(ctx.config.ssh.login_grace_time_secs);
    let mut accept_errors = crate::accept::AcceptErrors::new("ssh");
    // Connections closed because too many had not logged in: a line a while, with a count.
    let mut refused = crate::accept::Occasional::default();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    accept_errors.pause(&err).await;
                    continue;
                }
            },
        };
        let Ok(stranger) = strangers.clone().try_acquire_owned() else {
            if let Some(left_out) = refused.due() {
                tracing::warn!(%peer, left_out, "ssh connection refused: too many connections have not logged in ([ssh] max_unauthenticated)");
            }
            continue;
        };
        // Small packets (prompts, exit statuses) must not wait for Nagle's algorithm: with
        // delayed ACKs that costs ~40 ms per command.
        let _ = stream.set_nodelay(true);
        let logged_in = CancellationToken::new();
        let handler = session::SshSession::new(
            ctx.clone(),
            tracker.clone(),
            Some(peer),
            session::Login::new(stranger, logged_in.clone()),
        );
        let config = config.clone();
        tracker.spawn(async move {
            let connection = async {
                match russh::server::run_stream(config, stream, handler).await {
                    Ok(session) => {
                        if let Err(err) = session.await {
                            tracing::debug!(%peer, error = ?err, "ssh session ended with an error");
                        }
                    }
                    Err(err) => tracing::debug!(%peer, error = ?err, "ssh handshake failed"),
                }
            };
            let too_slow = async {
                tokio::select! {
                    _ = tokio::time::sleep(grace) => {}
                    _ = logged_in.cancelled() => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = connection => {}
                _ = too_slow => tracing::info!(%peer, grace_secs = grace.as_secs(), "ssh connection closed: no login within the grace time"),
            }
        });
    }
}

/// Copies what the client sends on a channel into `writer` until EOF, then closes `writer`.
/// Keeps watching the channel after that: when it closes, `hangup` is cancelled.
async fn channel_to_writer<W: AsyncWrite + Unpin>(
    mut read_half: ChannelReadHalf,
    mut writer: W,
    hangup: CancellationToken,
) {
    let mut open = true;
    while let Some(message) = read_half.wait().await {
        match message {
            ChannelMsg::Data { data } if open => {
                open = writer.write_all(&data).await.is_ok();
            }
            ChannelMsg::Eof if open => {
                let _ = writer.shutdown().await;
                open = false;
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    let _ = writer.shutdown().await;
    hangup.cancel();
}
