//! `Whisper` node (feature `whisper`): speech to text with whisper.cpp,
//! linked statically (natively: the cmake build; wasm32-wasip1: the zig-built
//! archives, see `build.rs`).
//!
//! Input: audio at 16 kHz (any channel count; channels are averaged to mono,
//! as whisper.cpp's own CLI does). Output: a map
//! `{"text": ..., "segments": [{"start": s, "end": s, "text": ...}], "language": ...}`
//! with times in seconds (whisper's resolution is 10 ms).
//!
//! The model is checked to exist when the node is built and loaded on the
//! first item (once per node); it is freed when the node is dropped.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Mutex;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::describe_io_error;
use crate::registry::{Node, NodeContext, NodeParams, ParamError, Registry, TypedKind};
use crate::value::{AudioBuffer, Value};

/// whisper.cpp works on 16 kHz audio only.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;
/// Largest `beam_size` / `threads` accepted.
const MAX_BEAM: u32 = 16;
const MAX_THREADS: u32 = 64;

pub fn register(r: &mut Registry) {
    r.register(Box::new(TypedKind::<WhisperParams>::new(
        "Whisper",
        "Transcribes 16 kHz audio with whisper.cpp (`model`: a ggml model file): text plus segments with start/end seconds.",
        Some(1),
        |ctx, p| WhisperNode::new(ctx, p).map(|n| Box::new(n) as Box<dyn Node>),
    )));
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Greedy decoding (best of 5 on temperature fallback). Default: fastest,
    /// and the same transcript and timestamps natively and in wasm.
    #[default]
    Greedy,
    /// Beam search with `beam_size` beams (whisper.cpp's CLI default).
    Beam,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhisperParams {
    /// ggml model file (e.g. ggml-tiny.en-f16.bin). Relative paths are
    /// resolved against the manifest's directory.
    pub model: String,
    /// Spoken language: a whisper language code ("en", "de", ...) or "auto"
    /// (detect; English-only models always use "en"). Default "en".
    #[serde(default = "default_language")]
    pub language: String,
    /// "greedy" (default) or "beam".
    #[serde(default)]
    pub strategy: Strategy,
    /// Beams for "beam" (1..=16, default 5).
    #[serde(default = "default_beam", deserialize_with = "super::de_u32")]
    #[schemars(range(min = 1, max = 16))]
    pub beam_size: u32,
    /// Compute threads (1..=64, default 1). Always 1 on wasm32-wasi, which
    /// has no threads.
    #[serde(default = "default_threads", deserialize_with = "super::de_u32")]
    #[schemars(range(min = 1, max = 64))]
    pub threads: u32,
    /// Flash attention (default true, whisper.cpp's default). false is much
    /// slower in wasm (encoder ~3x) but with "beam" keeps its timestamps
    /// identical to native (see README).
    #[serde(default = "default_true")]
    pub flash_attn: bool,
}
fn default_true() -> bool {
    true
}
fn default_language() -> String {
    "en".into()
}
fn default_beam() -> u32 {
    5
}
fn default_threads() -> u32 {
    1
}

impl NodeParams for WhisperParams {
    fn check(&self) -> Result<(), ParamError> {
        if self.model.is_empty() {
            return Err(ParamError::new("model", "must not be empty"));
        }
        if self.model.contains('\0') {
            return Err(ParamError::new("model", "must not contain NUL characters"));
        }
        if self.language != "auto" && !known_languages().contains(&self.language.as_str()) {
            return Err(ParamError::new(
                "language",
                format!(
                    "unknown language '{}' (expected \"auto\" or a whisper language code such as \"en\", \"de\", \"fr\")",
                    self.language
                ),
            ));
        }
        if !(1..=MAX_BEAM).contains(&self.beam_size) {
            return Err(ParamError::new(
                "beam_size",
                format!("must be from 1 to {MAX_BEAM}, got {}", self.beam_size),
            ));
        }
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return Err(ParamError::new(
                "threads",
                format!("must be from 1 to {MAX_THREADS}, got {}", self.threads),
            ));
        }
        Ok(())
    }
}

