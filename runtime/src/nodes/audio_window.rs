//! `AudioWindow`: collects audio chunks of any size and emits windows for
//! speech recognition (fixed length with optional overlap, cut early at
//! silence).
//!
//! Every length is turned into a whole number of frames once, from the
//! first chunk's sample rate: `round(seconds * rate)` (an IEEE product and
//! `libm::round`, so the same integers on every target). Silence is judged
//! per 20 ms block (`round(0.02 * rate)` frames, counted from the start of
//! the current window): a block is silent when its RMS over all samples
//! (every channel; squares summed in f64 in sample order) is below
//! `silence_threshold` dBFS (`20 * libm::log10(rms)`). So the windows depend
//! only on the samples, never on how they were cut into chunks.
//!
//! Rules, applied in frame order as the audio arrives:
//! * when `window` seconds are buffered, they are emitted; the last
//!   `window - hop` seconds are kept as the start of the next window;
//! * with a threshold: when a run of silent blocks lasting `min_silence`
//!   (rounded up to whole blocks) lies entirely at or after `min_window`
//!   seconds into the window, the window ends where that silence began
//!   (the audio before it is emitted, `min_window` long at least); the
//!   following silent blocks are dropped and the next window starts with
//!   the first block that is not silent;
//! * with `pad` (seconds, rounded up to whole blocks, P blocks): a window
//!   cut at a pause keeps the pause's first P blocks at its end, and the
//!   next window starts with the (at most) P silent blocks just before its
//!   first sound, never the same block twice. A recogniser given a word
//!   cut off at its first or last sound hears another word ("Americans"
//!   -> "American", "ask" -> "as"): quiet sounds at a word's edges are
//!   below the threshold;
//! * at the end of the input, what is left is emitted if it holds audio not
//!   yet emitted;
//! * with a threshold, a window that is pure silence (every block, the last
//!   partial one included, below it) is never emitted.

use schemars::JsonSchema;
use serde::Deserialize;

use super::Number;
use crate::registry::{Node, NodeParams, ParamError, Registry, TypedKind};
use crate::value::{AudioBuffer, Value};

/// Longest window accepted, in seconds.
const MAX_WINDOW_SECONDS: f64 = 3600.0;
/// Largest window in samples (frames x channels), as for Resample's output.
const MAX_WINDOW_SAMPLES: u64 = 1 << 27;
/// Silence is judged per block of this many seconds.
const BLOCK_SECONDS: f64 = 0.02;

