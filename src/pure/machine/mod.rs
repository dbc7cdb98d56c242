//! The handshake as one sans-IO state machine: given the inputs and a snapshot of the runner's
//! environment, it yields [`Effect`]s and is fed their [`Reply`]s. It holds no socket, clock or
//! random source; a driver performs each effect and resumes it with the result.
//!
//! The steps are written as ordinary `async` code over [`Io`], whose only "await points" are
//! effects: [`Machine::resume`] polls that code once with a waker that does nothing, takes the
//! effects it stopped at, and returns them. Usually that is one; where two steps do not depend
//! on each other ([`both`]: Vault's health and the GitHub OIDC token) it is a batch the driver
//! performs at once and answers in order. There is no executor, no task and no timer in here;
//! the code runs exactly as far as the replies it was given allow, so both drivers (native, and
//! Node through WebAssembly) take the same path through the same decisions: retries and their
//! backoff, the proof window, rollback, revoke on every path, and cancellation (a driver calls
//! [`Machine::cancel`]; the machine refuses to stop between a config write and its read-back).

mod github;
mod handshake;
mod oidc;
mod out;
mod proof;
mod url;
mod vault;
pub mod wire;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use serde::{Deserialize, Serialize};

pub use handshake::Snapshot;
pub use oidc::{token_url, OidcError, OidcRequest};
pub use out::{Out, RunnerPaths};
pub use url::{https_or_loopback_http, is_loopback_url, origin_of};
pub use vault::{CallError, TransportError};
use wire::{
    Bytes, Effect, FileFailure, GithubAnswer, GithubFailure, GithubRequest, HttpFailure,
    HttpRequest, HttpResponse, Line, ProbeReport, ProbeRequest, Reply,
};

/// How many random bytes a driver hands [`Machine::new`].
pub const SEED_BYTES: usize = 24;

/// What the machine wants next.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Next {
    /// Perform these, at once when there are several, and resume with their replies in the
    /// same order.
    Effects { effects: Vec<Effect> },
    /// The run is over: exit with this code.
    Exit { code: u8 },
}

/// One resume's result: log lines to write first, in order, then what comes next.
#[derive(Debug, Serialize, Deserialize)]
pub struct Step {
    pub lines: Vec<Line>,
    pub next: Next,
}

type Local<T> = Pin<Box<dyn Future<Output = T>>>;

enum Phase {
    /// The handshake's steps: may be cancelled outside the critical section.
    Steps(Local<()>),
    /// Revoke, publish, report: runs to the end whatever happens.
    Wrapup(Local<u8>),
    Over(u8),
}

/// The handshake, waiting for its next reply.
pub struct Machine {
    phase: Phase,
    ctx: Rc<handshake::Run>,
    /// A cancel that came inside the critical section: taken at its end.
    cancel_pending: Option<String>,
    /// The ids of the effects the last step asked for, in its order.
    in_flight: Vec<u32>,
}

impl Machine {
    /// A machine for one run; nothing happens until the first [`Machine::resume`]. `seed` is
    /// [`SEED_BYTES`] random bytes from the system, handed in once as quinn-proto is given its
    /// RNG seed: the output delimiter and the backoff jitter come from it.
    pub fn new(snapshot: Snapshot, seed: &[u8]) -> Machine {
        let ctx = Rc::new(handshake::Run::new(snapshot, seed));
        let steps = handshake::steps(ctx.clone());
        Machine {
            phase: Phase::Steps(Box::pin(steps)),
            ctx,
            cancel_pending: None,
            in_flight: Vec::new(),
        }
    }

