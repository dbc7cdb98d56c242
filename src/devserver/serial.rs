//! A listener that serves one connection at a time, as a single-threaded HTTP/1.1 server does:
//! the next connection is taken only once the last one has closed, and a client that keeps its
//! connection open for another request holds the server until it closes it. Tests use it to
//! show that the action never waits on a second connection to a server it already holds one
//! to (`ServerOptions::one_connection_at_a_time`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Wraps a listener so that it hands out one connection at a time.
pub struct OneAtATime<L> {
    inner: L,
    turn: Arc<Semaphore>,
}

impl<L> OneAtATime<L> {
    pub fn new(inner: L) -> Self {
        OneAtATime {
            inner,
            turn: Arc::new(Semaphore::new(1)),
        }
    }
}

impl<L> axum::serve::Listener for OneAtATime<L>
where
    L: axum::serve::Listener,
    L::Io: Unpin,
{
    type Io = Held<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed; were it, the listener would take nothing more.
        let Ok(turn) = self.turn.clone().acquire_owned().await else {
            return std::future::pending().await;
        };
        let (io, addr) = self.inner.accept().await;
        (Held { io, _turn: turn }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that holds the listener's one turn until it is dropped (closed).
pub struct Held<T> {
    io: T,
    _turn: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Held<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Held<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