/// whisper.cpp's language codes, in its own order.
fn known_languages() -> Vec<&'static str> {
    // SAFETY: whisper_lang_str returns pointers into a static table (or null
    // for an out-of-range id); no model or state is involved.
    let max = unsafe { ffi::whisper_lang_max_id() };
    (0..=max)
        .filter_map(|id| {
            let p = unsafe { ffi::whisper_lang_str(id) };
            if p.is_null() {
                return None;
            }
            unsafe { CStr::from_ptr(p) }.to_str().ok()
        })
        .collect()
}

struct WhisperNode {
    /// The model path as written in the manifest (for messages).
    model_arg: String,
    model_path: CString,
    language: String,
    strategy: Strategy,
    beam_size: u32,
    threads: u32,
    flash_attn: bool,
    ctx: Option<Context>,
}

// SAFETY: the whisper context is owned by this node and only used through
// `&mut self`; whisper.cpp keeps no thread-affine state in it.
unsafe impl Send for WhisperNode {}

impl WhisperNode {
    fn new(ctx: &NodeContext, p: WhisperParams) -> Result<Self, String> {
        let resolved = ctx.resolve(&p.model);
        match std::fs::metadata(&resolved) {
            Ok(m) if m.is_dir() => {
                return Err(format!("model '{}' is a directory, not a file", p.model))
            }
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "cannot read model '{}': {}",
                    p.model,
                    describe_io_error(&e)
                ))
            }
        }
        let model_path = resolved
            .to_str()
            .and_then(|s| CString::new(s).ok())
            .ok_or_else(|| format!("model path '{}' is not valid UTF-8", p.model))?;
        check_abi()?;
        Ok(WhisperNode {
            model_arg: p.model,
            model_path,
            language: p.language,
            strategy: p.strategy,
            beam_size: p.beam_size,
            // wasm32-wasi has no threads: whisper's worker threads would run
            // one after the other (same result, no speed-up).
            threads: if cfg!(target_os = "wasi") {
                1
            } else {
                p.threads
            },
            flash_attn: p.flash_attn,
            ctx: None,
        })
    }

    fn context(&mut self) -> Result<&Context, String> {
        if self.ctx.is_none() {
            let ctx = Context::load(&self.model_path, self.flash_attn)
                .map_err(|why| format!("cannot load whisper model '{}': {why}", self.model_arg))?;
            if !ctx.multilingual() && !matches!(self.language.as_str(), "en" | "auto") {
                return Err(format!(
                    "model '{}' is English-only: language must be \"en\" (or \"auto\"), got '{}'",
                    self.model_arg, self.language
                ));
            }
            self.ctx = Some(ctx);
        }
        Ok(self.ctx.as_ref().expect("loaded above"))
    }
}

