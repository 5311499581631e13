//! Deterministic sample-rate conversion.
//!
//! `Sinc` (default): band-limited interpolation with a Blackman-windowed sinc
//! kernel. For output frame `n` the input position is `t = n * in / out`,
//! computed exactly in integers (integer part and remainder), so the phase is
//! exact. The cutoff is `min(1, out/in)` of the input Nyquist rate (so
//! downsampling filters out what would alias), the kernel spans
//! `zero_crossings / cutoff` input samples on each side, and each phase's
//! weights are normalised to sum to 1 (DC gain exactly 1 away from the
//! edges). Samples outside the input are zero. All math is f64 with `libm`
//! sin/cos and a fixed summation order, so results are bit-identical on every
//! target; the result is rounded to f32.
//!
//! `Linear`: linear interpolation between neighbouring input frames (the last
//! frame is held at the end). Cheap, but no anti-aliasing filter.
//!
//! The kernel is capped at 2^15 input samples on each side, which only
//! matters for downsampling by more than 2048:1.
//!
//! Output length is `ceil(frames * out / in)` frames. Channels are resampled
//! independently.

use crate::value::AudioBuffer;

/// Refuse to produce more samples than this (keeps memory bounded; an
/// allocation failure would abort the process, a trap in wasm).
pub const MAX_OUTPUT_SAMPLES: u64 = 1 << 27;

/// Kernel half-width limit in input samples (at extreme downsampling
/// ratios the zero-crossing count is reduced to stay within it).
const MAX_HALF_TAPS: i64 = 1 << 15;

/// Phase tables larger than this are not cached (weights are then computed
/// per output frame; same values, just slower).
const MAX_CACHED_WEIGHTS: u64 = 1 << 22;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Windowed sinc with this many zero crossings on each side (2..=64).
    Sinc {
        zero_crossings: u32,
    },
    Linear,
}

