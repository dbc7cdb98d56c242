//! The start/stop lifecycle every stand-in shares: a named OS thread running its own tokio
//! runtime (`shell::runtime`), a shutdown signal, and a join on drop.
//!
//! Owns only that scaffolding; what is served (the Vault dev server, the kube-apiserver and
//! GitHub stand-ins) is the caller's future. Binding sockets stays with the callers, so each
//! keeps its own loopback-only rule in one visible place; this module never opens a socket.

use std::future::Future;
use std::io;
use std::thread::JoinHandle;

use tokio::sync::watch;

/// The signal a served future waits on; clone it for each listener served. Resolves when the
/// owning [`ServerThread`] is dropped.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once stop was asked for (or the owner is gone, which also means stop).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// A server running on its own thread and runtime. Stops, and waits for the thread, when
/// dropped.
pub struct ServerThread {
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Starts a thread called `name` with a two-worker runtime and runs `serve(shutdown)` on it
    /// to completion. The future is built on that thread, so it need not be `Send`.
    pub fn spawn<F, Fut>(name: &str, serve: F) -> io::Result<ServerThread>
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (tx, rx) = watch::channel(false);
        let label = name.to_string();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let runtime = match crate::shell::runtime() {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("{label}: cannot start a runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(serve(Shutdown(rx)));
            })?;
        Ok(ServerThread {
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_stops_the_served_future_and_joins() {
        let (tx, rx) = std::sync::mpsc::channel();
        let server = ServerThread::spawn("lifecycle-test", move |shutdown| async move {
            shutdown.wait().await;
            let _ = tx.send("stopped");
        })
        .expect("spawn");
        drop(server);
        assert_eq!(rx.recv().expect("the future ran to its end"), "stopped");
    }
}
