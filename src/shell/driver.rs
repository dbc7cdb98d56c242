//! The native driver: performs the machine's effects with tokio, reqwest, rustls and octocrab,
//! writes its log lines, and turns the runner's SIGINT/SIGTERM into a cancel.
//!
//! Everything the handshake decides is in `pure::machine`; this loop only does what it is told
//! and hands back what happened. One HTTP client per distinct setting is kept for the run.

use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use rand::RngCore as _;

use crate::pure::machine::wire::{Bytes, Effect, Line, Reply, Stream};
use crate::pure::machine::{Machine, Next, Snapshot, SEED_BYTES};
use crate::source::FileRules;

/// Runs one handshake to its end and returns the exit code.
pub async fn drive(snapshot: Snapshot, rules: FileRules) -> u8 {
    let mut seed = [0u8; SEED_BYTES];
    rand::thread_rng().fill_bytes(&mut seed);
    let mut machine = Machine::new(snapshot, &seed);
    let io = Driver {
        rules,
        started: Instant::now(),
        http: super::http::Clients::default(),
        github: super::github::Clients::default(),
    };
    let mut signals = Signals::new();
    let mut replies = Vec::new();
    loop {
        let step = machine.resume(replies, io.clock_ms());
        write_lines(&step.lines);
        let effects = match step.next {
            Next::Exit { code } => return code,
            Next::Effects { effects } => effects,
        };
        let performed = all(effects
            .into_iter()
            .map(|effect| io.perform(effect))
            .collect());
        tokio::pin!(performed);
        replies = loop {
            tokio::select! {
                done = &mut performed => break done,
                signal = signals.next() => {
                    // Abandon the effects only when the machine says so; otherwise they finish
                    // and the machine stops at its next safe point.
                    if machine.cancel(signal) {
                        break Vec::new();
                    }
                }
            }
        };
    }
}

/// Performs a step's effects at once (on this one thread) and answers in their order.
async fn all<F: Future>(effects: Vec<F>) -> Vec<F::Output> {
    let mut effects: Vec<Pin<Box<F>>> = effects.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = effects.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (effect, done) in effects.iter_mut().zip(done.iter_mut()) {
            if done.is_none() {
                match effect.as_mut().poll(cx) {
                    Poll::Ready(reply) => *done = Some(reply),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(done.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}

fn write_lines(lines: &[Line]) {
    if lines.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for line in lines {
        let _ = match line.stream {
            Stream::Stdout => writeln!(out, "{}", line.text),
            Stream::Stderr => {
                let _ = out.flush();
                writeln!(err, "{}", line.text)
            }
        };
    }
    let _ = out.flush();
}

struct Driver {
    rules: FileRules,
    started: Instant,
    http: super::http::Clients,
    github: super::github::Clients,
}

impl Driver {
    /// The monotonic clock the machine is resumed with, in milliseconds since the run began.
    fn clock_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn perform(&self, effect: Effect) -> Reply {
        match effect {
            Effect::Http(request) => Reply::Http(self.http.send(&request).await.into()),
            Effect::Probe(request) => Reply::Probe {
                report: super::probe::probe_wire(&request).await,
            },
            Effect::Github(request) => Reply::Github(self.github.perform(&request).await.into()),
            Effect::ReadFile { path, .. } => Reply::File(
                crate::source::read_file_raw(std::path::Path::new(&path), &self.rules)
                    .map(Bytes)
                    .into(),
            ),
            Effect::RemoveFile { path } => done(std::fs::remove_file(path)),
            Effect::AppendFile { path, text } => done(
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(text.as_bytes())),
            ),
            Effect::WriteFile { path, text } => done(std::fs::write(path, text)),
            Effect::Sleep { ms } => {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Reply::Done { error: None }
            }
        }
    }
}

fn done(result: std::io::Result<()>) -> Reply {
    Reply::Done {
        error: result.err().map(|e| e.to_string()),
    }
}

/// SIGINT and SIGTERM (the runner's cancel; a container's PID 1 gets no default action for
/// SIGTERM, so without this the step would only end at SIGKILL, token alive).
struct Signals {
    #[cfg(unix)]
    pair: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        let pair = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Some((int, term)),
            _ => None,
        };
        Signals { pair }
    }

    #[cfg(not(unix))]
    fn new() -> Signals {
        Signals {}
    }

    /// The next signal's name; pending forever without handlers.
    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        match &mut self.pair {
            Some((int, term)) => tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            None => std::future::pending().await,
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
