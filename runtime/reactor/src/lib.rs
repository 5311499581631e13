//! `pipeline_reactor`: the pipeline runtime's sessions
//! ([`pipeline_runtime::Session`]) behind a small C ABI, built for
//! wasm32-wasip1 as a WASI *reactor* (a module without `_start`: the host
//! calls `_initialize` once, then these exports). For JavaScript hosts that
//! cannot block on stdin, so cannot feed `pipeline_executor stream`.
//!
//! ```text
//! rm_alloc(len: u32) -> *mut u8            memory for the host to write inputs into
//! rm_free(ptr: *mut u8, len: u32)           give it back (same len)
//! rm_session_open(manifest_ptr, manifest_len, base_dir_ptr, base_dir_len) -> i32
//!                                           handle > 0, or -exit code
//! rm_session_push(handle, item_ptr, item_len) -> i32     0, or -exit code
//! rm_session_push_many(handle, items_ptr, items_len) -> i32  the same, for a JSON array of items
//! rm_session_push_audio(handle, samples_ptr, samples_bytes, sample_rate, channels) -> i32
//!                                           the same, for audio as little-endian f32 samples
//! rm_session_close(handle) -> i32                         0, or -exit code
//! rm_output_ptr() -> *const u8, rm_output_len() -> u32   what the last call produced
//! ```
//!
//! Texts are UTF-8 without a terminating NUL. After each `rm_session_*`
//! call the output buffer holds the result document of a push or close
//! (compact `{"outputs":{"<id>":[...]}}`, no newline), nothing after a
//! successful open, or on failure the error message (without `error: `).
//! It stays valid until the next `rm_session_*` call; `rm_alloc`, `rm_free`
//! and `rm_output_*` leave it alone. Exit codes are the CLI's
//! (`pipeline_executor exit-codes`): 1 usage (unknown handle, closed
//! session), 2 invalid manifest, 3 node failure, 4 invalid item.
//!
//! Behaviour is the session core's, so it is `stream`'s: open builds every
//! node (Python modules imported, models loaded: the same start-up errors
//! as `run`); each push returns that item's result; close flushes the nodes
//! and returns what that produced; after a node error every push fails
//! with `session failed earlier: ...` and close returns no values. As in
//! the CLI, Python's `print` goes to stderr (stdout is the host's), the
//! interpreter starts with the first Python node, `PWD`/`PYTHONHOME` are
//! honoured and Python nodes are refused when the standard library is not
//! reachable ([`pipeline_runtime::wasi_host::prepare`], on the first open),
//! and the module defines the C math functions itself
//! ([`pipeline_runtime::export_libm!`]), so results are bit-identical to
//! the binaries'.
//!
//! State (sessions, the output buffer) is per thread: on wasm32-wasip1
//! there is one; natively each thread sees its own handles.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use pipeline_runtime::{Error, Registry, Session, SessionOptions};

// CPython's math module (and whisper.cpp) use the same libm code as the
// binaries. Do not link this crate's rlib into a binary that invokes the
// macro itself (the symbols would be defined twice).
pipeline_runtime::export_libm!();

struct State {
    /// The node registry, prepared on the first open.
    registry: Option<Registry>,
    /// Open sessions by handle (closed ones are removed).
    sessions: BTreeMap<i32, Session>,
    /// The handle the next open gets; handles below it were used.
    next_handle: i32,
    /// What the last `rm_session_*` call produced.
    output: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = const {
        RefCell::new(State {
            registry: None,
            sessions: BTreeMap::new(),
            next_handle: 1,
            output: Vec::new(),
        })
    };
}

/// The registry for the first open: the process prepared as the command
/// prepares it; in a module pre-initialised by Wizer, also the interpreter
/// checked against the host's environment ([`preinit`]).
fn prepare() -> Registry {
    #[cfg(all(target_os = "wasi", feature = "python"))]
    return preinit::prepare();
    #[cfg(not(all(target_os = "wasi", feature = "python")))]
    pipeline_runtime::wasi_host::prepare()
}

/// Record a call's outcome: the text in the output buffer, the return value.
fn finish(state: &mut State, result: Result<(i32, String), Error>) -> i32 {
    match result {
        Ok((code, text)) => {
            state.output = text.into_bytes();
            code
        }
        Err(e) => {
            state.output = e.message().as_bytes().to_vec();
            -e.exit_code()
        }
    }
}

