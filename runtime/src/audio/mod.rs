//! Audio helpers: WAV decoding/encoding and resampling. Pure Rust, no
//! threads, and `libm` for transcendental math so native and wasm results
//! are bit-identical.

pub mod resample;
pub mod wav;
