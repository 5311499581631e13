//! whisper.cpp / ggml log lines: never printed (stderr carries only the
//! runtime's own error line); errors are kept to explain a failure.

use super::*;

struct State {
    lines: Vec<String>,
    last_was_error: bool,
}
static STATE: Mutex<State> = Mutex::new(State {
    lines: Vec::new(),
    last_was_error: false,
});
const KEEP: usize = 16;

unsafe extern "C" fn callback(level: c_int, text: *const c_char, _user: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper passes a NUL-terminated string.
    let text = String::from_utf8_lossy(unsafe { CStr::from_ptr(text) }.to_bytes());
    let Ok(mut st) = STATE.lock() else { return };
    match level {
        ffi::LOG_ERROR => {
            st.last_was_error = true;
            if st.lines.len() == KEEP {
                st.lines.remove(0);
            }
            st.lines.push(text.trim().to_string());
        }
        ffi::LOG_CONT if st.last_was_error => {
            if let Some(last) = st.lines.last_mut() {
                last.push_str(text.trim_end());
            }
        }
        _ => st.last_was_error = false,
    }
}

pub fn install() {
    // SAFETY: `callback` is a valid function for the program's lifetime.
    unsafe { ffi::whisper_log_set(Some(callback), std::ptr::null_mut()) }
}

pub fn clear() {
    if let Ok(mut st) = STATE.lock() {
        st.lines.clear();
        st.last_was_error = false;
    }
}

/// The first error logged since `clear` (the most specific one: later
/// lines are "failed to load model" and the like), without the name of
/// the C function that logged it.
pub fn first_error() -> Option<String> {
    let st = STATE.lock().ok()?;
    let line = st.lines.iter().find(|l| !l.is_empty())?;
    Some(match line.split_once(": ") {
        Some((func, rest))
            if !rest.is_empty()
                && func
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            rest.to_string()
        }
        _ => line.clone(),
    })
}

pub fn first_error_suffix() -> String {
    first_error().map(|e| format!(": {e}")).unwrap_or_default()
}
