//! Lingering close, as nginx's `lingering_close`: a connection closed while the client may still
//! be sending (a 413 to an upload in progress) first stops writing, then reads and discards
//! what the client sends, for a bounded time, before it closes. Closing with unread data would
//! make the kernel reset the connection, and the client would lose the response it was sent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How long a closing connection keeps reading what the client still sends.
const LINGER: Duration = Duration::from_secs(5);

/// Set by the connection's requests when its close should linger.
#[derive(Clone, Default)]
pub struct LingerFlag(Arc<AtomicBool>);

impl LingerFlag {
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A client connection whose shutdown lingers when its flag is set.
pub struct Lingering<I> {
    io: I,
    flag: LingerFlag,
    /// Set once the write side is shut: the end of the lingering.
    until: Option<Pin<Box<Sleep>>>,
}

impl<I> Lingering<I> {
    pub fn new(io: I, flag: LingerFlag) -> Lingering<I> {
        Lingering {
            io,
            flag,
            until: None,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Lingering<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.flag.is_set() {
            return Pin::new(&mut this.io).poll_shutdown(cx);
        }
        if this.until.is_none() {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            this.until = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut scratch = [0u8; 8192];
        loop {
            if let Some(until) = this.until.as_mut() {
                if until.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
            }
            let mut discard = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut this.io).poll_read(cx, &mut discard)) {
                Ok(()) if discard.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => continue,
                Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}
