//! The handshake's state machine as a WebAssembly module with no imports, for the Node action.
//!
//! The ABI is JSON in and out through the module's memory, one machine per instance:
//! - `vkh_alloc(len) -> ptr` / `vkh_free(ptr, len)`: buffers the driver writes its JSON into;
//! - `vkh_start(ptr, len) -> status`: the start document (environment, time, terminal, payload,
//!   and `random`: base64 of the machine's seed, at least 24 bytes from the system);
//! - `vkh_resume(ptr, len, now_ms) -> status`: the replies to the last step's effects, in
//!   their order (`[]` the first time and after an abandon, then `[{"http": {"ok": …}}]` and
//!   the like: wire.rs `Reply`), and the driver's monotonic clock in milliseconds (an f64
//!   holding a whole number);
//! - `vkh_cancel(ptr, len) -> 0|1`: a signal's name; 1 means abandon the effects in flight;
//! - `vkh_output_ptr()` / `vkh_output_len()`: the last answer (a step, or an error text).
//!
//! Status 0 is success; 1 means the output holds an error message (bad JSON from the driver,
//! or a resume before a start). Every decision is the core's; this file only moves bytes.

use std::cell::RefCell;
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use vault_k8s_handshake::pure::machine::wire::Reply;
use vault_k8s_handshake::pure::machine::{Machine, SEED_BYTES};

thread_local! {
    static MACHINE: RefCell<Option<Machine>> = const { RefCell::new(None) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What the Node driver knows when it starts.
#[derive(Deserialize)]
struct Start {
    /// The process environment (`process.env`).
    env: BTreeMap<String, String>,
    /// Unix seconds.
    now: i64,
    /// stdout is a terminal.
    tty: bool,
    /// `RUNNER_TEMP`, else `os.tmpdir()`.
    temp: String,
    /// The text of `GITHUB_EVENT_PATH`, when the driver could read it.
    event_payload: Option<String>,
    /// Base64 of the driver's random bytes, `SEED_BYTES` or more.
    random: String,
}

fn set_output(bytes: Vec<u8>) {
    OUTPUT.with(|o| *o.borrow_mut() = bytes);
}

fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the driver wrote `len` bytes at `ptr`, a buffer it got from `vkh_alloc`.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

fn fail(message: String) -> u32 {
    set_output(message.into_bytes());
    1
}

#[no_mangle]
pub extern "C" fn vkh_alloc(len: usize) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len.max(1));
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// # Safety
/// `ptr` and `len` must come from one `vkh_alloc` call, freed once.
#[no_mangle]
pub unsafe extern "C" fn vkh_free(ptr: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(ptr, 0, len.max(1)));
}

#[no_mangle]
pub extern "C" fn vkh_start(ptr: *const u8, len: usize) -> u32 {
    let start: Start = match serde_json::from_slice(input(ptr, len)) {
        Ok(s) => s,
        Err(e) => return fail(format!("the start document is not valid: {e}")),
    };
    let env = &start.env;
    let raw = vault_k8s_handshake::env::inputs_from(env);
    let snapshot = vault_k8s_handshake::env::snapshot_from(
        env,
        raw,
        start.now,
        start.tty,
        &start.temp,
        start.event_payload.as_deref(),
    );
    // The driver's file rules: the workspace and temp folder in a runner.
    let Some(seed) = base64::engine::general_purpose::STANDARD
        .decode(&start.random)
        .ok()
        .filter(|seed| seed.len() >= SEED_BYTES)
    else {
        return fail(format!(
            "the start document is not valid: `random` is not base64 of {SEED_BYTES}+ bytes"
        ));
    };
    let roots = vault_k8s_handshake::env::file_roots_from(env);
    MACHINE.with(|m| *m.borrow_mut() = Some(Machine::new(snapshot, &seed)));
    set_output(
        serde_json::json!({ "file_roots": roots })
            .to_string()
            .into_bytes(),
    );
    0
}

#[no_mangle]
pub extern "C" fn vkh_resume(ptr: *const u8, len: usize, now_ms: f64) -> u32 {
    let replies: Vec<Reply> = match serde_json::from_slice(input(ptr, len)) {
        Ok(r) => r,
        Err(e) => return fail(format!("the replies are not valid: {e}")),
    };
    MACHINE.with(|m| match m.borrow_mut().as_mut() {
        Some(machine) => {
            // `as` saturates: a negative or NaN clock reads 0.
            let step = machine.resume(replies, now_ms as u64);
            match serde_json::to_vec(&step) {
                Ok(bytes) => {
                    set_output(bytes);
                    0
                }
                Err(e) => fail(format!("the step cannot be encoded: {e}")),
            }
        }
        None => fail("resume before start".into()),
    })
}

#[no_mangle]
pub extern "C" fn vkh_cancel(ptr: *const u8, len: usize) -> u32 {
    let signal = String::from_utf8_lossy(input(ptr, len)).into_owned();
    MACHINE.with(|m| match m.borrow_mut().as_mut() {
        Some(machine) => u32::from(machine.cancel(&signal)),
        None => 0,
    })
}

#[no_mangle]
pub extern "C" fn vkh_output_ptr() -> *const u8 {
    OUTPUT.with(|o| o.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn vkh_output_len() -> usize {
    OUTPUT.with(|o| o.borrow().len())
}
