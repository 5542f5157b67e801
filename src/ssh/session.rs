//! One SSH connection: public-key authentication against Berth's keys, then exec requests.
//! Shells, subsystems and port forwarding are refused, and a connection has at most
//! `MAX_CHANNELS` sessions open at once (OpenSSH's `MaxSessions`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use russh::server::{
    Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelOpenFailure};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::keys::describe;
use super::run::Client;
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::KeyName;

/// Sessions (channels) one connection may have open at once.
const MAX_CHANNELS: usize = 10;

/// A connection's way to logging in: its place among the connections that have not (given
/// back once it logs in), and the token that stops its login grace timer.
pub struct Login {
    stranger: Option<OwnedSemaphorePermit>,
    logged_in: CancellationToken,
}

impl Login {
    pub fn new(stranger: OwnedSemaphorePermit, logged_in: CancellationToken) -> Login {
        Login {
            stranger: Some(stranger),
            logged_in,
        }
    }

    fn succeeded(&mut self) {
        self.stranger = None;
        self.logged_in.cancel();
    }
}

/// One open channel's place among `MAX_CHANNELS`; given back when dropped.
struct ChannelSlot(Arc<AtomicUsize>);

impl Drop for ChannelSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct SshSession {
    ctx: Arc<Ctx>,
    tracker: TaskTracker,
    peer: Option<SocketAddr>,
    key: Option<KeyName>,
    login: Login,
    /// Channels opened and not yet given a request, with their slots.
    channels: HashMap<ChannelId, (Channel<Msg>, ChannelSlot)>,
    /// Channels open on this connection, running or not.
    open: Arc<AtomicUsize>,
    ptys: HashSet<ChannelId>,
}

impl SshSession {
    pub fn new(
        ctx: Arc<Ctx>,
        tracker: TaskTracker,
        peer: Option<SocketAddr>,
        login: Login,
    ) -> SshSession {
        SshSession {
            ctx,
            tracker,
            peer,
            key: None,
            login,
            channels: HashMap::new(),
            open: Arc::default(),
            ptys: HashSet::new(),
        }
    }

    /// Answers a request on `channel_id` with one line on its stderr and exit status 1, and
    /// closes the channel. The request itself is accepted: OpenSSH's client exits on a failed
    /// subsystem request before it shows anything the server sent.
    fn refuse(&mut self, channel_id: ChannelId, message: &str, session: &mut Session) {
        let line = format!(" !     {message}\n").into_bytes();
        let _ = session.channel_success(channel_id);
        let _ = session.extended_data(channel_id, 1, line);
        let _ = session.exit_status_request(channel_id, 1);
        let _ = session.eof(channel_id);
        let _ = session.close(channel_id);
        self.channels.remove(&channel_id);
    }

    fn known_key(&self, key: &russh::keys::PublicKey) -> Option<KeyName> {
        self.ctx.store.key_name_for(&describe(key).openssh)
    }
}

impl Handler for SshSession {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(match self.known_key(offer.public_key) {
            Some(_) => Auth::Accept,
            None => Auth::reject(),
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        match self.known_key(key.public_key) {
            Some(name) => {
                tracing::info!(peer = ?self.peer, key = %name, user, "ssh login");
                self.key = Some(name);
                self.login.succeeded();
                Ok(Auth::Accept)
            }
            None => {
                tracing::info!(peer = ?self.peer, user, "ssh key refused");
                Ok(Auth::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.open.fetch_add(1, Ordering::Relaxed) >= MAX_CHANNELS {
            self.open.fetch_sub(1, Ordering::Relaxed);
            tracing::info!(peer = ?self.peer, "ssh channel refused: {MAX_CHANNELS} already open");
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        let slot = ChannelSlot(self.open.clone());
        self.channels.insert(channel.id(), (channel, slot));
        reply.accept().await;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        self.ptys.remove(&channel);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.ptys.insert(channel);
        session.channel_success(channel)?;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel_id: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some((channel, slot)), Some(key)) =
            (self.channels.remove(&channel_id), self.key.clone())
        else {
            session.channel_failure(channel_id)?;
            return Ok(());
        };
        session.channel_success(channel_id)?;
        let tty = self.ptys.contains(&channel_id);
        let ctx = self.ctx.clone();
        let tracker = self.tracker.clone();
        let raw = data.to_vec();
        let span = tracing::info_span!("ssh", peer = ?self.peer, key = %key);
        let source = self
            .peer
            .map_or("-".to_string(), |peer| peer.ip().to_string());
        self.tracker.spawn(
            async move {
                run_exec(ctx, tracker, Caller::Key(key), source, channel, raw, tty).await;
                drop(slot);
            }
            .instrument(span),
        );
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel_id: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse(
            channel_id,
            "Berth has no shell; run a command: ssh <host> help",
            session,
        );
        Ok(())
    }

    /// `ssh -s host sftp` and the like: refused at once (left unanswered, the client waits).
    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let message = format!(
            "Berth has no {} subsystem; run a command: ssh <host> help",
            crate::names::shown(name)
        );
        self.refuse(channel_id, &message, session);
        Ok(())
    }
}

async fn run_exec(
    ctx: Arc<Ctx>,
    tracker: TaskTracker,
    caller: Caller,
    source: String,
    channel: Channel<Msg>,
    raw: Vec<u8>,
    tty: bool,
) {
    let (read_half, write_half) = channel.split();
    let (stdin_tx, stdin_rx) = tokio::io::duplex(64 * 1024);
    let hangup = CancellationToken::new();
    let stdin_pump = tracker.spawn(super::channel_to_writer(
        read_half,
        stdin_tx,
        hangup.clone(),
    ));
    let client = Client {
        caller,
        source,
        tty,
        stdin: Box::new(stdin_rx),
        stdout: Box::new(write_half.make_writer()),
        stderr: Box::new(write_half.make_writer_ext(Some(1))),
        hangup,
    };
    let code = super::run::run_exec(&ctx, &tracker, &raw, client).await;
    stdin_pump.abort();
    let _ = write_half
        .exit_status(u32::try_from(code).unwrap_or(1))
        .await;
    let _ = write_half.eof().await;
    let _ = write_half.close().await;
}
