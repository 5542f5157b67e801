//! The admin listener's connections, bounded as a remote peer could hold them (the deploy
//! webhook faces forges and CI runners): at most `MAX_CONNECTIONS` at once (more wait in the
//! kernel's backlog), at most `PER_ADDRESS` from one address (more are closed at once), and
//! each closed after `IDLE` without a byte either way (a silent or slow client, or a keep-alive
//! connection left open). axum's own listener bounds none of these.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::accept::{AcceptErrors, Occasional};

const MAX_CONNECTIONS: usize = 256;
pub const PER_ADDRESS: usize = 16;
pub const IDLE: Duration = Duration::from_secs(30);

type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// The admin listener, handing axum bounded connections.
pub struct Bounded {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    counts: Counts,
    errors: AcceptErrors,
    refusals: Occasional,
}

impl Bounded {
    pub fn new(listener: TcpListener) -> Bounded {
        Bounded {
            listener,
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            counts: Counts::default(),
            errors: AcceptErrors::new("admin"),
            refusals: Occasional::default(),
        }
    }
}

impl axum::serve::Listener for Bounded {
    type Io = Guarded<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // The semaphore is never closed: `None` cannot happen.
            let slot = self.slots.clone().acquire_owned().await.ok();
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    self.errors.pause(&err).await;
                    continue;
                }
            };
            match AddressSlot::take(&self.counts, peer.ip()) {
                Some(address) => return (Guarded::new(stream, slot, address), peer),
                None => {
                    if let Some(left_out) = self.refusals.due() {
                        tracing::warn!(%peer, left_out, "admin connection refused: {PER_ADDRESS} open from that address already");
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// The client's address, as handlers extract it (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Bounded>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Bounded>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// One of an address's `PER_ADDRESS` connections, given back when dropped.
pub struct AddressSlot {
    counts: Counts,
    address: IpAddr,
}

impl AddressSlot {
    fn take(counts: &Counts, address: IpAddr) -> Option<AddressSlot> {
        let mut table = counts.lock().unwrap_or_else(|p| p.into_inner());
        let open = table.entry(address).or_default();
        if *open >= PER_ADDRESS {
            return None;
        }
        *open += 1;
        Some(AddressSlot {
            counts: counts.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut table = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = table.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                table.remove(&self.address);
            }
        }
    }
}

/// A connection that fails with `TimedOut` after `IDLE` without progress, holding its slots.
pub struct Guarded<S> {
    stream: S,
    idle: Pin<Box<Sleep>>,
    _slot: Option<OwnedSemaphorePermit>,
    _address: Option<AddressSlot>,
}

impl<S> Guarded<S> {
    fn new(stream: S, slot: Option<OwnedSemaphorePermit>, address: AddressSlot) -> Guarded<S> {
        Guarded {
            stream,
            idle: Box::pin(tokio::time::sleep(IDLE)),
            _slot: slot,
            _address: Some(address),
        }
    }

    /// `Pending` becomes `TimedOut` once the connection has been idle for `IDLE`; progress
    /// starts the wait again.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.idle.as_mut().reset(Instant::now() + IDLE);
                Poll::Ready(result)
            }
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::ErrorKind::TimedOut.into())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        self.watch(cx, polled)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, bytes);
        self.watch(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_cut_off_and_a_talking_one_is_not() {
        let (client, server) = tokio::io::duplex(64);
        let mut guarded = Guarded {
            stream: server,
            idle: Box::pin(tokio::time::sleep(IDLE)),
            _slot: None,
            _address: None,
        };
        let mut client = client;
        let mut byte = [0u8; 1];
        for _ in 0..3 {
            tokio::time::sleep(IDLE / 2).await;
            client.write_all(b"x").await.unwrap();
            guarded.read_exact(&mut byte).await.unwrap();
        }
        let started = Instant::now();
        let err = guarded.read(&mut byte).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), IDLE);
    }

    #[test]
    fn an_address_gets_its_slots_back() {
        let counts = Counts::default();
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        let held: Vec<_> = (0..PER_ADDRESS)
            .map(|_| AddressSlot::take(&counts, address).unwrap())
            .collect();
        assert!(AddressSlot::take(&counts, address).is_none());
        assert!(AddressSlot::take(&counts, "192.0.2.8".parse().unwrap()).is_some());
        drop(held);
        assert!(AddressSlot::take(&counts, address).is_some());
        assert_eq!(
            counts.lock().unwrap().len(),
            0,
            "dropped slots leave no entry"
        );
    }
}