impl Default for Method {
    fn default() -> Self {
        Method::Sinc { zero_crossings: 16 }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Resample `input` to `target_rate` Hz.
pub fn resample(
    input: &AudioBuffer,
    target_rate: u32,
    method: Method,
) -> Result<AudioBuffer, String> {
    crate::value::check_sample_rate(target_rate as i64)?;
    // The fields are public, so an AudioBuffer may not have been checked.
    crate::value::check_sample_rate(input.sample_rate as i64)
        .map_err(|e| format!("input audio: {e}"))?;
    crate::value::check_channels(input.channels as i64).map_err(|e| format!("input audio: {e}"))?;
    let in_rate = input.sample_rate as u64;
    let out_rate = target_rate as u64;
    if in_rate == out_rate {
        return Ok(input.clone());
    }
    let channels = input.channels.max(1) as usize;
    let in_frames = (input.samples.len() / channels) as u64;
    // ceil(in_frames * out / in); in_frames < 2^61 and rates < 2^20: no overflow in u128.
    let out_frames = ((in_frames as u128 * out_rate as u128).div_ceil(in_rate as u128)) as u64;
    let total = out_frames.saturating_mul(channels as u64);
    if total > MAX_OUTPUT_SAMPLES {
        return Err(format!(
            "resampled audio would have {total} samples (limit {MAX_OUTPUT_SAMPLES})"
        ));
    }
    let mut out = vec![0f32; total as usize];
    match method {
        Method::Linear => linear(input, &mut out, in_rate, out_rate, in_frames, out_frames),
        Method::Sinc { zero_crossings } => {
            if !(2..=64).contains(&zero_crossings) {
                return Err(format!(
                    "zero_crossings must be from 2 to 64, got {zero_crossings}"
                ));
            }
            sinc(
                input,
                &mut out,
                in_rate,
                out_rate,
                in_frames,
                out_frames,
                zero_crossings,
            )
        }
    }
    AudioBuffer::new(out, target_rate, input.channels)
}

fn linear(
    input: &AudioBuffer,
    out: &mut [f32],
    in_rate: u64,
    out_rate: u64,
    in_frames: u64,
    out_frames: u64,
) {
    let ch = input.channels as usize;
    if in_frames == 0 {
        return;
    }
    let last = in_frames - 1;
    for n in 0..out_frames {
        let num = n as u128 * in_rate as u128;
        let i0 = (num / out_rate as u128) as u64;
        let frac = (num % out_rate as u128) as f64 / out_rate as f64;
        let i0c = i0.min(last) as usize;
        let i1c = (i0 + 1).min(last) as usize;
        for c in 0..ch {
            let a = input.samples[i0c * ch + c] as f64;
            let b = input.samples[i1c * ch + c] as f64;
            out[n as usize * ch + c] = (a + (b - a) * frac) as f32;
        }
    }
}

/// Weights for one phase: taps at input offsets `-(half-1)..=half` relative
/// to the integer position, i.e. kernel arguments `x_j = half - 1 - j + frac`.
fn phase_weights(frac: f64, half: i64, cutoff: f64) -> Vec<f64> {
    let taps = (2 * half) as usize;
    let mut w = Vec::with_capacity(taps);
    let mut sum = 0.0;
    for j in 0..taps {
        let x = (half - 1 - j as i64) as f64 + frac;
        let u = x / half as f64;
        let v = if u.abs() >= 1.0 {
            0.0
        } else {
            let y = core::f64::consts::PI * cutoff * x;
            let sinc = if y == 0.0 { 1.0 } else { libm::sin(y) / y };
            let pu = core::f64::consts::PI * u;
            let window = 0.42 + 0.5 * libm::cos(pu) + 0.08 * libm::cos(2.0 * pu);
            cutoff * sinc * window
        };
        sum += v;
        w.push(v);
    }
    if sum != 0.0 {
        for v in &mut w {
            *v /= sum;
        }
    }
    w
}

fn sinc(
    input: &AudioBuffer,
    out: &mut [f32],
    in_rate: u64,
    out_rate: u64,
    in_frames: u64,
    out_frames: u64,
    zero_crossings: u32,
) {
    let ch = input.channels as usize;
    let cutoff = if out_rate < in_rate {
        out_rate as f64 / in_rate as f64
    } else {
        1.0
    };
    let half = (libm::ceil(zero_crossings as f64 / cutoff) as i64).min(MAX_HALF_TAPS);
    let taps = 2 * half;
    // Phases repeat with period out/gcd: cache their weights when small enough.
    let g = gcd(in_rate, out_rate);
    let phases = out_rate / g;
    let cache_ok = phases.saturating_mul(taps as u64) <= MAX_CACHED_WEIGHTS;
    let mut cache: Vec<Option<Vec<f64>>> = if cache_ok {
        vec![None; phases as usize]
    } else {
        Vec::new()
    };
    let mut acc = vec![0f64; ch];
    for n in 0..out_frames {
        let num = n as u128 * in_rate as u128;
        let ipos = (num / out_rate as u128) as i64;
        let rem = (num % out_rate as u128) as u64;
        let frac = rem as f64 / out_rate as f64;
        let computed;
        let weights: &[f64] = if cache_ok {
            let slot = &mut cache[(rem / g) as usize];
            slot.get_or_insert_with(|| phase_weights(frac, half, cutoff))
        } else {
            computed = phase_weights(frac, half, cutoff);
            &computed
        };
        acc.iter_mut().for_each(|a| *a = 0.0);
        let first = ipos - half + 1;
        for (j, &w) in weights.iter().enumerate() {
            let k = first + j as i64;
            if k < 0 || k >= in_frames as i64 || w == 0.0 {
                continue;
            }
            let base = k as usize * ch;
            for (c, a) in acc.iter_mut().enumerate() {
                *a += input.samples[base + c] as f64 * w;
            }
        }
        let o = n as usize * ch;
        for (c, a) in acc.iter().enumerate() {
            out[o + c] = *a as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, frames: usize) -> AudioBuffer {
        let s = (0..frames)
            .map(|n| (2.0 * std::f64::consts::PI * freq * n as f64 / rate as f64).sin() as f32)
            .collect();
        AudioBuffer::new(s, rate, 1).unwrap()
    }

    /// Max error against the ideal sine, ignoring `margin` frames at each edge.
    fn max_err(a: &AudioBuffer, freq: f64, margin: usize) -> f64 {
        let frames = a.frames();
        (margin..frames - margin)
            .map(|n| {
                let ideal =
                    (2.0 * std::f64::consts::PI * freq * n as f64 / a.sample_rate as f64).sin();
                (a.samples[n] as f64 - ideal).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn length_is_ceil_of_ratio() {
        let a = sine(440.0, 44100, 44100);
        assert_eq!(
            resample(&a, 16000, Method::default()).unwrap().frames(),
            16000
        );
        let b = sine(440.0, 44100, 1001);
        // ceil(1001 * 16000 / 44100) = ceil(363.17) = 364
        assert_eq!(
            resample(&b, 16000, Method::default()).unwrap().frames(),
            364
        );
        assert_eq!(resample(&b, 16000, Method::Linear).unwrap().frames(), 364);
    }

    #[test]
    fn same_rate_is_identity() {
        let a = sine(100.0, 8000, 100);
        assert_eq!(resample(&a, 8000, Method::default()).unwrap(), a);
    }

    #[test]
    fn downsampled_sine_matches_ideal() {
        let a = sine(440.0, 44100, 44100);
        let r = resample(&a, 16000, Method::default()).unwrap();
        assert_eq!(r.sample_rate, 16000);
        let err = max_err(&r, 440.0, 200);
        assert!(err < 2e-3, "max error {err}");
    }

    #[test]
    fn upsampled_sine_matches_ideal() {
        let a = sine(1000.0, 16000, 4000);
        let r = resample(&a, 48000, Method::default()).unwrap();
        let err = max_err(&r, 1000.0, 300);
        assert!(err < 2e-3, "max error {err}");
        // Linear interpolation is rougher but still close for a low tone.
        let l = resample(&a, 48000, Method::Linear).unwrap();
        let err = max_err(&l, 1000.0, 10);
        assert!(err < 0.03, "linear max error {err}");
    }

    #[test]
    fn downsampling_removes_content_above_new_nyquist() {
        // 7 kHz at 48 kHz -> 8 kHz (Nyquist 4 kHz): must be strongly attenuated.
        let a = sine(7000.0, 48000, 48000);
        let r = resample(&a, 8000, Method::default()).unwrap();
        let peak = r.samples[200..r.samples.len() - 200]
            .iter()
            .fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak < 0.01, "alias peak {peak}");
    }

    #[test]
    fn stereo_channels_are_independent() {
        let mut s = Vec::new();
        for n in 0..2000 {
            s.push(0.5f32);
            s.push(((n % 2) as f32) * 0.0 - 0.25);
        }
        let a = AudioBuffer::new(s, 8000, 2).unwrap();
        let r = resample(&a, 11025, Method::default()).unwrap();
        let mid = r.frames() / 2;
        assert!((r.samples[mid * 2] - 0.5).abs() < 1e-5);
        assert!((r.samples[mid * 2 + 1] + 0.25).abs() < 1e-5);
    }

    #[test]
    fn empty_and_limits() {
        let a = AudioBuffer::new(vec![], 8000, 1).unwrap();
        assert_eq!(resample(&a, 16000, Method::default()).unwrap().frames(), 0);
        let one = AudioBuffer::new(vec![0.0; 1 << 20], 1, 1).unwrap();
        assert!(resample(&one, 768000, Method::Linear)
            .unwrap_err()
            .contains("limit"));
        assert!(resample(&a, 0, Method::Linear).is_err());
        // Unchecked buffers (public fields) are refused, not a division by zero.
        let bad = AudioBuffer {
            sample_rate: 0,
            channels: 1,
            samples: vec![0.0; 4],
        };
        assert!(resample(&bad, 8000, Method::default())
            .unwrap_err()
            .starts_with("input audio: "));
        // Extreme downsampling stays bounded.
        let long = AudioBuffer::new(vec![0.25; 768_000], 768_000, 1).unwrap();
        let r = resample(&long, 1, Method::default()).unwrap();
        assert_eq!(r.frames(), 1);
    }

    #[test]
    fn uncached_path_matches_cached_path() {
        // 8000 -> 7919 (prime): 7919 phases x taps exceeds no limit, so force
        // the comparison by computing one phase by hand.
        let a = sine(300.0, 8000, 500);
        let r = resample(&a, 7919, Method::default()).unwrap();
        let n = 123u64;
        let num = n * 8000;
        let (ipos, rem) = ((num / 7919) as i64, num % 7919);
        let cutoff = 7919.0 / 8000.0;
        let half = libm::ceil(16.0 / cutoff) as i64;
        let w = phase_weights(rem as f64 / 7919.0, half, cutoff);
        let mut acc = 0.0;
        for (j, wj) in w.iter().enumerate() {
            let k = ipos - half + 1 + j as i64;
            if (0..500).contains(&k) {
                acc += a.samples[k as usize] as f64 * wj;
            }
        }
        assert_eq!(r.samples[n as usize], acc as f32);
    }
}
