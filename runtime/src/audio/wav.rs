//! WAV (RIFF/WAVE) reading and writing.
//!
//! Reads integer PCM (8-bit unsigned, 16-, 24- and 32-bit signed) and 32-bit
//! IEEE float, any channel count from 1 to 64 and any rate from 1 to 768000
//! Hz, including WAVE_FORMAT_EXTENSIBLE headers. An n-bit integer sample maps
//! to f32 as `s / 2^(n-1)` (16-bit: `s / 32768`; 8-bit is first centred on
//! 128). Everything else is refused with a message naming the encoding.

use crate::value::{check_channels, check_sample_rate, AudioBuffer};

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
const SUPPORTED: &str = "8/16/24/32-bit PCM, 32-bit float";

/// Sample encoding for [`encode_wav`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavEncoding {
    Pcm16,
    Float32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

struct Fmt {
    tag: u16,
    channels: u16,
    rate: u32,
    block_align: u16,
    bits: u16,
}

/// Decode a complete WAV file held in memory.
pub fn decode_wav(bytes: &[u8]) -> Result<AudioBuffer, String> {
    if bytes.is_empty() {
        return Err("not a WAV file (the file is empty)".into());
    }
    if bytes.len() < 12 {
        return Err(if bytes.starts_with(b"RIFF") {
            "truncated WAV file (incomplete RIFF header)".into()
        } else {
            "not a WAV file (no RIFF/WAVE header)".into()
        });
    }
    if &bytes[0..4] == b"RIFX" {
        return Err("unsupported WAV file: big-endian RIFX".into());
    }
    if &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a WAV file (no RIFF/WAVE header)".into());
    }

    let mut fmt: Option<Fmt> = None;
    let mut data: Option<&[u8]> = None;
    let mut pos = 12usize;
    while pos < bytes.len() {
        let (Some(id), Some(size)) = (bytes.get(pos..pos + 4), u32_at(bytes, pos + 4)) else {
            if data.is_some() {
                break; // a few stray trailing bytes after the audio: ignore
            }
            return Err("truncated WAV file (incomplete chunk header)".into());
        };
        let body_start = pos + 8;
        let available = bytes.len() - body_start;
        let body_len = if id == b"data" && size == u32::MAX {
            // Streaming writers that never patched the size: take the rest.
            available
        } else {
            size as usize
        };
        if body_len > available {
            return Err(format!(
                "truncated WAV file ({} chunk declares {} bytes but only {} are present)",
                String::from_utf8_lossy(id).trim_end(),
                body_len,
                available
            ));
        }
        let body = &bytes[body_start..body_start + body_len];
        match id {
            b"fmt " => fmt = Some(parse_fmt(body)?),
            // Only the first data chunk is audio.
            b"data" if data.is_none() => data = Some(body),
            _ => {}
        }
        // Chunks are padded to an even length.
        pos = body_start
            .saturating_add(body_len)
            .saturating_add(body_len & 1);
    }

    let fmt = fmt.ok_or("invalid WAV file (no fmt chunk)")?;
    let data = data.ok_or("invalid WAV file (no data chunk)")?;
    let channels =
        check_channels(fmt.channels as i64).map_err(|e| format!("unsupported WAV file: {e}"))?;
    let rate =
        check_sample_rate(fmt.rate as i64).map_err(|e| format!("unsupported WAV file: {e}"))?;
    let bytes_per_sample: usize = match (fmt.tag, fmt.bits) {
        (FORMAT_PCM, 8 | 16 | 24 | 32) | (FORMAT_FLOAT, 32) => fmt.bits as usize / 8,
        (FORMAT_PCM, b) => {
            return Err(format!(
                "unsupported WAV encoding: {b}-bit PCM (supported: {SUPPORTED})"
            ))
        }
        (FORMAT_FLOAT, b) => {
            return Err(format!(
                "unsupported WAV encoding: {b}-bit float (supported: {SUPPORTED})"
            ))
        }
        (tag, _) => {
            return Err(format!(
                "unsupported WAV encoding: format tag {tag} (supported: {SUPPORTED})"
            ))
        }
    };
    let frame_bytes = bytes_per_sample * channels as usize;
    if fmt.block_align as usize != frame_bytes {
        return Err(format!(
            "invalid WAV file (block align {} does not match {} channels of {} bits)",
            fmt.block_align, channels, fmt.bits
        ));
    }
    if data.is_empty() {
        return Err("WAV file has no audio data (empty data chunk)".into());
    }
    if data.len() % frame_bytes != 0 {
        return Err(format!(
            "truncated WAV file (data chunk of {} bytes is not a whole number of {}-byte frames)",
            data.len(),
            frame_bytes
        ));
    }
    // Integer samples: exact in f64, one rounding to f32 (the same bits on
    // every target).
    let samples: Vec<f32> = match (fmt.tag, bytes_per_sample) {
        (FORMAT_FLOAT, _) => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        (_, 1) => data
            .iter()
            .map(|&b| (b as i32 - 128) as f32 / 128.0)
            .collect(),
        (_, 2) => data
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
            .collect(),
        (_, 3) => data
            .chunks_exact(3)
            .map(|c| {
                let v = i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8;
                (v as f64 / 8_388_608.0) as f32
            })
            .collect(),
        _ => data
            .chunks_exact(4)
            .map(|c| {
                let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                (v as f64 / 2_147_483_648.0) as f32
            })
            .collect(),
    };
    AudioBuffer::new(samples, rate, channels).map_err(|e| format!("invalid WAV file: {e}"))
}

