//! Pre-initialisation at build time with Wizer (`rmbuild/build/wasm/preinit.py`).
//!
//! Wizer instantiates the reactor, calls `_initialize`, then [`initialize`]
//! (exported as `wizer.initialize`) with the build's stdlib preopened, and
//! writes a module whose memory and globals are those at the end of the
//! call (without `_initialize`: it already ran). [`initialize`] starts
//! CPython exactly as the first Python node's open does (the same hash
//! seed default, the built-in modules, the helper module, `print` to
//! stderr, `linecache`), so a pipeline's start then costs only its own
//! work. What the snapshot must not keep is dropped at its end: the
//! environment wasi-libc read (re-read from the host on first use) and
//! wasi-libc's table of preopens (found again on first use: the host may
//! preopen other folders, in another order). No file stays open: zipimport
//! keeps the stdlib zip's table of contents, not its file.
//!
//! On the first open of the pre-initialised module ([`prepare`]) the
//! process is prepared as the plain module prepares it, then the
//! interpreter is checked against the host's environment:
//!
//! * the variables CPython reads while it starts ([`is_startup_var`]) must
//!   have the values of the snapshot, after the runtime's defaults
//!   (`PYTHONHASHSEED` 0, `PYTHONHOME` when the stdlib is at `/usr/local`).
//!   `PYTHONPATH` may be added (bundles with requirements set it): its
//!   entries go first on `sys.path`, where CPython puts them. Any other
//!   difference (e.g. another `PYTHONHASHSEED`: the hash secret cannot
//!   change once strings are hashed) refuses Python nodes with
//!   [`mismatch_message`] (exit 3 when one starts); Rust-only pipelines run.
//! * every zip whose table of contents zipimport cached must be the same
//!   file (size and its last [`ZIP_TAIL`] bytes, which hold the central
//!   directory with each member's CRC): else Python nodes are refused too.
//! * `os.environ` is then made the host's environment
//!   ([`pipeline_runtime::python::sync_environ`]).
//!
//! The seeds of `random` are not in the snapshot: [`initialize`] fails if
//! `random` was imported. The process clock (`clock()`, `times()`,
//! `getrusage()`: Python's `time.process_time()`) starts at the first open,
//! not at the build ([`__clock`]).

use std::cell::RefCell;
use std::hash::Hasher;

use pipeline_runtime::python;
use pipeline_runtime::wasi_host;
use pipeline_runtime::Registry;
use pyo3::prelude::*;

/// Bytes at the end of each cached zip compared at wake-up.
const ZIP_TAIL: u64 = 128 * 1024;

/// Modules the snapshot may not hold: they keep seeds drawn at import.
const UNSEEDED: &[&str] = &["random", "tempfile", "uuid", "secrets"];

/// What [`initialize`] saw, checked against the host on the first open.
struct Snapshot {
    /// The start-up variables ([`is_startup_var`]) and values, sorted.
    startup_env: Vec<(String, String)>,
    /// Each zip whose table of contents zipimport cached: path, fingerprint.
    zips: Vec<(String, (u64, u64))>,
}

thread_local! {
    /// Set by [`initialize`], taken by the first [`prepare`].
    static SNAPSHOT: RefCell<Option<Snapshot>> = const { RefCell::new(None) };
}

extern "C" {
    /// wasi-libc: forget the environment read so far (read again on next use).
    fn __wasilibc_deinitialize_environ();
    /// wasi-libc: read it again now (for code that reads `environ` directly).
    fn __wasilibc_maybe_reinitialize_environ_eagerly();
    /// wasi-libc: forget the preopens found so far (found again on next use).
    fn __wasilibc_reset_preopens();
    /// wasi-libc's binding of WASI `clock_time_get`.
    fn __wasi_clock_time_get(id: u32, precision: u64, time: *mut u64) -> u16;
}

/// WASI's monotonic clock.
const CLOCK_MONOTONIC: u32 = 1;

