//! Hand-written declarations of the parts of whisper.h (whisper.cpp 1.8.5)
//! this node uses. `check_abi` verifies the big struct at run time.

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
    pub fn whisper_model_n_audio_ctx(ctx: *mut WhisperContext) -> c_int;
    pub fn whisper_lang_max_id() -> c_int;
    pub fn whisper_lang_str(id: c_int) -> *const c_char;
    pub fn whisper_log_set(callback: Option<LogCallback>, user_data: *mut c_void);
}