    /// Hands over the replies to the last step's effects, in their order (none the first time,
    /// and none after a cancel the driver abandoned the effects for), and runs to the next
    /// effects or the end. `now_ms` is the driver's monotonic clock as the replies came back, in
    /// milliseconds: time comes in with every resume, as in quinn-proto, rather than as an
    /// effect of its own. A short batch is a broken driver: each unanswered effect gets
    /// [`Reply::Missing`], which its step reports as such.
    pub fn resume(&mut self, replies: Vec<Reply>, now_ms: u64) -> Step {
        self.ctx.io.clock.set(now_ms);
        let mut replies = replies.into_iter();
        for id in std::mem::take(&mut self.in_flight) {
            self.ctx
                .io
                .hand_in(id, replies.next().unwrap_or(Reply::Missing));
        }
        let next = loop {
            match &mut self.phase {
                Phase::Steps(fut) => match poll_caught(fut.as_mut()) {
                    Err(()) => {
                        // A panic in the steps: the wrap-up still revokes and reports.
                        handshake::record_panic(&self.ctx);
                        self.start_wrapup();
                    }
                    Ok(Poll::Ready(())) => {
                        // A cancel that waited out the critical section stops the run at its
                        // end, as it would have at the next effect; a failure already recorded
                        // says more than "cancelled" and is kept.
                        if let Some(signal) = self.cancel_pending.take() {
                            if self.ctx.report.borrow().failure.is_none() {
                                handshake::record_cancel(&self.ctx, &signal);
                            }
                        }
                        self.start_wrapup();
                    }
                    Ok(Poll::Pending) => {
                        if self.ctx.io.critical.get() == 0 {
                            if let Some(signal) = self.cancel_pending.take() {
                                // The effects just issued are dropped unperformed.
                                self.ctx.io.forget();
                                self.cancel_now(&signal);
                                continue;
                            }
                        }
                        break self.pending_effects();
                    }
                },
                Phase::Wrapup(fut) => match poll_once(fut.as_mut()) {
                    Poll::Ready(code) => self.phase = Phase::Over(code),
                    Poll::Pending => break self.pending_effects(),
                },
                Phase::Over(code) => break Next::Exit { code: *code },
            }
        };
        Step {
            lines: self.ctx.out.take_lines(),
            next,
        }
    }

    /// The runner asked the step to stop (`signal` names how). True: abandon the effects in
    /// flight and call [`Machine::resume`] with no replies. False: finish the effects in flight
    /// and resume with their replies as usual (a config write is waiting for its read-back, or
    /// the run is already reporting); the machine stops at the first safe point.
    pub fn cancel(&mut self, signal: &str) -> bool {
        match self.phase {
            Phase::Steps(_) if self.ctx.io.critical.get() == 0 => {
                self.in_flight.clear();
                self.ctx.io.forget();
                self.cancel_now(signal);
                true
            }
            Phase::Steps(_) => {
                self.cancel_pending
                    .get_or_insert_with(|| signal.to_string());
                false
            }
            _ => false,
        }
    }

    fn cancel_now(&mut self, signal: &str) {
        // Dropping the steps drops every borrow they held; the report keeps what they did.
        self.phase = Phase::Over(0);
        handshake::record_cancel(&self.ctx, signal);
        self.start_wrapup();
    }

    fn start_wrapup(&mut self) {
        self.phase = Phase::Wrapup(Box::pin(handshake::wrapup(self.ctx.clone())));
    }

    fn pending_effects(&mut self) -> Next {
        let (ids, effects): (Vec<u32>, Vec<Effect>) =
            self.ctx.io.parked.borrow_mut().drain(..).unzip();
        self.in_flight = ids;
        if effects.is_empty() {
            // Only an await on something other than an effect could get here; there is none.
            return Next::Exit {
                code: crate::pure::ErrorClass::Bug.exit_code(),
            };
        }
        Next::Effects { effects }
    }
}

/// Polls once, catching a panic where unwinding exists (native); in WebAssembly a panic aborts.
fn poll_caught<T>(fut: Pin<&mut dyn Future<Output = T>>) -> Result<Poll<T>, ()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(fut))).map_err(|_| ())
}

pub(super) fn poll_once<T>(fut: Pin<&mut dyn Future<Output = T>>) -> Poll<T> {
    let mut cx = Context::from_waker(Waker::noop());
    fut.poll(&mut cx)
}

