//! Audio nodes: MediaReader (WAV files), Resample, Tone (test signal).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::audio::resample::{resample, Method};
use crate::audio::wav::decode_wav;
use crate::error::describe_io_error;
use crate::registry::{FileParam, Node, NodeContext, NodeParams, ParamError, Registry, TypedKind};
use crate::value::{check_channels, check_sample_rate, AudioBuffer, Value};

pub fn register(r: &mut Registry) {
    r.register(Box::new(TypedKind::<MediaReaderParams>::new(
        "MediaReader",
        "Reads a WAV file (8/16/24/32-bit PCM or 32-bit float, any rate, any channel count): the `path` param, or else the input item as a path string.",
        Some(1),
        |ctx, p| {
            if let Some(path) = &p.path {
                // Fail at start-up, not on the first item, if the file
                // cannot be opened (it is read again for every item).
                check_readable(ctx, path)?;
            }
            Ok(Box::new(MediaReader {
                ctx: ctx.clone(),
                path: p.path,
            }))
        },
    )));
    r.register(Box::new(TypedKind::<ResampleParams>::new(
        "Resample",
        "Resamples audio to `target_rate` Hz (windowed sinc, or linear).",
        Some(1),
        |_, p| {
            let method = match p.method {
                ResampleMethod::Sinc => Method::Sinc {
                    zero_crossings: p.zero_crossings,
                },
                ResampleMethod::Linear => Method::Linear,
            };
            Ok(Box::new(Resample {
                target_rate: p.target_rate,
                method,
            }))
        },
    )));
    r.register(Box::new(TypedKind::<ToneParams>::new(
        "Tone",
        "Generates a sine tone for each item (its input is ignored): a self-contained audio source.",
        Some(1),
        |_, p| Ok(Box::new(Tone { p })),
    )));
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaReaderParams {
    /// WAV file to read for every item. Relative paths are resolved against
    /// the manifest's directory. Without it, each input item must be a path
    /// string.
    #[serde(default)]
    pub path: Option<String>,
}
impl NodeParams for MediaReaderParams {
    fn check(&self) -> Result<(), ParamError> {
        match &self.path {
            Some(p) if p.is_empty() => Err(ParamError::new("path", "must not be empty")),
            _ => Ok(()),
        }
    }
    fn files(&self) -> Vec<FileParam> {
        self.path
            .iter()
            .map(|p| FileParam {
                param: "path",
                path: p.clone(),
            })
            .collect()
    }
}

struct MediaReader {
    ctx: NodeContext,
    path: Option<String>,
}

/// Open `path` (as written in the manifest) to check it can be read.
fn check_readable(ctx: &NodeContext, path: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot read '{path}': {}", describe_io_error(&e));
    let file = std::fs::File::open(ctx.resolve(path)).map_err(fail)?;
    match file.metadata() {
        Ok(m) if m.is_dir() => Err(fail(std::io::ErrorKind::IsADirectory.into())),
        Ok(_) => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

impl Node for MediaReader {
    fn process(&mut self, inputs: Vec<Value>) -> Result<Option<Value>, String> {
        let path = match (&self.path, inputs.first()) {
            (Some(p), _) => p.clone(),
            (None, Some(Value::Str(p))) => p.clone(),
            (None, Some(other)) => {
                return Err(format!(
                    "MediaReader expects a file path string as input (or a `path` param), got {}",
                    other.type_name()
                ))
            }
            (None, None) => return Err("MediaReader has no input".into()),
        };
        let bytes = std::fs::read(self.ctx.resolve(&path))
            .map_err(|e| format!("cannot read '{path}': {}", describe_io_error(&e)))?;
        let audio = decode_wav(&bytes).map_err(|e| format!("'{path}': {e}"))?;
        Ok(Some(Value::Audio(audio)))
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResampleMethod {
    /// Blackman-windowed sinc (band-limited, anti-aliased). Default.
    #[default]
    Sinc,
    /// Linear interpolation (no anti-aliasing).
    Linear,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResampleParams {
    /// Output sample rate in Hz (1..=768000).
    #[serde(deserialize_with = "super::de_u32")]
    #[schemars(range(min = 1, max = 768000))]
    pub target_rate: u32,
    /// "sinc" (default) or "linear".
    #[serde(default)]
    pub method: ResampleMethod,
    /// Kernel half-width in zero crossings for "sinc" (2..=64, default 16).
    #[serde(default = "default_zero_crossings", deserialize_with = "super::de_u32")]
    #[schemars(range(min = 2, max = 64))]
    pub zero_crossings: u32,
}
fn default_zero_crossings() -> u32 {
    16
}
impl NodeParams for ResampleParams {
    fn check(&self) -> Result<(), ParamError> {
        check_sample_rate(self.target_rate as i64)
            .map_err(|e| ParamError::new("target_rate", e))?;
        if !(2..=64).contains(&self.zero_crossings) {
            return Err(ParamError::new(
                "zero_crossings",
                format!("must be from 2 to 64, got {}", self.zero_crossings),
            ));
        }
        Ok(())
    }
}

struct Resample {
    target_rate: u32,
    method: Method,
}

impl Node for Resample {
    fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
        match inputs.pop() {
            Some(Value::Audio(a)) => {
                resample(&a, self.target_rate, self.method).map(|a| Some(Value::Audio(a)))
            }
            Some(other) => Err(format!("Resample expects audio, got {}", other.type_name())),
            None => Err("Resample has no input".into()),
        }
    }
}

/// Longest tone Tone will generate, in frames.
const MAX_TONE_FRAMES: f64 = (1u64 << 25) as f64;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToneParams {
    /// Frequency in Hz.
    #[serde(deserialize_with = "super::de_f64")]
    pub frequency: f64,
    /// Sample rate in Hz (default 16000).
    #[serde(default = "default_rate", deserialize_with = "super::de_u32")]
    #[schemars(range(min = 1, max = 768000))]
    pub sample_rate: u32,
    /// Duration in seconds (default 1.0); rounded to whole frames.
    #[serde(default = "default_duration", deserialize_with = "super::de_f64")]
    pub duration: f64,
    /// Peak amplitude (default 0.5).
    #[serde(default = "default_amplitude", deserialize_with = "super::de_f64")]
    pub amplitude: f64,
    /// Channels (default 1); every channel carries the same signal.
    #[serde(default = "default_channels", deserialize_with = "super::de_u32")]
    #[schemars(range(min = 1, max = 64))]
    pub channels: u32,
}
fn default_rate() -> u32 {
    16000
}
fn default_duration() -> f64 {
    1.0
}
fn default_amplitude() -> f64 {
    0.5
}
fn default_channels() -> u32 {
    1
}
impl NodeParams for ToneParams {
    fn check(&self) -> Result<(), ParamError> {
        check_sample_rate(self.sample_rate as i64)
            .map_err(|e| ParamError::new("sample_rate", e))?;
        check_channels(self.channels as i64).map_err(|e| ParamError::new("channels", e))?;
        if self.frequency.is_nan() || self.frequency < 0.0 {
            return Err(ParamError::new(
                "frequency",
                "must be a non-negative number",
            ));
        }
        let frames = self.duration * self.sample_rate as f64 * self.channels as f64;
        if self.duration.is_nan() || self.duration < 0.0 || frames > MAX_TONE_FRAMES {
            return Err(ParamError::new(
                "duration",
                format!("must be from 0 to {MAX_TONE_FRAMES} samples long"),
            ));
        }
        Ok(())
    }
}

struct Tone {
    p: ToneParams,
}

impl Node for Tone {
    fn process(&mut self, _inputs: Vec<Value>) -> Result<Option<Value>, String> {
        let rate = self.p.sample_rate as f64;
        let frames = libm::round(self.p.duration * rate) as usize;
        let ch = self.p.channels as usize;
        let mut samples = Vec::with_capacity(frames * ch);
        for n in 0..frames {
            // libm::sin: identical bits on every target.
            let s = self.p.amplitude
                * libm::sin(2.0 * core::f64::consts::PI * self.p.frequency * n as f64 / rate);
            samples.extend(std::iter::repeat_n(s as f32, ch));
        }
        AudioBuffer::new(samples, self.p.sample_rate, ch as u16).map(|a| Some(Value::Audio(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse_params;

    #[test]
    fn tone_is_a_sine() {
        let p: ToneParams = parse_params(
            &serde_json::json!({"frequency": 1000, "sample_rate": 8000, "duration": 0.01}),
        )
        .unwrap();
        let out = Tone { p }.process(vec![Value::Null]).unwrap().unwrap();
        let Value::Audio(a) = out else { panic!() };
        assert_eq!(a.frames(), 80);
        // 1 kHz at 8 kHz: period 8 samples; n=2 is the peak, n=4 zero, n=6 trough.
        assert!((a.samples[2] - 0.5).abs() < 1e-7);
        assert!(a.samples[4].abs() < 1e-7);
        assert!((a.samples[6] + 0.5).abs() < 1e-7);
    }

    #[test]
    fn resample_params_errors() {
        let e =
            parse_params::<ResampleParams>(&serde_json::json!({"target_rate": "16k"})).unwrap_err();
        assert_eq!(e.path, "target_rate");
        assert_eq!(
            e.message,
            "invalid type: string \"16k\", expected a non-negative integer"
        );
        let e = parse_params::<ResampleParams>(&serde_json::json!({"target_rate": 0})).unwrap_err();
        assert_eq!(
            e.message,
            "sample rate must be an integer from 1 to 768000, got 0"
        );
        let e = parse_params::<ResampleParams>(
            &serde_json::json!({"target_rate": 8000, "method": "cubic"}),
        )
        .unwrap_err();
        assert_eq!(e.path, "method");
        assert!(
            e.message.contains("unknown variant `cubic`"),
            "{}",
            e.message
        );
        let e = parse_params::<ResampleParams>(&serde_json::json!({})).unwrap_err();
        assert_eq!(e.message, "missing field `target_rate`");
    }

    #[test]
    fn media_reader_errors_use_the_given_path() {
        let mut r = MediaReader {
            ctx: NodeContext::default(),
            path: None,
        };
        let e = r
            .process(vec![Value::Str("no/such/file.wav".into())])
            .unwrap_err();
        assert_eq!(e, "cannot read 'no/such/file.wav': file not found");
        let e = r.process(vec![Value::Int(1)]).unwrap_err();
        assert!(e.starts_with("MediaReader expects a file path string"));
    }

    #[test]
    fn media_reader_with_a_path_opens_it_at_start_up() {
        let reg = Registry::with_builtins();
        let kind = reg.get("MediaReader").unwrap();
        let build = |path: &str| {
            kind.build(
                &NodeContext::default(),
                &serde_json::json!({ "path": path }),
            )
            .err()
        };
        assert_eq!(
            build("no/such/file.wav").unwrap(),
            "cannot read 'no/such/file.wav': file not found"
        );
        assert_eq!(build(".").unwrap(), "cannot read '.': is a directory");
        // A file that is not a WAV opens fine; decoding fails per item.
        assert!(build(file!()).is_none());
        assert_eq!(
            kind.files(&serde_json::json!({"path": "a.wav"})),
            vec![crate::registry::FileParam {
                param: "path",
                path: "a.wav".into()
            }]
        );
        assert!(kind.files(&serde_json::json!({})).is_empty());
    }
}