/// The bytes at `ptr..ptr+len` (a null pointer is fine for an empty text).
///
/// # Safety
/// `ptr` must be null or point to `len` readable bytes.
unsafe fn bytes<'a>(ptr: *const u8, len: u32, what: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::usage(format!(
            "{what}: null pointer with length {len}"
        )));
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
}

/// UTF-8 JSON text of an input at `ptr..ptr+len` (not UTF-8: an inputs error).
///
/// # Safety
/// As [`bytes`].
unsafe fn json_input<'a>(ptr: *const u8, len: u32, what: &str) -> Result<&'a str, Error> {
    // SAFETY: the caller's promise.
    let text = unsafe { bytes(ptr, len, what) }?;
    std::str::from_utf8(text).map_err(|_| Error::inputs("invalid inputs: not valid UTF-8"))
}

/// One push call: `push` on the open session `handle`, its result document
/// (or error) recorded as the call's outcome ([`finish`]).
fn push_to(handle: i32, push: impl FnOnce(&mut Session) -> Result<String, Error>) -> i32 {
    STATE.with(|state| {
        let state = &mut *state.borrow_mut();
        let result = session_of(state, handle).and_then(push).map(|doc| (0, doc));
        finish(state, result)
    })
}

fn session_of(state: &mut State, handle: i32) -> Result<&mut Session, Error> {
    if handle <= 0 || handle >= state.next_handle {
        return Err(Error::usage(format!("unknown session handle {handle}")));
    }
    state
        .sessions
        .get_mut(&handle)
        .ok_or_else(|| Error::usage("the session is closed"))
}

/// Memory for `len` bytes (alignment 1) for the host to write an input
/// into; null if it cannot be had. Free it with [`rm_free`] and the same
/// `len`. `len` 0 gives a dangling, non-null pointer.
#[no_mangle]
pub extern "C" fn rm_alloc(len: u32) -> *mut u8 {
    if len == 0 {
        return std::ptr::NonNull::<u8>::dangling().as_ptr();
    }
    match std::alloc::Layout::from_size_align(len as usize, 1) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { std::alloc::alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Free memory from [`rm_alloc`]. Null or `len` 0: nothing to do.
///
/// # Safety
/// `ptr` must come from `rm_alloc(len)` and not be freed yet.
#[no_mangle]
pub unsafe extern "C" fn rm_free(ptr: *mut u8, len: u32) {
    if ptr.is_null() || len == 0 {
        return;
    }
    if let Ok(layout) = std::alloc::Layout::from_size_align(len as usize, 1) {
        // SAFETY: allocated by rm_alloc with this layout (caller's promise).
        unsafe { std::alloc::dealloc(ptr, layout) }
    }
}

/// Open a session: parse and validate the manifest (UTF-8 JSON text),
/// build every node. `base_dir` (UTF-8; empty = none: the working
/// directory) is where relative paths in the manifest resolve, as `run`
/// resolves them against the manifest file's folder. Returns a handle > 0,
/// or the negated exit code (the message in the output buffer).
///
/// # Safety
/// Each pointer must be null (with length 0) or point to that many
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_session_open(
    manifest_ptr: *const u8,
    manifest_len: u32,
    base_dir_ptr: *const u8,
    base_dir_len: u32,
) -> i32 {
    STATE.with(|state| {
        let state = &mut *state.borrow_mut();
        let result = (|| {
            // SAFETY: the caller's promise.
            let manifest = unsafe { bytes(manifest_ptr, manifest_len, "manifest") }?;
            let manifest = std::str::from_utf8(manifest)
                .map_err(|_| Error::manifest("invalid manifest: not valid UTF-8"))?;
            // SAFETY: the caller's promise.
            let base_dir = unsafe { bytes(base_dir_ptr, base_dir_len, "base_dir") }?;
            let base_dir = std::str::from_utf8(base_dir)
                .map_err(|_| Error::usage("base_dir is not valid UTF-8"))?;
            if state.next_handle == i32::MAX {
                return Err(Error::usage("too many sessions opened"));
            }
            let options = SessionOptions {
                base_dir: (!base_dir.is_empty()).then(|| PathBuf::from(base_dir)),
                python_print_to_stderr: true,
            };
            let registry = state.registry.get_or_insert_with(prepare);
            let session = Session::open(manifest, registry, &options)?;
            let handle = state.next_handle;
            state.next_handle += 1;
            state.sessions.insert(handle, session);
            Ok((handle, String::new()))
        })();
        finish(state, result)
    })
}

/// Push one item (UTF-8 JSON text: one value, the encoding of `--input`
/// items). Returns 0 with the item's result document in the output buffer,
/// or the negated exit code with the message.
///
/// # Safety
/// `item_ptr` must be null (with length 0) or point to `item_len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_session_push(handle: i32, item_ptr: *const u8, item_len: u32) -> i32 {
    push_to(handle, |session| {
        // SAFETY: the caller's promise.
        session.push_json(unsafe { json_input(item_ptr, item_len, "item") }?)
    })
}

/// Push several items in one call (UTF-8 JSON text: an array of items):
/// as pushing each in order, with one result document for them all
/// ([`Session::push_many_json`]: a malformed item pushes none of them).
/// Returns 0 with the document in the output buffer, or the negated exit
/// code with the message.
///
/// # Safety
/// `items_ptr` must be null (with length 0) or point to `items_len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_session_push_many(
    handle: i32,
    items_ptr: *const u8,
    items_len: u32,
) -> i32 {
    push_to(handle, |session| {
        // SAFETY: the caller's promise.
        session.push_many_json(unsafe { json_input(items_ptr, items_len, "items") }?)
    })
}