/// The one way the steps reach the world: each call parks an effect under an id of its own
/// and waits for the reply handed in under that id.
#[derive(Default)]
pub struct Io {
    /// Effects parked since the last resume, in the order they were asked for.
    parked: RefCell<Vec<(u32, Effect)>>,
    /// Replies handed in and not yet taken.
    replies: RefCell<Vec<(u32, Reply)>>,
    next_id: Cell<u32>,
    critical: Cell<u32>,
    /// The driver's clock at the last resume.
    clock: Cell<u64>,
}

/// Parks its effect on the first poll, under a fresh id; ready when the driver's reply to that
/// id has been handed in.
struct Call<'a> {
    io: &'a Io,
    /// The effect until it is parked.
    effect: Option<Effect>,
    id: u32,
}

impl Future for Call<'_> {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Reply> {
        let io = self.io;
        if let Some(effect) = self.effect.take() {
            self.id = io.next_id.get();
            io.next_id.set(self.id.wrapping_add(1));
            io.parked.borrow_mut().push((self.id, effect));
            return Poll::Pending;
        }
        let mut replies = io.replies.borrow_mut();
        match replies.iter().position(|(id, _)| *id == self.id) {
            Some(at) => Poll::Ready(replies.swap_remove(at).1),
            None => Poll::Pending,
        }
    }
}

/// Runs two steps at once and waits for both: each one's effects go out in the same batch, so
/// a driver performs them together (two round trips to two services cost one). The first is
/// polled first, so what they log comes out in a fixed order.
pub async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let mut done_a = None;
    let mut done_b = None;
    std::future::poll_fn(|cx| {
        if done_a.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                done_a = Some(v);
            }
        }
        if done_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                done_b = Some(v);
            }
        }
        match (done_a.take(), done_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                done_a = x;
                done_b = y;
                Poll::Pending
            }
        }
    })
    .await
}

/// Inside it, a cancel waits: from a config write until its read-back (and any rollback).
pub struct Critical<'a>(&'a Io);

impl Drop for Critical<'_> {
    fn drop(&mut self) {
        self.0.critical.set(self.0.critical.get().saturating_sub(1));
    }
}

/// A reply of the wrong kind: the driver broke the protocol.
fn mismatch(wanted: &str, got: &Reply) -> String {
    // A reply is `"missing"` or an object keyed by its name (wire.rs).
    let got = match serde_json::to_value(got) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    format!("the driver answered `{got}` to a `{wanted}` effect")
}

impl Io {
    async fn call(&self, effect: Effect) -> Reply {
        Call {
            io: self,
            effect: Some(effect),
            id: 0,
        }
        .await
    }

    fn hand_in(&self, id: u32, reply: Reply) {
        self.replies.borrow_mut().push((id, reply));
    }

    /// Drops the effects parked and the replies not taken: the steps waiting on them are gone.
    fn forget(&self) {
        self.parked.borrow_mut().clear();
        self.replies.borrow_mut().clear();
    }