/// The monotonic clock's reading at the process's start, for [`__clock`]:
/// the first open (or [`initialize`]); set again when the snapshot wakes.
static CLOCK_START: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

fn monotonic_ns() -> u64 {
    let mut now = 0;
    // SAFETY: writes one u64 through a valid pointer; errors leave it 0.
    unsafe { __wasi_clock_time_get(CLOCK_MONOTONIC, 0, &mut now) };
    now
}

/// Start the clock of [`__clock`] now (a no-op once started, unless `again`).
fn start_process_clock(again: bool) {
    use std::sync::atomic::Ordering;
    let now = monotonic_ns();
    if again {
        CLOCK_START.store(now, Ordering::SeqCst);
    } else {
        let _ = CLOCK_START.compare_exchange(u64::MAX, now, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// wasi-libc's emulated process clock (`clock()`, and through it `times()`,
/// `getrusage()`, so Python's `time.process_time()` and `os.times()`):
/// nanoseconds of the monotonic clock since the process started. Defined
/// here instead of taking `libwasi-emulated-process-clocks`' `clock.o`,
/// whose start is read by a constructor: in a snapshot that would be the
/// build's reading, and the clock would run from it (negative values).
#[no_mangle]
pub extern "C" fn __clock() -> i64 {
    use std::sync::atomic::Ordering;
    start_process_clock(false);
    monotonic_ns().wrapping_sub(CLOCK_START.load(Ordering::SeqCst)) as i64
}

/// `clock()` (wasi-libc's is a weak alias of [`__clock`]).
#[no_mangle]
pub extern "C" fn clock() -> i64 {
    __clock()
}

/// Whether CPython reads the variable while it starts, so the snapshot's
/// interpreter depends on its value: `PYTHON*`, `HOME` (the user site
/// folder), `PATH` (`sys.executable`), `TZ` (`time`).
fn is_startup_var(name: &str) -> bool {
    name.starts_with("PYTHON") || matches!(name, "HOME" | "PATH" | "TZ")
}

fn startup_env() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| is_startup_var(k))
        .collect();
    vars.sort();
    vars
}

/// Size and a hash of the last [`ZIP_TAIL`] bytes of a file.
fn zip_fingerprint(path: &str) -> std::io::Result<(u64, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    file.seek(SeekFrom::Start(size.saturating_sub(ZIP_TAIL)))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    // `DefaultHasher::new()` has fixed keys: the same hash on every run.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hasher.write(&tail);
    Ok((size, hasher.finish()))
}

fn cached_zips(py: Python<'_>) -> PyResult<Vec<String>> {
    let cache = py.import("zipimport")?.getattr("_zip_directory_cache")?;
    let mut paths: Vec<String> = cache
        .call_method0("keys")?
        .try_iter()?
        .map(|k| k?.extract())
        .collect::<PyResult<_>>()?;
    paths.sort();
    Ok(paths)
}

fn fail(message: String) -> ! {
    eprintln!("pre-initialisation failed: {message}");
    std::process::exit(1);
}

/// Wizer's entry point: start CPython as the first Python node would.
/// Fails (exit 1, the message on stderr) when the stdlib is not reachable.
#[export_name = "wizer.initialize"]
pub extern "C" fn initialize() {
    start_process_clock(false);
    let _ = wasi_host::prepare();
    if !wasi_host::python_stdlib_reachable() {
        fail(wasi_host::NO_STDLIB.to_string());
    }
    let started = python::redirect_stdout_to_stderr()
        .and_then(|()| python::init_interpreter())
        .map_err(|e| e.message().to_string());
    if let Err(e) = started {
        fail(e);
    }
    let snapshot = Python::attach(|py| -> PyResult<Snapshot> {
        // What a Python node's start imports (runtime/src/nodes/python.rs).
        py.import("linecache")?;
        let modules = py.import("sys")?.getattr("modules")?;
        for name in UNSEEDED {
            if modules.contains(*name)? {
                fail(format!(
                    "module {name} was imported: its seed would be the same in every instance"
                ));
            }
        }
        py.import("sys")?.getattr("stderr")?.call_method0("flush")?;
        let mut zips = Vec::new();
        for path in cached_zips(py)? {
            match zip_fingerprint(&path) {
                Ok(fp) => zips.push((path, fp)),
                Err(e) => fail(format!("cannot read {path}: {e}")),
            }
        }
        Ok(Snapshot {
            startup_env: startup_env(),
            zips,
        })
    });
    match snapshot {
        Ok(snapshot) => SNAPSHOT.with(|s| *s.borrow_mut() = Some(snapshot)),
        Err(e) => fail(e.to_string()),
    }
    // SAFETY: wasi-libc functions without preconditions; nothing holds
    // pointers into the environment (CPython copied it into posix.environ).
    unsafe {
        __wasilibc_deinitialize_environ();
        __wasilibc_reset_preopens();
    }
    // Not the build's clock reading: the same snapshot from the same inputs.
    CLOCK_START.store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
}

/// The start-up error of Python nodes when the host's environment is not
/// the snapshot's.
fn mismatch_message(what: &str) -> String {
    format!(
        "this reactor module was pre-initialised (CPython started at build time) and {what}: \
         use the plain reactor module (pipeline_reactor.wasm) for this environment"
    )
}

fn describe(vars: &[(String, String)]) -> String {
    if vars.is_empty() {
        return "none".into();
    }
    vars.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The registry for the first open: [`wasi_host::prepare`], and in a
/// pre-initialised module the checks and updates of the module docs.
pub fn prepare() -> Registry {
    let snapshot = SNAPSHOT.with(|s| s.borrow_mut().take());
    if snapshot.is_some() {
        // SAFETY: no preconditions; the environment was deinitialised by initialize().
        unsafe { __wasilibc_maybe_reinitialize_environ_eagerly() };
    }
    start_process_clock(snapshot.is_some());
    let mut registry = wasi_host::prepare();
    let Some(snapshot) = snapshot else {
        return registry;
    };
    if !wasi_host::python_stdlib_reachable() {
        return registry; // Python nodes are refused already (NO_STDLIB)
    }
    python::default_hash_seed();
    if let Err(reason) = wake(&snapshot) {
        let reason: &'static str = Box::leak(reason.into_boxed_str());
        wasi_host::refuse_python_nodes_because(&mut registry, reason);
    }
    registry
}

fn wake(snapshot: &Snapshot) -> Result<(), String> {
    let mut now = startup_env();
    let pythonpath = match now.iter().position(|(k, _)| k == "PYTHONPATH") {
        Some(i) if !snapshot.startup_env.iter().any(|(k, _)| k == "PYTHONPATH") => {
            Some(now.remove(i).1)
        }
        _ => None,
    };
    if now != snapshot.startup_env {
        return Err(mismatch_message(&format!(
            "its interpreter started with {}, this host gives {}",
            describe(&snapshot.startup_env),
            describe(&now)
        )));
    }
    for (path, fingerprint) in &snapshot.zips {
        if zip_fingerprint(path).ok().as_ref() != Some(fingerprint) {
            return Err(mismatch_message(&format!(
                "{path} is not the file it was started with"
            )));
        }
    }
    python::sync_environ().map_err(|e| e.message().to_string())?;
    if let Some(pythonpath) = pythonpath {
        Python::attach(|py| -> PyResult<()> {
            // CPython's getpath: each entry, made absolute, before the stdlib.
            let abspath = py.import("os")?.getattr("path")?.getattr("abspath")?;
            let sys_path = py.import("sys")?.getattr("path")?;
            for (i, entry) in pythonpath.split(':').enumerate() {
                sys_path.call_method1("insert", (i, abspath.call1((entry,))?))?;
            }
            Ok(())
        })
        .map_err(|e| mismatch_message(&format!("PYTHONPATH could not be applied ({e})")))?;
    }
    Ok(())
}