/// Push one audio item given as its samples: `samples_bytes` bytes of
/// interleaved little-endian f32 (a `Float32Array`'s bytes, copied into
/// memory from `rm_alloc`; any alignment), with its rate and channel count.
/// The same item, and result, as `{"$audio":{...}}` JSON with these samples
/// ([`Session::push_audio_json`]), without JSON or base64. Returns 0 with the
/// document in the output buffer, or the negated exit code with the message
/// (-4 for a byte count that is not whole samples, or a bad rate, channel
/// count or sample count).
///
/// # Safety
/// `samples_ptr` must be null (with length 0) or point to `samples_bytes`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_session_push_audio(
    handle: i32,
    samples_ptr: *const u8,
    samples_bytes: u32,
    sample_rate: u32,
    channels: u32,
) -> i32 {
    push_to(handle, |session| {
        // SAFETY: the caller's promise.
        let bytes = unsafe { bytes(samples_ptr, samples_bytes, "samples") }?;
        if bytes.len() % 4 != 0 {
            return Err(Error::inputs(format!(
                "invalid inputs: audio: {} bytes is not a whole number of f32 samples",
                bytes.len()
            )));
        }
        let samples = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        session.push_audio_json(samples, sample_rate, channels)
    })
}

/// Close a session: flush its nodes, free it. Returns 0 with what the flush
/// produced (a result document) in the output buffer, or the negated exit
/// code with the message. The handle is closed either way.
#[no_mangle]
pub extern "C" fn rm_session_close(handle: i32) -> i32 {
    STATE.with(|state| {
        let state = &mut *state.borrow_mut();
        let result = session_of(state, handle).map(|_| ()).and_then(|()| {
            let mut session = state
                .sessions
                .remove(&handle)
                .ok_or_else(|| Error::usage("the session is closed"))?;
            session.close_json().map(|doc| (0, doc))
        });
        finish(state, result)
    })
}

/// Start of the text the last `rm_session_*` call produced.
#[no_mangle]
pub extern "C" fn rm_output_ptr() -> *const u8 {
    STATE.with(|state| state.borrow().output.as_ptr())
}

/// Length in bytes of that text.
#[no_mangle]
pub extern "C" fn rm_output_len() -> u32 {
    STATE.with(|state| u32::try_from(state.borrow().output.len()).unwrap_or(u32::MAX))
}

/// `_initialize` for links that do not add wasi-libc's `crt1-reactor.o`
/// (which defines it) to the cdylib: runs the module's constructors once.
#[cfg(all(target_os = "wasi", feature = "export-initialize"))]
#[no_mangle]
pub extern "C" fn _initialize() {
    use std::sync::atomic::{AtomicBool, Ordering};
    extern "C" {
        /// Synthesised by wasm-ld: calls every constructor.
        fn __wasm_call_ctors();
    }
    static DONE: AtomicBool = AtomicBool::new(false);
    if !DONE.swap(true, Ordering::SeqCst) {
        // SAFETY: called once, before any other export (host convention).
        unsafe { __wasm_call_ctors() }
    }
}

#[cfg(all(target_os = "wasi", feature = "python"))]
mod preinit;

#[cfg(test)]
mod tests;
