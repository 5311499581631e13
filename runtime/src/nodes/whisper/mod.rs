//! `Whisper` node (feature `whisper`): speech to text with whisper.cpp,
//! linked statically (natively: the cmake build; wasm32-wasip1: the zig-built
//! archives, see `build.rs`).
//!
//! Input: audio at 16 kHz (any channel count; channels are averaged to mono,
//! as whisper.cpp's own CLI does). Output: a map
//! `{"text": ..., "segments": [{"start": s, "end": s, "text": ...}], "language": ...}`
//! with times in seconds (whisper's resolution is 10 ms).
//!
//! The model is loaded when the node is built (pipeline start-up: `run`
//! before the first item, a session's open, `validate --load`), once per
//! node; it is freed when the node is dropped.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Mutex;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::describe_io_error;
use crate::registry::{FileParam, Node, NodeContext, NodeParams, ParamError, Registry, TypedKind};
use crate::value::{AudioBuffer, Value};

#[allow(dead_code)]
mod ffi;
mod log_capture;
mod model_file;
#[cfg(test)]
mod tests;

/// whisper.cpp works on 16 kHz audio only.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;
/// Largest `beam_size` / `threads` accepted.
const MAX_BEAM: u32 = 16;
const MAX_THREADS: u32 = 64;
/// Largest `audio_ctx`: every whisper model's encoder context (1500 frames of
/// 20 ms, 30 s of audio); a model with a smaller one is checked at start-up.
const MAX_AUDIO_CTX: u32 = 1500;

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
    /// Encoder context in frames of 20 ms (whisper.cpp's `audio_ctx`): 0 (the
    /// default) is the model's full context (1500, 30 s of audio); 1..=1500
    /// encodes only that many frames, much faster on short windows (live
    /// captions: a 3 s window needs 150). Audio beyond it is not heard; must be
    /// at most the model's own `n_audio_ctx` (checked when the model loads).
    #[serde(default, deserialize_with = "super::de_u32")]
    #[schemars(range(min = 0, max = 1500))]
    pub audio_ctx: u32,
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
        if self.audio_ctx > MAX_AUDIO_CTX {
            return Err(ParamError::new(
                "audio_ctx",
                format!(
                    "must be 0 (the model's full context) or from 1 to {MAX_AUDIO_CTX} frames of 20 ms, got {}",
                    self.audio_ctx
                ),
            ));
        }
        Ok(())
    }
    fn files(&self) -> Vec<FileParam> {
        vec![FileParam {
            param: "model",
            path: self.model.clone(),
        }]
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
    audio_ctx: u32,
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
        let mut node = WhisperNode {
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
            audio_ctx: p.audio_ctx,
            ctx: None,
        };
        node.context()?;
        Ok(node)
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
            let n_audio_ctx = ctx.n_audio_ctx();
            if self.audio_ctx > 0 && i64::from(self.audio_ctx) > i64::from(n_audio_ctx) {
                return Err(format!(
                    "audio_ctx {} is above the encoder context of model '{}' ({n_audio_ctx} frames)",
                    self.audio_ctx, self.model_arg
                ));
            }
            self.ctx = Some(ctx);
        }
        Ok(self.ctx.as_ref().expect("loaded above"))
    }
}

impl Node for WhisperNode {
    fn process(&mut self, inputs: Vec<Value>) -> Result<Option<Value>, String> {
        let mono = mono_input(inputs)?;
        let n_samples = c_int::try_from(mono.len())
            .map_err(|_| format!("audio too long for whisper ({} samples)", mono.len()))?;
        let (strategy, beam_size, threads, audio_ctx) =
            (self.strategy, self.beam_size, self.threads, self.audio_ctx);
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
        // 0: the model's full context (whisper.cpp's default).
        params.audio_ctx = audio_ctx as c_int;
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

/// The node's input as 16 kHz mono samples, or why it cannot be used.
fn mono_input(mut inputs: Vec<Value>) -> Result<Vec<f32>, String> {
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
    Ok(mono)
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

    /// The model's encoder context in frames (1500 for every whisper model).
    fn n_audio_ctx(&self) -> c_int {
        // SAFETY: live context.
        unsafe { ffi::whisper_model_n_audio_ctx(self.ptr) }
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