impl Node for WhisperNode {
    fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
        let audio = match inputs.pop() {
            Some(Value::Audio(a)) => a,
            Some(other) => return Err(format!("Whisper expects audio, got {}", other.type_name())),
            None => return Err("Whisper has no input".into()),
        };
        if audio.sample_rate != WHISPER_SAMPLE_RATE {
            return Err(format!(
                "Whisper needs {WHISPER_SAMPLE_RATE} Hz audio, got {} Hz: put a Resample node with \"target_rate\": {WHISPER_SAMPLE_RATE} before it",
                audio.sample_rate
            ));
        }
        let mono = downmix(&audio);
        if mono.is_empty() {
            return Err("Whisper got empty audio (0 samples)".into());
        }
        if mono.iter().any(|s| !s.is_finite()) {
            return Err("Whisper got audio with NaN or infinite samples".into());
        }
        let n_samples = c_int::try_from(mono.len())
            .map_err(|_| format!("audio too long for whisper ({} samples)", mono.len()))?;
        let (strategy, beam_size, threads) = (self.strategy, self.beam_size, self.threads);
        let language = if self.language == "auto" {
            None
        } else {
            Some(CString::new(self.language.as_str()).map_err(|_| "bad language".to_string())?)
        };
        let ctx = self.context()?;
        let lang_ptr: *const c_char = match (&language, ctx.multilingual()) {
            (_, false) => c"en".as_ptr(),
            (Some(l), true) => l.as_ptr(),
            (None, true) => c"auto".as_ptr(),
        };
        // SAFETY: plain value returned by whisper; we only change fields.
        let mut params = unsafe {
            ffi::whisper_full_default_params(match strategy {
                Strategy::Greedy => ffi::SAMPLING_GREEDY,
                Strategy::Beam => ffi::SAMPLING_BEAM_SEARCH,
            })
        };
        params.n_threads = threads as c_int;
        params.print_progress = false;
        params.print_realtime = false;
        params.print_timestamps = false;
        params.print_special = false;
        params.no_timestamps = false;
        params.language = lang_ptr;
        params.detect_language = false;
        // As whisper.cpp's CLI: best_of 5 for the temperature fallback.
        params.greedy.best_of = 5;
        params.beam_search.beam_size = beam_size as c_int;
        log_capture::clear();
        // SAFETY: ctx is a live context; `mono` outlives the call; the
        // language string is a 'static literal or `language`, alive here.
        let rc = unsafe { ffi::whisper_full(ctx.ptr, params, mono.as_ptr(), n_samples) };
        drop(language);
        if rc != 0 {
            return Err(format!(
                "whisper failed (code {rc}){}",
                log_capture::first_error_suffix()
            ));
        }
        Ok(Some(ctx.result()))
    }
}

/// Interleaved channels averaged to one (in f32, channel order fixed: the
/// same bits on every target).
fn downmix(audio: &AudioBuffer) -> Vec<f32> {
    let ch = audio.channels.max(1) as usize;
    if ch == 1 {
        return audio.samples.clone();
    }
    audio
        .samples
        .chunks_exact(ch)
        .map(|frame| frame.iter().sum::<f32>() / ch as f32)
        .collect()
}

/// Check that whisper.cpp's parameter struct matches the declaration in
/// `ffi` (a different whisper.cpp version would otherwise corrupt memory).
fn check_abi() -> Result<(), String> {
    // SAFETY: returns a plain struct by value.
    let p = unsafe { ffi::whisper_full_default_params(ffi::SAMPLING_GREEDY) };
    let ok = p.strategy == ffi::SAMPLING_GREEDY
        && p.n_max_text_ctx == 16384
        && p.greedy.best_of == 5
        && p.beam_search.beam_size == -1
        && p.grammar_penalty == 100.0
        && p.vad_params.threshold == 0.5
        && p.vad_params.speech_pad_ms == 30
        && p.vad_params.samples_overlap == 0.1
        && !p.language.is_null()
        && unsafe { CStr::from_ptr(p.language) } == c"en";
    if ok {
        Ok(())
    } else {
        Err("the linked whisper.cpp does not match this build's whisper_full_params declaration (version mismatch)".into())
    }
}

/// An owned whisper context.
struct Context {
    ptr: *mut ffi::WhisperContext,
}

impl Context {
    fn load(path: &CStr, flash_attn: bool) -> Result<Context, String> {
        // whisper.cpp trusts the file: a truncated or damaged one can make it
        // throw (an abort natively, a trap in wasm). Check the layout first.
        let os_path = std::path::Path::new(path.to_str().map_err(|_| "bad path".to_string())?);
        model_file::check(os_path)?;
        log_capture::install();
        log_capture::clear();
        // SAFETY: plain struct by value.
        let mut cparams = unsafe { ffi::whisper_context_default_params() };
        cparams.use_gpu = false;
        cparams.flash_attn = flash_attn;
        // SAFETY: `path` is a valid C string; whisper returns null on failure.
        let ptr = unsafe { ffi::whisper_init_from_file_with_params(path.as_ptr(), cparams) };
        if ptr.is_null() {
            return Err(log_capture::first_error()
                .unwrap_or_else(|| "whisper.cpp could not load it".to_string()));
        }
        Ok(Context { ptr })
    }

