//! Structural check of a whisper.cpp ggml model file (the layout its
//! `whisper_model_load` reads): every declared size must lie inside the file
//! and be plausible. Names and shapes are then checked by whisper.cpp itself,
//! which fails cleanly on those.

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
        return Err("not a valid whisper model (n_text_state differs from n_audio_state)".into());
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