pub fn register(r: &mut Registry) {
    r.register(Box::new(
        TypedKind::<AudioWindowParams>::new(
            "AudioWindow",
            "Collects audio chunks and emits windows of `window` s every `hop` s, cut early at `min_silence` s below `silence_threshold` dBFS.",
            Some(1),
            |_, p| Ok(Box::new(AudioWindow::new(&p))),
        )
        .with_emits_many(true),
    ));
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioWindowParams {
    /// Window length in seconds (default 5.0; at most 3600).
    #[serde(default = "default_window", deserialize_with = "super::de_f64")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 3600))]
    pub window: f64,
    /// Seconds from one window's start to the next (0 < hop <= window;
    /// default: `window`, no overlap). The overlap is `window - hop`.
    #[serde(default)]
    #[schemars(with = "Option<f64>", extend("exclusiveMinimum" = 0))]
    pub hop: Option<Number>,
    /// A 20 ms block whose RMS is below this level (dBFS, 0 or below, e.g.
    /// -40) is silence. Default null: windows are never cut at silence.
    #[serde(default)]
    #[schemars(with = "Option<f64>", extend("maximum" = 0, "default" = null))]
    pub silence_threshold: Option<Number>,
    /// Seconds of consecutive silent blocks that end a window early
    /// (default 0.3; rounded up to whole 20 ms blocks).
    #[serde(default = "default_min_silence", deserialize_with = "super::de_f64")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 3600))]
    pub min_silence: f64,
    /// Windows shorter than this (seconds) are never cut at silence
    /// (default 1.0; `window` or more: never cut).
    #[serde(default = "default_min_window", deserialize_with = "super::de_f64")]
    #[schemars(extend("minimum" = 0, "maximum" = 3600))]
    pub min_window: f64,
    /// Seconds of the pause kept on each side of a cut at silence: at the
    /// end of the window before it and the start of the one after it
    /// (default 0, at most `window`; rounded up to whole 20 ms blocks).
    #[serde(default, deserialize_with = "super::de_f64")]
    #[schemars(extend("minimum" = 0, "maximum" = 3600))]
    pub pad: f64,
}
fn default_window() -> f64 {
    5.0
}
fn default_min_silence() -> f64 {
    0.3
}
fn default_min_window() -> f64 {
    1.0
}

impl AudioWindowParams {
    fn hop(&self) -> f64 {
        self.hop.map_or(self.window, Number::as_f64)
    }
    fn threshold(&self) -> Option<f64> {
        self.silence_threshold.map(Number::as_f64)
    }
}

impl NodeParams for AudioWindowParams {
    fn check(&self) -> Result<(), ParamError> {
        let w = self.window;
        if !(w.is_finite() && w > 0.0 && w <= MAX_WINDOW_SECONDS) {
            return Err(ParamError::new(
                "window",
                format!(
                    "must be a number of seconds above 0 and at most {MAX_WINDOW_SECONDS}, got {w}"
                ),
            ));
        }
        let hop = self.hop();
        if !(hop.is_finite() && hop > 0.0 && hop <= w) {
            return Err(ParamError::new(
                "hop",
                format!("must be above 0 and at most `window` ({w}) seconds, got {hop}"),
            ));
        }
        if let Some(t) = self.threshold() {
            if !(t.is_finite() && t <= 0.0) {
                return Err(ParamError::new(
                    "silence_threshold",
                    format!("must be a level in dBFS, 0 or below (e.g. -40), or null, got {t}"),
                ));
            }
        }
        let s = self.min_silence;
        if !(s.is_finite() && s > 0.0 && s <= MAX_WINDOW_SECONDS) {
            return Err(ParamError::new(
                "min_silence",
                format!(
                    "must be a number of seconds above 0 and at most {MAX_WINDOW_SECONDS}, got {s}"
                ),
            ));
        }
        let m = self.min_window;
        if !(m.is_finite() && (0.0..=MAX_WINDOW_SECONDS).contains(&m)) {
            return Err(ParamError::new(
                "min_window",
                format!("must be a number of seconds from 0 to {MAX_WINDOW_SECONDS}, got {m}"),
            ));
        }
        // At most a window: the kept blocks are buffered, and a longer pad is no pad.
        let pad = self.pad;
        if !(pad.is_finite() && (0.0..=w).contains(&pad)) {
            return Err(ParamError::new(
                "pad",
                format!("must be a number of seconds from 0 to `window` ({w}), got {pad}"),
            ));
        }
        Ok(())
    }
}

/// Lengths in frames, fixed by the first chunk.
#[derive(Clone, Copy, Debug)]
struct Format {
    rate: u32,
    channels: u16,
    window: usize,
    hop: usize,
    block: usize,
    /// Silent blocks that end a window (min_silence, rounded up).
    silence_blocks: usize,
    /// First block that may count as silence ending a window
    /// (min_window, rounded up to a block boundary).
    min_window_blocks: usize,
    /// Silent blocks kept on each side of a cut (pad, rounded up).
    pad_blocks: usize,
}

/// `round(seconds * rate)` frames, in u64 so that limits and messages are
/// the same on 32-bit wasm (params are checked: at most 3600 s * 768000 Hz).
fn frames_u64(seconds: f64, rate: u32) -> u64 {
    libm::round(seconds * f64::from(rate)) as u64
}

/// [`frames_u64`] for lengths known to be small (at most a window).
fn frames_of(seconds: f64, rate: u32) -> usize {
    usize::try_from(frames_u64(seconds, rate)).unwrap_or(usize::MAX)
}

struct AudioWindow {
    window: f64,
    hop: f64,
    threshold: Option<f64>,
    min_silence: f64,
    min_window: f64,
    pad: f64,
    fmt: Option<Format>,
    /// The current window so far (interleaved), from its first frame.
    buf: Vec<f32>,
    /// Frames at the end of `buf` not yet part of an emitted window.
    fresh: usize,
    /// Complete blocks of `buf` classified so far.
    scanned: usize,
    /// First block of the silent run that ends at block `scanned - 1`.
    run_start: Option<usize>,
    /// After a silence cut: dropping silent blocks until one is not.
    skipping: bool,
    /// While skipping: silent blocks at the start of `buf` kept as the
    /// next window's start (at most `pad_blocks`).
    kept_pad: usize,
}

impl AudioWindow {
    fn new(p: &AudioWindowParams) -> Self {
        AudioWindow {
            window: p.window,
            hop: p.hop(),
            threshold: p.threshold(),
            min_silence: p.min_silence,
            min_window: p.min_window,
            pad: p.pad,
            fmt: None,
            buf: Vec::new(),
            fresh: 0,
            scanned: 0,
            run_start: None,
            skipping: false,
            kept_pad: 0,
        }
    }

    fn format_for(&self, a: &AudioBuffer) -> Result<Format, String> {
        let rate = a.sample_rate;
        let window = frames_u64(self.window, rate).max(1);
        let samples = window * u64::from(a.channels);
        if samples > MAX_WINDOW_SAMPLES {
            return Err(format!(
                "a window of {} s at {rate} Hz with {} channels is {samples} samples, more than 2^27",
                self.window, a.channels
            ));
        }
        // Below 2^27 now, like every length derived from it.
        let window = window as usize;
        let block = frames_of(BLOCK_SECONDS, rate).max(1);
        let min_silence = frames_of(self.min_silence, rate).max(1);
        let min_window = frames_of(self.min_window, rate).min(window);
        Ok(Format {
            rate,
            channels: a.channels,
            window,
            hop: frames_of(self.hop, rate).clamp(1, window),
            block,
            silence_blocks: min_silence.div_ceil(block),
            min_window_blocks: min_window.div_ceil(block),
            pad_blocks: frames_of(self.pad, rate).div_ceil(block),
        })
    }

    fn frames(&self, f: &Format) -> usize {
        self.buf.len() / usize::from(f.channels)
    }

    /// Samples of frames `[from, to)` of the buffer.
    fn samples(&self, f: &Format, from: usize, to: usize) -> &[f32] {
        let c = usize::from(f.channels);
        &self.buf[from * c..to * c]
    }

    /// Whether frames `[from, to)` (non-empty) are below the threshold.
    fn silent(&self, f: &Format, threshold: f64, from: usize, to: usize) -> bool {
        rms_dbfs(self.samples(f, from, to)) < threshold
    }

    /// Whether every block of frames `[0, to)` (the last one may be partial)
    /// is silent. False without a threshold.
    fn pure_silence(&self, f: &Format, to: usize) -> bool {
        let Some(t) = self.threshold else {
            return false;
        };
        (0..to)
            .step_by(f.block)
            .all(|from| self.silent(f, t, from, (from + f.block).min(to)))
    }

    /// Emit frames `[0, to)` as a window (unless it is pure silence).
    fn emit(&mut self, f: &Format, to: usize, out: &mut Vec<Value>) -> Result<(), String> {
        let frames = self.frames(f);
        self.fresh = self.fresh.min(frames - to);
        if to == 0 || self.pure_silence(f, to) {
            return Ok(());
        }
        let samples = self.samples(f, 0, to).to_vec();
        out.push(Value::Audio(AudioBuffer::new(samples, f.rate, f.channels)?));
        Ok(())
    }

    /// Drop the first `n` frames; the window restarts there.
    fn discard(&mut self, f: &Format, n: usize) {
        let frames = self.frames(f);
        self.fresh = self.fresh.min(frames - n);
        self.buf.drain(..n * usize::from(f.channels));
        self.scanned = 0;
        self.run_start = None;
    }

    /// Emit every window the buffered audio completes.
    fn drain(&mut self, f: &Format, out: &mut Vec<Value>) -> Result<(), String> {
        loop {
            let frames = self.frames(f);
            if let (true, Some(t)) = (self.skipping, self.threshold) {
                let k = self.kept_pad;
                if frames < (k + 1) * f.block {
                    return Ok(());
                }
                if self.silent(f, t, k * f.block, (k + 1) * f.block) {
                    if k < f.pad_blocks {
                        self.kept_pad += 1;
                    } else {
                        self.discard(f, f.block); // the oldest kept block
                    }
                    continue;
                }
                // The next window starts here, after its kept silent blocks.
                self.skipping = false;
                self.kept_pad = 0;
            }
            if let Some(t) = self.threshold {
                let mut cut = None;
                while (self.scanned + 1) * f.block <= frames.min(f.window) {
                    let b = self.scanned;
                    self.scanned += 1;
                    if !self.silent(f, t, b * f.block, (b + 1) * f.block) {
                        self.run_start = None;
                        continue;
                    }
                    let start = *self.run_start.get_or_insert(b);
                    let counted = start.max(f.min_window_blocks);
                    if self.scanned >= counted + f.silence_blocks {
                        cut = Some(counted);
                        break;
                    }
                }
                if let Some(counted) = cut {
                    // The pause's first pad blocks end this window; its
                    // last ones (not those) may start the next.
                    let end = (counted + f.pad_blocks).min(self.scanned);
                    let drop = end.max(self.scanned.saturating_sub(f.pad_blocks));
                    let kept = self.scanned - drop;
                    self.emit(f, end * f.block, out)?;
                    self.discard(f, drop * f.block);
                    self.skipping = true;
                    self.kept_pad = kept;
                    continue;
                }
            }
            if frames >= f.window {
                self.emit(f, f.window, out)?;
                self.discard(f, f.hop);
                continue;
            }
            return Ok(());
        }
    }
}

/// RMS level of `samples` (non-empty) in dBFS: `20 * log10(rms)`, `-inf`
/// for digital silence, NaN (never silent) if a sample is NaN.
fn rms_dbfs(samples: &[f32]) -> f64 {
    let mut sum = 0.0f64;
    for &s in samples {
        let x = f64::from(s);
        sum += x * x;
    }
    let mean = sum / samples.len() as f64;
    // sqrt is exact in IEEE 754; log10 from libm: the same bits everywhere.
    20.0 * libm::log10(mean.sqrt())
}

impl Node for AudioWindow {
    fn process_into(&mut self, mut inputs: Vec<Value>, out: &mut Vec<Value>) -> Result<(), String> {
        let audio = match inputs.pop() {
            Some(Value::Audio(a)) => a,
            Some(other) => {
                return Err(format!(
                    "AudioWindow expects audio, got {}",
                    other.type_name()
                ))
            }
            None => return Err("AudioWindow has no input".into()),
        };
        let f = match self.fmt {
            Some(f) => {
                if (audio.sample_rate, audio.channels) != (f.rate, f.channels) {
                    return Err(format!(
                        "AudioWindow got {} Hz/{} ch audio after {} Hz/{} ch: every chunk must have the same sample rate and channel count",
                        audio.sample_rate, audio.channels, f.rate, f.channels
                    ));
                }
                f
            }
            None => {
                let f = self.format_for(&audio)?;
                self.fmt = Some(f);
                f
            }
        };
        self.fresh += audio.frames();
        self.buf.extend_from_slice(&audio.samples);
        self.drain(&f, out)
    }

    fn finish(&mut self, out: &mut Vec<Value>) -> Result<(), String> {
        let Some(f) = self.fmt else {
            return Ok(()); // no audio at all
        };
        let frames = self.frames(&f);
        if self.fresh > 0 {
            self.emit(&f, frames, out)?;
        }
        self.buf.clear();
        self.fresh = 0;
        self.scanned = 0;
        self.run_start = None;
        self.skipping = false;
        self.kept_pad = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse_params;
    use serde_json::json;

    fn node(params: serde_json::Value) -> AudioWindow {
        AudioWindow::new(&parse_params::<AudioWindowParams>(&params).unwrap())
    }

    /// Feed `samples` (interleaved, `channels`) in chunks of `chunk` frames,
    /// then finish; the windows as (rate, channels, samples).
    fn windows(
        params: serde_json::Value,
        rate: u32,
        channels: u16,
        samples: &[f32],
        chunk: usize,
    ) -> Vec<Vec<f32>> {
        let mut n = node(params);
        let mut out = Vec::new();
        for piece in samples.chunks(chunk * usize::from(channels)) {
            let a = AudioBuffer::new(piece.to_vec(), rate, channels).unwrap();
            n.process_into(vec![Value::Audio(a)], &mut out).unwrap();
        }
        n.finish(&mut out).unwrap();
        out.into_iter()
            .map(|v| match v {
                Value::Audio(a) => {
                    assert_eq!((a.sample_rate, a.channels), (rate, channels));
                    a.samples
                }
                other => panic!("not audio: {other:?}"),
            })
            .collect()
    }

    /// Frames `[from, to)` of a ramp (sample = frame index).
    fn ramp(from: usize, to: usize) -> Vec<f32> {
        (from..to).map(|i| i as f32).collect()
    }

    const CHUNKS: [usize; 4] = [1, 7, 160, 16000];

    #[test]
    fn fixed_windows_with_overlap_do_not_depend_on_chunk_sizes() {
        // 16 kHz: window 0.25 s = 4000 frames, hop 0.1 s = 1600 frames.
        let params = json!({"window": 0.25, "hop": 0.1});
        let input = ramp(0, 20500);
        let mut expected: Vec<Vec<f32>> =
            (0..=10).map(|k| ramp(1600 * k, 1600 * k + 4000)).collect();
        // At the end: the rest, from the last window's hop on.
        expected.push(ramp(17600, 20500));
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
        // Ending exactly at a window end: the kept overlap was emitted
        // already, so nothing more at the end.
        let input = ramp(0, 20000);
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                expected[..11].to_vec(),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn default_is_five_seconds_without_overlap() {
        let input = ramp(0, 16000 * 12);
        let expected = vec![ramp(0, 80000), ramp(80000, 160000), ramp(160000, 192000)];
        for chunk in CHUNKS {
            assert_eq!(
                windows(json!({}), 16000, 1, &input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
        // Nothing in, nothing out; stereo frames stay together.
        assert!(windows(json!({}), 16000, 1, &[], 1).is_empty());
        let stereo: Vec<f32> = (0..3000).flat_map(|i| [i as f32, -(i as f32)]).collect();
        let w = windows(json!({"window": 0.1}), 16000, 2, &stereo, 7);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], stereo[..3200].to_vec());
        assert_eq!(w[1], stereo[3200..].to_vec());
    }

    /// `seconds` of a 0.5-amplitude square wave (RMS -6 dBFS) or of zeros.
    fn sound(seconds: f64) -> Vec<f32> {
        let n = frames_of(seconds, 16000);
        (0..n)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect()
    }
    fn silence(seconds: f64) -> Vec<f32> {
        vec![0.0; frames_of(seconds, 16000)]
    }
    fn concat(parts: &[Vec<f32>]) -> Vec<f32> {
        parts.concat()
    }

    #[test]
    fn silence_ends_a_window_early() {
        let params = json!({"silence_threshold": -40});
        // 1.5 s sound, 0.5 s silence, 2 s sound, 0.1 s silence (shorter than
        // min_silence: no cut), 1 s sound.
        let input = concat(&[
            sound(1.5),
            silence(0.5),
            sound(2.0),
            silence(0.1),
            sound(1.0),
        ]);
        // Cut where the silence starts (24000); the silence is dropped, the
        // next window starts with the sound at 32000 and runs to the end.
        let expected = vec![input[..24000].to_vec(), input[32000..].to_vec()];
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn pad_keeps_the_pause_s_edges_on_both_sides_of_a_cut() {
        // 1.5 s sound, 0.5 s silence, 2 s sound; pad 0.05 s: 3 blocks of 320
        // frames (0.05 s is 2.5 blocks, rounded up) on each side of the cut.
        let params = json!({"silence_threshold": -40, "pad": 0.05});
        let input = concat(&[sound(1.5), silence(0.5), sound(2.0)]);
        let pad = 3 * 320;
        let expected = vec![input[..24000 + pad].to_vec(), input[32000 - pad..].to_vec()];
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
        // A pause shorter than both pads (0.32 s, min_silence 0.3: a cut;
        // pad 0.2 = 10 blocks each side of 16): no block in both windows.
        let params = json!({"silence_threshold": -40, "pad": 0.2});
        let input = concat(&[sound(1.5), silence(0.32), sound(1.0)]);
        let expected = vec![
            input[..24000 + 10 * 320].to_vec(),
            input[24000 + 10 * 320..].to_vec(),
        ];
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
        // pad 0 is the default: the pause is dropped whole.
        let p: AudioWindowParams = parse_params(&json!({})).unwrap();
        assert_eq!(p.pad, 0.0);
    }

    #[test]
    fn windows_shorter_than_min_window_are_not_cut() {
        let params = json!({"silence_threshold": -40});
        // 0.5 s sound, 0.5 s silence, 0.5 s sound: the silence ends at 1 s,
        // before min_window: one window.
        let input = concat(&[sound(0.5), silence(0.5), sound(0.5)]);
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                vec![input.clone()]
            );
        }
        // With 1 s of silence, the part after min_window (1 s) is long enough
        // (0.3 s = 15 blocks, at 1.3 s): the window is min_window long.
        let input = concat(&[sound(0.5), silence(1.0), sound(0.5)]);
        let expected = vec![input[..16000].to_vec(), input[24000..].to_vec()];
        for chunk in CHUNKS {
            assert_eq!(
                windows(params.clone(), 16000, 1, &input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
        // min_window 0: the window ends where the silence starts.
        let p0 = json!({"silence_threshold": -40, "min_window": 0, "min_silence": 0.1});
        let expected = vec![input[..8000].to_vec(), input[24000..].to_vec()];
        assert_eq!(windows(p0, 16000, 1, &input, 160), expected);
    }

    #[test]
    fn pure_silence_is_never_emitted_with_a_threshold() {
        let input = silence(3.0);
        for chunk in CHUNKS {
            assert!(windows(json!({"silence_threshold": -40}), 16000, 1, &input, chunk).is_empty());
        }
        // Without a threshold it is audio like any other.
        assert_eq!(
            windows(json!({}), 16000, 1, &input, 160),
            vec![input.clone()]
        );
        // Quiet but above the threshold: kept.
        let quiet = vec![0.02f32; 16000]; // -34 dBFS
        assert_eq!(
            windows(json!({"silence_threshold": -40}), 16000, 1, &quiet, 7),
            vec![quiet.clone()]
        );
        // A trailing silence after the last cut is dropped.
        let input = concat(&[sound(1.2), silence(1.0)]);
        assert_eq!(
            windows(json!({"silence_threshold": -40}), 16000, 1, &input, 160),
            vec![input[..19200].to_vec()]
        );
    }

    #[test]
    fn rms_levels() {
        assert_eq!(rms_dbfs(&[0.0; 4]), f64::NEG_INFINITY);
        assert_eq!(rms_dbfs(&[1.0, -1.0]), 0.0);
        assert_eq!(rms_dbfs(&[0.5, -0.5]), 20.0 * libm::log10(0.5));
        assert!(rms_dbfs(&[f32::NAN]).is_nan());
    }

    #[test]
    fn chunks_must_keep_their_format() {
        let mut n = node(json!({}));
        let mut out = Vec::new();
        let a = AudioBuffer::new(vec![0.0; 10], 16000, 1).unwrap();
        n.process_into(vec![Value::Audio(a)], &mut out).unwrap();
        let b = AudioBuffer::new(vec![0.0; 10], 44100, 2).unwrap();
        assert_eq!(
            n.process_into(vec![Value::Audio(b)], &mut out).unwrap_err(),
            "AudioWindow got 44100 Hz/2 ch audio after 16000 Hz/1 ch: every chunk must have the same sample rate and channel count"
        );
        assert_eq!(
            n.process_into(vec![Value::Int(1)], &mut out).unwrap_err(),
            "AudioWindow expects audio, got int"
        );
        let mut n = node(json!({"window": 3600}));
        let a = AudioBuffer::new(vec![0.0; 64], 768000, 64).unwrap();
        assert_eq!(
            n.process_into(vec![Value::Audio(a)], &mut out).unwrap_err(),
            "a window of 3600 s at 768000 Hz with 64 channels is 176947200000 samples, more than 2^27"
        );
    }

    #[test]
    fn params_defaults_and_errors() {
        let p: AudioWindowParams = parse_params(&json!({})).unwrap();
        assert_eq!((p.window, p.hop(), p.threshold()), (5.0, 5.0, None));
        assert_eq!((p.min_silence, p.min_window), (0.3, 1.0));
        let p: AudioWindowParams =
            parse_params(&json!({"window": 2, "hop": 1, "silence_threshold": null})).unwrap();
        assert_eq!((p.window, p.hop(), p.threshold()), (2.0, 1.0, None));
        // min_window above window: allowed (windows are then never cut).
        parse_params::<AudioWindowParams>(&json!({"window": 0.5, "min_window": 2})).unwrap();
        let err = |v| {
            let e = parse_params::<AudioWindowParams>(&v).unwrap_err();
            (e.path, e.message)
        };
        let cases = [
            (
                json!({"window": 0}),
                "window",
                "must be a number of seconds above 0 and at most 3600, got 0",
            ),
            (
                json!({"window": 4000}),
                "window",
                "must be a number of seconds above 0 and at most 3600, got 4000",
            ),
            (
                json!({"window": 2, "hop": 3}),
                "hop",
                "must be above 0 and at most `window` (2) seconds, got 3",
            ),
            (
                json!({"hop": 0}),
                "hop",
                "must be above 0 and at most `window` (5) seconds, got 0",
            ),
            (
                json!({"silence_threshold": 3}),
                "silence_threshold",
                "must be a level in dBFS, 0 or below (e.g. -40), or null, got 3",
            ),
            (
                json!({"pad": -0.1}),
                "pad",
                "must be a number of seconds from 0 to `window` (5), got -0.1",
            ),
            (
                json!({"window": 2, "pad": 3}),
                "pad",
                "must be a number of seconds from 0 to `window` (2), got 3",
            ),
            (
                json!({"min_silence": 0}),
                "min_silence",
                "must be a number of seconds above 0 and at most 3600, got 0",
            ),
            (
                json!({"min_window": 3601}),
                "min_window",
                "must be a number of seconds from 0 to 3600, got 3601",
            ),
            (
                json!({"min_window": -1}),
                "min_window",
                "must be a number of seconds from 0 to 3600, got -1",
            ),
        ];
        for (params, path, message) in cases {
            assert_eq!(
                err(params.clone()),
                (path.to_string(), message.to_string()),
                "{params}"
            );
        }
        let (path, message) = err(json!({"window": "5s"}));
        assert_eq!(
            (path.as_str(), message.as_str()),
            ("window", "invalid type: string \"5s\", expected a number")
        );
        let (path, message) = err(json!({"windw": 5}));
        assert_eq!(path, "windw");
        assert!(message.starts_with("unknown field `windw`"), "{message}");
    }
}