    fn multilingual(&self) -> bool {
        // SAFETY: live context.
        unsafe { ffi::whisper_is_multilingual(self.ptr) != 0 }
    }

    fn result(&self) -> Value {
        // SAFETY: live context after a successful whisper_full; segment
        // indices are in range and the text pointers valid until the next call.
        let n = unsafe { ffi::whisper_full_n_segments(self.ptr) };
        let mut text = String::new();
        let mut segments = Vec::with_capacity(n.max(0) as usize);
        for i in 0..n {
            let (t0, t1, raw) = unsafe {
                (
                    ffi::whisper_full_get_segment_t0(self.ptr, i),
                    ffi::whisper_full_get_segment_t1(self.ptr, i),
                    ffi::whisper_full_get_segment_text(self.ptr, i),
                )
            };
            let seg_text = if raw.is_null() {
                String::new()
            } else {
                String::from_utf8_lossy(unsafe { CStr::from_ptr(raw) }.to_bytes()).into_owned()
            };
            text.push_str(&seg_text);
            let mut seg = IndexMap::new();
            // whisper's timestamps are in units of 10 ms.
            seg.insert("start".to_string(), Value::Float(t0 as f64 / 100.0));
            seg.insert("end".to_string(), Value::Float(t1 as f64 / 100.0));
            seg.insert("text".to_string(), Value::Str(seg_text.trim().to_string()));
            segments.push(Value::Map(seg));
        }
        let language = if self.multilingual() {
            let id = unsafe { ffi::whisper_full_lang_id(self.ptr) };
            let p = unsafe { ffi::whisper_lang_str(id) };
            if p.is_null() {
                "unknown".to_string()
            } else {
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        } else {
            "en".to_string()
        };
        let mut out = IndexMap::new();
        out.insert("text".to_string(), Value::Str(text.trim().to_string()));
        out.insert("segments".to_string(), Value::List(segments));
        out.insert("language".to_string(), Value::Str(language));
        Value::Map(out)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the pointer came from whisper_init_* and is freed once.
        unsafe { ffi::whisper_free(self.ptr) }
    }
}

/// Structural check of a whisper.cpp ggml model file (the layout its
/// `whisper_model_load` reads): every declared size must lie inside the file
/// and be plausible. Names and shapes are then checked by whisper.cpp itself,
/// which fails cleanly on those.
mod model_file {
    use std::fs::File;
    use std::io::{BufReader, Read};
    use std::path::Path;

    use crate::error::describe_io_error;

    const MAGIC: u32 = 0x6767_6d6c; // "ggml"
    /// Encoder depths of the released model sizes (tiny .. large); whisper.cpp
    /// derives the model type from it and has no entry for other values.
    const KNOWN_LAYERS: [i32; 5] = [4, 6, 12, 24, 32];
    /// whisper.cpp's token layout exists for these vocabularies only (English,
    /// multilingual, large-v3).
    const VOCAB_SIZES: [i32; 3] = [51864, 51865, 51866];
    /// ggml file types with a weight type in `type_layout` (ggml asserts on others).
    const FTYPES: [i32; 13] = [0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 24];
    const QNT_VERSION_FACTOR: i32 = 1000;
    /// Frequency bins of whisper's 400-point FFT.
    const MEL_FFT_BINS: u64 = 201;

    struct Reader {
        inner: BufReader<File>,
        pos: u64,
        len: u64,
    }