    pub fn critical(&self) -> Critical<'_> {
        self.critical.set(self.critical.get() + 1);
        Critical(self)
    }

    pub async fn http(&self, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
        match self.call(Effect::Http(request)).await {
            Reply::Http(result) => result.into(),
            other => Err(HttpFailure::Invalid {
                detail: mismatch("http", &other),
            }),
        }
    }

    pub async fn probe(&self, request: ProbeRequest) -> ProbeReport {
        match self.call(Effect::Probe(request)).await {
            Reply::Probe { report } => report,
            other => ProbeReport::Unreachable {
                detail: mismatch("probe", &other),
            },
        }
    }

    pub async fn github(&self, request: GithubRequest) -> Result<GithubAnswer, GithubFailure> {
        match self.call(Effect::Github(request)).await {
            Reply::Github(result) => result.into(),
            other => Err(GithubFailure::Transport {
                detail: mismatch("github", &other),
            }),
        }
    }

    pub async fn read_file(&self, origin: &str, path: &str) -> Result<Vec<u8>, FileFailure> {
        let effect = Effect::ReadFile {
            origin: origin.to_string(),
            path: path.to_string(),
        };
        match self.call(effect).await {
            Reply::File(result) => Result::from(result).map(|b: Bytes| b.0),
            other => Err(FileFailure::Io {
                detail: mismatch("read-file", &other),
            }),
        }
    }

    async fn done(&self, effect: Effect, wanted: &str) -> Result<(), String> {
        match self.call(effect).await {
            Reply::Done { error: None } => Ok(()),
            Reply::Done { error: Some(e) } => Err(e),
            other => Err(mismatch(wanted, &other)),
        }
    }

    pub async fn remove_file(&self, path: &str) -> Result<(), String> {
        let effect = Effect::RemoveFile {
            path: path.to_string(),
        };
        self.done(effect, "remove-file").await
    }

    pub async fn append_file(&self, path: &str, text: String) -> Result<(), String> {
        let effect = Effect::AppendFile {
            path: path.to_string(),
            text,
        };
        self.done(effect, "append-file").await
    }

    pub async fn write_file(&self, path: &str, text: String) -> Result<(), String> {
        let effect = Effect::WriteFile {
            path: path.to_string(),
            text,
        };
        self.done(effect, "write-file").await
    }

    pub async fn sleep(&self, ms: u64) {
        let _ = self.done(Effect::Sleep { ms }, "sleep").await;
    }

    /// Milliseconds on the driver's monotonic clock, as of the last resume: the steps run
    /// between two resumes without waiting, so that is now.
    pub fn now_ms(&self) -> u64 {
        self.clock.get()
    }
}

/// A small generator for backoff jitter, seeded from the driver's random bytes (splitmix64).
pub struct Jitter(Cell<u64>);

impl Jitter {
    pub fn new(seed: &[u8]) -> Jitter {
        let mut s = [0u8; 8];
        for (i, b) in seed.iter().take(8).enumerate() {
            s[i] = *b;
        }
        Jitter(Cell::new(u64::from_le_bytes(s)))
    }

    /// A factor in [0.75, 1.25).
    pub fn factor(&self) -> f64 {
        let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        0.75 + (z >> 11) as f64 / (1u64 << 53) as f64 * 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_steps_at_once_park_both_effects_and_each_takes_its_own_reply() {
        let io = Io::default();
        let mut joined = std::pin::pin!(both(
            io.call(Effect::Sleep { ms: 1 }),
            io.call(Effect::Sleep { ms: 2 })
        ));
        assert!(poll_once(joined.as_mut()).is_pending());
        let parked: Vec<(u32, Effect)> = io.parked.borrow_mut().drain(..).collect();
        let asked: Vec<u64> = parked
            .iter()
            .map(|(_, e)| match e {
                Effect::Sleep { ms } => *ms,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(asked, [1, 2], "one batch, in the order the steps asked");
        // Answered out of order: each step takes the reply under its own id.
        io.hand_in(
            parked[1].0,
            Reply::Done {
                error: Some("second".into()),
            },
        );
        io.hand_in(parked[0].0, Reply::Done { error: None });
        match poll_once(joined.as_mut()) {
            Poll::Ready((Reply::Done { error: None }, Reply::Done { error: Some(e) })) => {
                assert_eq!(e, "second")
            }
            other => panic!("not the replies handed in: {other:?}"),
        }
    }

    #[test]
    fn a_reply_of_the_wrong_kind_is_named() {
        assert_eq!(
            mismatch("http", &Reply::Done { error: None }),
            "the driver answered `done` to a `http` effect"
        );
        assert_eq!(
            mismatch("read-file", &Reply::Missing),
            "the driver answered `missing` to a `read-file` effect"
        );
    }
}