fn parse_fmt(body: &[u8]) -> Result<Fmt, String> {
    let short = || "invalid WAV file (fmt chunk too short)".to_string();
    if body.len() < 16 {
        return Err(short());
    }
    let mut tag = u16_at(body, 0).ok_or_else(short)?;
    if tag == FORMAT_EXTENSIBLE {
        // The real format is the first two bytes of the SubFormat GUID.
        tag = u16_at(body, 24).ok_or_else(short)?;
    }
    Ok(Fmt {
        tag,
        channels: u16_at(body, 2).ok_or_else(short)?,
        rate: u32_at(body, 4).ok_or_else(short)?,
        block_align: u16_at(body, 12).ok_or_else(short)?,
        bits: u16_at(body, 14).ok_or_else(short)?,
    })
}

/// Encode audio as a canonical 44-byte-header WAV file. PCM16 rounds
/// `s * 32768` to nearest and clamps, so `decode(encode(x)) == x` for every
/// sample that is a multiple of 1/32768 in range.
pub fn encode_wav(audio: &AudioBuffer, encoding: WavEncoding) -> Vec<u8> {
    let (tag, bits) = match encoding {
        WavEncoding::Pcm16 => (FORMAT_PCM, 16u16),
        WavEncoding::Float32 => (FORMAT_FLOAT, 32u16),
    };
    // u32/saturating arithmetic: the fields are public and may be unchecked.
    let block_align = (audio.channels as u32 * bits as u32 / 8).min(u16::MAX as u32) as u16;
    let data_len = audio.samples.len().saturating_mul(bits as usize / 8);
    let size32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + data_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&size32(data_len.saturating_add(36)).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&audio.channels.to_le_bytes());
    out.extend_from_slice(&audio.sample_rate.to_le_bytes());
    out.extend_from_slice(
        &audio
            .sample_rate
            .saturating_mul(block_align as u32)
            .to_le_bytes(),
    );
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&size32(data_len).to_le_bytes());
    for &s in &audio.samples {
        match encoding {
            WavEncoding::Pcm16 => {
                let v = libm::round(s as f64 * 32768.0);
                let v = if v.is_nan() {
                    0.0
                } else {
                    v.clamp(-32768.0, 32767.0)
                };
                out.extend_from_slice(&(v as i16).to_le_bytes());
            }
            WavEncoding::Float32 => out.extend_from_slice(&s.to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a WAV by hand (independently of `encode_wav`).
    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVE");
        v.extend_from_slice(b"fmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * channels as u32 * bits as u32 / 8).to_le_bytes());
        v.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn pcm16_stereo() {
        // frames: (16384, -32768), (32767, 0)
        let data: Vec<u8> = [16384i16, -32768, 32767, 0]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let a = decode_wav(&wav(1, 2, 44100, 16, &data)).unwrap();
        assert_eq!(a.sample_rate, 44100);
        assert_eq!(a.channels, 2);
        assert_eq!(a.samples, vec![0.5, -1.0, 32767.0 / 32768.0, 0.0]);
    }

    #[test]
    fn pcm8_24_32() {
        let a = decode_wav(&wav(1, 1, 8000, 8, &[0, 128, 255, 192])).unwrap();
        assert_eq!(a.samples, vec![-1.0, 0.0, 127.0 / 128.0, 0.5]);
        // 24-bit: 0x400000 = 0.5, 0x800000 = -1, 0xFFFFFF = -1/2^23.
        let d24 = [0x00, 0x00, 0x40, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF];
        let a = decode_wav(&wav(1, 1, 48000, 24, &d24)).unwrap();
        assert_eq!(a.samples, vec![0.5, -1.0, -1.0 / 8_388_608.0]);
        let d32: Vec<u8> = [i32::MIN, 1 << 30, 0]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let a = decode_wav(&wav(1, 1, 44100, 32, &d32)).unwrap();
        assert_eq!(a.samples, vec![-1.0, 0.5, 0.0]);
    }

    #[test]
    fn float32_mono() {
        let data: Vec<u8> = [0.25f32, -0.75]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let a = decode_wav(&wav(3, 1, 22050, 32, &data)).unwrap();
        assert_eq!((a.sample_rate, a.channels), (22050, 1));
        assert_eq!(a.samples, vec![0.25, -0.75]);
    }

    #[test]
    fn skips_unknown_chunks_and_handles_padding() {
        let data: Vec<u8> = [100i16, -100]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let mut v = wav(1, 1, 8000, 16, &data);
        // Insert an odd-sized LIST chunk (3 bytes + 1 pad) before fmt.
        let extra = [b"LIST".as_slice(), &3u32.to_le_bytes(), b"abc\0"].concat();
        v.splice(12..12, extra);
        let a = decode_wav(&v).unwrap();
        assert_eq!(a.samples, vec![100.0 / 32768.0, -100.0 / 32768.0]);
    }

    #[test]
    fn extensible_float() {
        let data: Vec<u8> = 0.5f32.to_le_bytes().to_vec();
        let mut v = wav(0xFFFE, 1, 16000, 32, &data);
        // Grow fmt to 40 bytes: cbSize=22, validBits, channelMask, GUID (tag 3 first).
        let mut ext = Vec::new();
        ext.extend_from_slice(&22u16.to_le_bytes());
        ext.extend_from_slice(&32u16.to_le_bytes());
        ext.extend_from_slice(&4u32.to_le_bytes());
        ext.extend_from_slice(&3u16.to_le_bytes());
        ext.extend_from_slice(&[0u8; 14]);
        v.splice(36..36, ext);
        v[16..20].copy_from_slice(&40u32.to_le_bytes());
        let a = decode_wav(&v).unwrap();
        assert_eq!(a.samples, vec![0.5]);
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            decode_wav(b"").unwrap_err(),
            "not a WAV file (the file is empty)"
        );
        assert_eq!(
            decode_wav(b"hello, this is text").unwrap_err(),
            "not a WAV file (no RIFF/WAVE header)"
        );
        assert_eq!(
            decode_wav(b"RIFF").unwrap_err(),
            "truncated WAV file (incomplete RIFF header)"
        );
        let data = [0u8; 8];
        let full = wav(1, 1, 8000, 16, &data);
        assert_eq!(
            decode_wav(&full[..full.len() - 3]).unwrap_err(),
            "truncated WAV file (data chunk declares 8 bytes but only 5 are present)"
        );
        assert_eq!(
            decode_wav(&wav(1, 1, 8000, 16, &[])).unwrap_err(),
            "WAV file has no audio data (empty data chunk)"
        );
        assert_eq!(
            decode_wav(&wav(1, 1, 8000, 12, &[0; 6])).unwrap_err(),
            "unsupported WAV encoding: 12-bit PCM (supported: 8/16/24/32-bit PCM, 32-bit float)"
        );
        assert_eq!(
            decode_wav(&wav(3, 1, 8000, 64, &[0; 16])).unwrap_err(),
            "unsupported WAV encoding: 64-bit float (supported: 8/16/24/32-bit PCM, 32-bit float)"
        );
        assert_eq!(
            decode_wav(&wav(2, 1, 8000, 4, &[0; 16])).unwrap_err(),
            "unsupported WAV encoding: format tag 2 (supported: 8/16/24/32-bit PCM, 32-bit float)"
        );
        assert_eq!(
            decode_wav(&wav(1, 2, 8000, 16, &[0; 6])).unwrap_err(),
            "truncated WAV file (data chunk of 6 bytes is not a whole number of 4-byte frames)"
        );
        assert_eq!(
            decode_wav(&wav(1, 0, 8000, 16, &[0; 4])).unwrap_err(),
            "unsupported WAV file: channels must be an integer from 1 to 64, got 0"
        );
        assert_eq!(
            decode_wav(&full[..36]).unwrap_err(),
            "invalid WAV file (no data chunk)"
        );
        assert_eq!(
            decode_wav(&full[..38]).unwrap_err(),
            "truncated WAV file (incomplete chunk header)"
        );
    }

    #[test]
    fn encode_round_trip() {
        let a = AudioBuffer::new(vec![0.5, -1.0, 0.25, 1.0 / 32768.0], 48000, 2).unwrap();
        assert_eq!(decode_wav(&encode_wav(&a, WavEncoding::Pcm16)).unwrap(), a);
        assert_eq!(
            decode_wav(&encode_wav(&a, WavEncoding::Float32)).unwrap(),
            a
        );
        // Out-of-range samples clamp in PCM16.
        let loud = AudioBuffer::new(vec![2.0, -2.0], 8000, 1).unwrap();
        let back = decode_wav(&encode_wav(&loud, WavEncoding::Pcm16)).unwrap();
        assert_eq!(back.samples, vec![32767.0 / 32768.0, -1.0]);
    }
}