    impl Reader {
        fn left(&self) -> u64 {
            self.len.saturating_sub(self.pos)
        }
        fn i32(&mut self, what: &str) -> Result<i32, String> {
            let mut b = [0u8; 4];
            self.bytes(&mut b, what)?;
            Ok(i32::from_le_bytes(b))
        }
        fn bytes(&mut self, buf: &mut [u8], what: &str) -> Result<(), String> {
            self.skip(buf.len() as u64, what)?;
            self.inner.seek_relative(-(buf.len() as i64)).map_err(io)?;
            self.inner.read_exact(buf).map_err(io)
        }
        fn skip(&mut self, n: u64, what: &str) -> Result<(), String> {
            if n > self.left() {
                return Err(format!(
                    "truncated model file ({what}: needs {n} bytes, {} left)",
                    self.left()
                ));
            }
            self.inner.seek_relative(n as i64).map_err(io)?;
            self.pos += n;
            Ok(())
        }
    }

    fn io(e: std::io::Error) -> String {
        format!("read error: {}", describe_io_error(&e))
    }

    fn bounded(v: i32, max: i32, what: &str) -> Result<u64, String> {
        if (1..=max).contains(&v) {
            Ok(v as u64)
        } else {
            Err(format!(
                "not a valid whisper model ({what} is {v}, expected 1 to {max})"
            ))
        }
    }

    /// (block size, bytes per block) of the ggml tensor types whisper models use.
    fn type_layout(ttype: i32) -> Option<(u64, u64)> {
        Some(match ttype {
            0 => (1, 4),      // f32
            1 | 30 => (1, 2), // f16, bf16
            2 => (32, 18),    // q4_0
            3 => (32, 20),    // q4_1
            6 => (32, 22),    // q5_0
            7 => (32, 24),    // q5_1
            8 => (32, 34),    // q8_0
            10 => (256, 84),  // q2_K
            11 => (256, 110),
            12 => (256, 144),
            13 => (256, 176),
            14 => (256, 210), // q6_K
            _ => return None,
        })
    }

    pub fn check(path: &Path) -> Result<(), String> {
        let file = File::open(path).map_err(|e| describe_io_error(&e))?;
        let len = file.metadata().map_err(io)?.len();
        let mut r = Reader {
            inner: BufReader::with_capacity(1 << 16, file),
            pos: 0,
            len,
        };
        if len == 0 {
            return Err("the model file is empty".into());
        }
        if len < 4 || r.i32("magic")? as u32 != MAGIC {
            return Err("not a whisper ggml model (bad magic)".into());
        }
        let mut h = [0i32; 11];
        for v in h.iter_mut() {
            *v = r.i32("header")?;
        }
        let [n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype] =
            h;
        bounded(n_vocab, 1 << 20, "n_vocab")?;
        bounded(n_audio_ctx, 1 << 16, "n_audio_ctx")?;
        bounded(n_audio_state, 1 << 14, "n_audio_state")?;
        bounded(n_audio_head, 1 << 8, "n_audio_head")?;
        bounded(n_text_ctx, 1 << 16, "n_text_ctx")?;
        bounded(n_text_state, 1 << 14, "n_text_state")?;
        bounded(n_text_head, 1 << 8, "n_text_head")?;
        bounded(n_text_layer, 64, "n_text_layer")?;
        bounded(n_mels, 1024, "n_mels")?;
        if !KNOWN_LAYERS.contains(&n_audio_layer) {
            return Err(format!(
                "not a valid whisper model (n_audio_layer is {n_audio_layer}, expected one of {KNOWN_LAYERS:?})"
            ));
        }
        // What whisper.cpp assumes without checking (it asserts or throws otherwise).
        if n_text_state != n_audio_state {
            return Err(
                "not a valid whisper model (n_text_state differs from n_audio_state)".into(),
            );
        }
        if n_audio_state % n_audio_head != 0 || n_text_state % n_text_head != 0 {
            return Err(
                "not a valid whisper model (state size not a multiple of the head count)".into(),
            );
        }
        if !VOCAB_SIZES.contains(&n_vocab) {
            return Err(format!(
                "not a valid whisper model (n_vocab is {n_vocab}, expected one of {VOCAB_SIZES:?})"
            ));
        }
        if !FTYPES.contains(&(ftype % QNT_VERSION_FACTOR)) {
            return Err(format!("unsupported model file (ftype {ftype})"));
        }
        let n_mel = bounded(r.i32("mel filters")?, 1024, "mel filter count")?;
        let n_fft = bounded(r.i32("mel filters")?, 1 << 16, "mel filter length")?;
        if n_mel != n_mels as u64 || n_fft != MEL_FFT_BINS {
            return Err(format!(
                "not a valid whisper model (mel filters are {n_mel} x {n_fft}, expected {n_mels} x {MEL_FFT_BINS})"
            ));
        }
        r.skip(n_mel * n_fft * 4, "mel filters")?;
        let words = r.i32("vocabulary")?;
        if !(0..=n_vocab).contains(&words) {
            return Err(format!(
                "not a valid whisper model (vocabulary of {words} tokens, n_vocab is {n_vocab})"
            ));
        }
        for _ in 0..words {
            let n = r.i32("vocabulary")? as u32 as u64;
            if n > 1 << 16 {
                return Err(format!("not a valid whisper model (token of {n} bytes)"));
            }
            r.skip(n, "vocabulary")?;
        }
        let mut tensors = 0usize;
        while r.left() > 0 {
            let what = format!("tensor {tensors}");
            let n_dims = r.i32(&what)?;
            let name_len = r.i32(&what)?;
            let ttype = r.i32(&what)?;
            if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
                return Err(format!("damaged model file ({what} has a bad header)"));
            }
            let (block, block_bytes) = type_layout(ttype)
                .ok_or_else(|| format!("unsupported model file ({what} has ggml type {ttype})"))?;
            let mut elements: u64 = 1;
            for _ in 0..n_dims {
                let ne = r.i32(&what)?;
                if ne < 1 {
                    return Err(format!("damaged model file ({what} has dimension {ne})"));
                }
                elements = elements.saturating_mul(ne as u64);
            }
            let mut name = vec![0u8; name_len as usize];
            r.bytes(&mut name, &what)?;
            let what = format!("tensor '{}'", String::from_utf8_lossy(&name));
            if elements % block != 0 {
                return Err(format!(
                    "damaged model file ({what}: {elements} elements are not whole blocks)"
                ));
            }
            r.skip((elements / block).saturating_mul(block_bytes), &what)?;
            tensors += 1;
        }
        if tensors == 0 {
            return Err("truncated model file (no tensors)".into());
        }
        Ok(())
    }
}

