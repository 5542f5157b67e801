//! One SSH connection: public-key authentication against Berth's keys, then exec requests.
//! Shells, subsystems and port forwarding are refused.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use russh::server::{
    Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::exec::{parse_exec, ExecRequest};
use super::keys::describe;
use super::receive;
use crate::commands::{self, Io};
use crate::context::{Caller, Ctx};
use crate::names::KeyName;

pub struct SshSession {
    ctx: Arc<Ctx>,
    tracker: TaskTracker,
    peer: Option<SocketAddr>,
    key: Option<KeyName>,
    channels: HashMap<ChannelId, Channel<Msg>>,
    ptys: HashSet<ChannelId>,
}

impl SshSession {
    pub fn new(ctx: Arc<Ctx>, tracker: TaskTracker, peer: Option<SocketAddr>) -> SshSession {
        SshSession {
            ctx,
            tracker,
            peer,
            key: None,
            channels: HashMap::new(),
            ptys: HashSet::new(),
        }
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
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
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
        let (Some(channel), Some(key)) = (self.channels.remove(&channel_id), self.key.clone())
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
        self.tracker.spawn(
            async move { run_exec(ctx, tracker, Caller::Key(key), channel, raw, tty).await }
                .instrument(span),
        );
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel_id: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel_id)?;
        if let Some(channel) = self.channels.remove(&channel_id) {
            let message = " !     Berth has no shell; run a command: ssh <host> help\n";
            let _ = channel
                .extended_data_bytes(1, message.as_bytes().to_vec())
                .await;
            let _ = channel.exit_status(1).await;
            let _ = channel.close().await;
        }
        Ok(())
    }
}

async fn run_exec(
    ctx: Arc<Ctx>,
    tracker: TaskTracker,
    caller: Caller,
    channel: Channel<Msg>,
    raw: Vec<u8>,
    tty: bool,
) {
    let (read_half, write_half) = channel.split();
    let stdout = write_half.make_writer();
    let mut stderr = write_half.make_writer_ext(Some(1));
    let code = match parse_exec(&raw) {
        Err(err) => {
            let _ = stderr.write_all(format!(" !     {err}\n").as_bytes()).await;
            1
        }
        Ok(ExecRequest::ReceivePack(app)) => {
            receive::run(&ctx, &tracker, caller, app, read_half, stdout, stderr).await
        }
        Ok(ExecRequest::Command(words)) => {
            let (stdin_tx, stdin_rx) = tokio::io::duplex(64 * 1024);
            let hangup = CancellationToken::new();
            let stdin_pump = tracker.spawn(super::channel_to_writer(
                read_half,
                stdin_tx,
                hangup.clone(),
            ));
            let mut io = Io {
                stdin: Box::new(stdin_rx),
                stdout: Box::new(stdout),
                stderr: Box::new(stderr),
                tty,
                hangup,
                report: Default::default(),
            };
            let code = commands::execute(&ctx, &caller, &words, &mut io).await;
            io.flush().await;
            stdin_pump.abort();
            code
        }
    };
    let _ = write_half
        .exit_status(u32::try_from(code).unwrap_or(1))
        .await;
    let _ = write_half.eof().await;
    let _ = write_half.close().await;
}