/// whisper.cpp / ggml log lines: never printed (stderr carries only the
/// runtime's own error line); errors are kept to explain a failure.
mod log_capture {
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
}

/// Hand-written declarations of the parts of whisper.h (whisper.cpp 1.8.5)
/// this node uses. `check_abi` verifies the big struct at run time.
#[allow(dead_code)]
mod ffi {
    use std::ffi::{c_char, c_float, c_int, c_void};

    pub const SAMPLING_GREEDY: c_int = 0;
    pub const SAMPLING_BEAM_SEARCH: c_int = 1;
    pub const LOG_ERROR: c_int = 4;
    pub const LOG_CONT: c_int = 5;

    #[repr(C)]
    pub struct WhisperContext {
        _private: [u8; 0],
    }

    #[repr(C)]
    pub struct Aheads {
        pub n_heads: usize,
        pub heads: *const c_void,
    }

    #[repr(C)]
    pub struct ContextParams {
        pub use_gpu: bool,
        pub flash_attn: bool,
        pub gpu_device: c_int,
        pub dtw_token_timestamps: bool,
        pub dtw_aheads_preset: c_int,
        pub dtw_n_top: c_int,
        pub dtw_aheads: Aheads,
        pub dtw_mem_size: usize,
    }

    #[repr(C)]
    pub struct VadParams {
        pub threshold: c_float,
        pub min_speech_duration_ms: c_int,
        pub min_silence_duration_ms: c_int,
        pub max_speech_duration_s: c_float,
        pub speech_pad_ms: c_int,
        pub samples_overlap: c_float,
    }

    #[repr(C)]
    pub struct Greedy {
        pub best_of: c_int,
    }

    #[repr(C)]
    pub struct BeamSearch {
        pub beam_size: c_int,
        pub patience: c_float,
    }

    #[repr(C)]
    pub struct FullParams {
        pub strategy: c_int,
        pub n_threads: c_int,
        pub n_max_text_ctx: c_int,
        pub offset_ms: c_int,
        pub duration_ms: c_int,
        pub translate: bool,
        pub no_context: bool,
        pub no_timestamps: bool,
        pub single_segment: bool,
        pub print_special: bool,
        pub print_progress: bool,
        pub print_realtime: bool,
        pub print_timestamps: bool,
        pub token_timestamps: bool,
        pub thold_pt: c_float,
        pub thold_ptsum: c_float,
        pub max_len: c_int,
        pub split_on_word: bool,
        pub max_tokens: c_int,
        pub debug_mode: bool,
        pub audio_ctx: c_int,
        pub tdrz_enable: bool,
        pub suppress_regex: *const c_char,
        pub initial_prompt: *const c_char,
        pub carry_initial_prompt: bool,
        pub prompt_tokens: *const c_int,
        pub prompt_n_tokens: c_int,
        pub language: *const c_char,
        pub detect_language: bool,
        pub suppress_blank: bool,
        pub suppress_nst: bool,
        pub temperature: c_float,
        pub max_initial_ts: c_float,
        pub length_penalty: c_float,
        pub temperature_inc: c_float,
        pub entropy_thold: c_float,
        pub logprob_thold: c_float,
        pub no_speech_thold: c_float,
        pub greedy: Greedy,
        pub beam_search: BeamSearch,
        pub new_segment_callback: *mut c_void,
        pub new_segment_callback_user_data: *mut c_void,
        pub progress_callback: *mut c_void,
        pub progress_callback_user_data: *mut c_void,
        pub encoder_begin_callback: *mut c_void,
        pub encoder_begin_callback_user_data: *mut c_void,
        pub abort_callback: *mut c_void,
        pub abort_callback_user_data: *mut c_void,
        pub logits_filter_callback: *mut c_void,
        pub logits_filter_callback_user_data: *mut c_void,
        pub grammar_rules: *const c_void,
        pub n_grammar_rules: usize,
        pub i_start_rule: usize,
        pub grammar_penalty: c_float,
        pub vad: bool,
        pub vad_model_path: *const c_char,
        pub vad_params: VadParams,
    }

    pub type LogCallback = unsafe extern "C" fn(c_int, *const c_char, *mut c_void);

    extern "C" {
        pub fn whisper_context_default_params() -> ContextParams;
        pub fn whisper_init_from_file_with_params(
            path_model: *const c_char,
            params: ContextParams,
        ) -> *mut WhisperContext;
        pub fn whisper_free(ctx: *mut WhisperContext);
        pub fn whisper_full_default_params(strategy: c_int) -> FullParams;
        pub fn whisper_full(
            ctx: *mut WhisperContext,
            params: FullParams,
            samples: *const c_float,
            n_samples: c_int,
        ) -> c_int;
        pub fn whisper_full_n_segments(ctx: *mut WhisperContext) -> c_int;
        pub fn whisper_full_get_segment_t0(ctx: *mut WhisperContext, i: c_int) -> i64;
        pub fn whisper_full_get_segment_t1(ctx: *mut WhisperContext, i: c_int) -> i64;
        pub fn whisper_full_get_segment_text(ctx: *mut WhisperContext, i: c_int) -> *const c_char;
        pub fn whisper_full_lang_id(ctx: *mut WhisperContext) -> c_int;
        pub fn whisper_is_multilingual(ctx: *mut WhisperContext) -> c_int;
        pub fn whisper_lang_max_id() -> c_int;
        pub fn whisper_lang_str(id: c_int) -> *const c_char;
        pub fn whisper_log_set(callback: Option<LogCallback>, user_data: *mut c_void);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse_params;
    use serde_json::json;

    #[test]
    fn params_defaults() {
        let p: WhisperParams = parse_params(&json!({"model": "m.bin"})).unwrap();
        assert_eq!(p.language, "en");
        assert_eq!(p.strategy, Strategy::Greedy);
        assert_eq!((p.beam_size, p.threads, p.flash_attn), (5, 1, true));
    }

    #[test]
    fn params_errors() {
        let err = |v| parse_params::<WhisperParams>(&v).unwrap_err();
        let e = err(json!({}));
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("", "missing field `model`")
        );
        let e = err(json!({"model": ""}));
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("model", "must not be empty")
        );
        let e = err(json!({"model": "m", "language": "xx"}));
        assert_eq!(e.path, "language");
        assert!(
            e.message.starts_with("unknown language 'xx'"),
            "{}",
            e.message
        );
        let e = err(json!({"model": "m", "strategy": "sampling"}));
        assert_eq!(e.path, "strategy");
        assert!(
            e.message.contains("unknown variant `sampling`"),
            "{}",
            e.message
        );
        let e = err(json!({"model": "m", "beam_size": 0}));
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("beam_size", "must be from 1 to 16, got 0")
        );
        let e = err(json!({"model": "m", "threads": 65}));
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("threads", "must be from 1 to 64, got 65")
        );
        let e = err(json!({"model": "m", "threads": 1.5}));
        assert_eq!(e.path, "threads");
        let e = err(json!({"model": "m", "beams": 2}));
        assert!(
            e.message.starts_with("unknown field `beams`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn languages_come_from_whisper() {
        let langs = known_languages();
        assert_eq!(langs.first(), Some(&"en"));
        assert!(langs.contains(&"de") && langs.contains(&"ja"), "{langs:?}");
        assert!(parse_params::<WhisperParams>(&json!({"model": "m", "language": "auto"})).is_ok());
        assert!(parse_params::<WhisperParams>(&json!({"model": "m", "language": "de"})).is_ok());
    }

    #[test]
    fn abi_matches_the_linked_library() {
        check_abi().unwrap();
    }

    #[test]
    fn missing_model_and_bad_input_are_clear_errors() {
        let ctx = NodeContext::default();
        let p = |m: &str| parse_params::<WhisperParams>(&json!({"model": m})).unwrap();
        let e = WhisperNode::new(&ctx, p("no/such/model.bin"))
            .err()
            .unwrap();
        assert_eq!(e, "cannot read model 'no/such/model.bin': file not found");
        let e = WhisperNode::new(&ctx, p(".")).err().unwrap();
        assert_eq!(e, "model '.' is a directory, not a file");

        let dir = std::env::temp_dir().join(format!("whisper-node-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bogus = dir.join("bogus.bin");
        std::fs::write(&bogus, b"this is not a ggml model").unwrap();
        let mut node = WhisperNode::new(&ctx, p(bogus.to_str().unwrap())).unwrap();
        // Wrong input types and rates fail before the model is touched.
        let e = node.process(vec![Value::Int(3)]).unwrap_err();
        assert_eq!(e, "Whisper expects audio, got int");
        let a = AudioBuffer::new(vec![0.0; 441], 44100, 1).unwrap();
        let e = node.process(vec![Value::Audio(a)]).unwrap_err();
        assert!(
            e.starts_with("Whisper needs 16000 Hz audio, got 44100 Hz: put a Resample node"),
            "{e}"
        );
        let a = AudioBuffer::new(vec![0.0; 1600], 16000, 1).unwrap();
        let e = node.process(vec![Value::Audio(a)]).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "cannot load whisper model '{}': ",
                bogus.display()
            )),
            "{e}"
        );
        assert!(e.ends_with(": not a whisper ggml model (bad magic)"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn downmix_averages_channels() {
        let a = AudioBuffer::new(vec![1.0, 0.0, -0.5, 0.5], 16000, 2).unwrap();
        assert_eq!(downmix(&a), vec![0.5, 0.0]);
    }
}
