//! The runtime's value type and its JSON encoding.
//!
//! JSON cannot carry everything the runtime needs, so a few single-key
//! objects are reserved (see README "Value encoding"):
//!
//! * `{"$f64": "NaN" | "inf" | "-inf"}` — non-finite floats;
//! * `{"$audio": {"sample_rate": 16000, "channels": 1, "data_b64": "..."}}` —
//!   audio, interleaved little-endian f32 samples in standard base64 (on input
//!   `"samples": [0.0, 0.5, ...]` may be given instead of `data_b64`);
//! * `{"$map": {...}}` — a literal map, used on output for a map whose only
//!   key is one of the reserved names, so every value round-trips.
//!
//! Integers stay `i64`; finite floats are JSON numbers printed in shortest
//! round-trip form (`1.0`, `-0.0`, `1e300`), so ints and floats stay distinct.

use std::fmt;

use base64::Engine as _;
use indexmap::IndexMap;
use serde_json::Value as Json;

/// Largest nesting depth accepted when converting values. Deeper values are
/// rejected with an error instead of risking a stack overflow (a trap in wasm).
pub const MAX_DEPTH: usize = 100;
/// Accepted sample rates (Hz).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// Accepted channel counts.
pub const MAX_CHANNELS: u16 = 64;

const RESERVED_KEYS: [&str; 3] = ["$audio", "$f64", "$map"];

/// A buffer of interleaved f32 samples.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioBuffer {
    pub sample_rate: u32,
    pub channels: u16,
    /// Interleaved: frame 0 channel 0, frame 0 channel 1, frame 1 channel 0, ...
    pub samples: Vec<f32>,
}

impl AudioBuffer {
    /// Checked constructor: rate in 1..=768000, channels in 1..=64, and a
    /// sample count that is a whole number of frames.
    pub fn new(samples: Vec<f32>, sample_rate: u32, channels: u16) -> Result<Self, String> {
        check_sample_rate(sample_rate as i64)?;
        check_channels(channels as i64)?;
        if samples.len() % channels as usize != 0 {
            return Err(format!(
                "{} samples is not a whole number of frames for {} channels",
                samples.len(),
                channels
            ));
        }
        Ok(AudioBuffer {
            sample_rate,
            channels,
            samples,
        })
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / (self.channels.max(1) as usize)
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames() as f64 / self.sample_rate.max(1) as f64
    }
}

pub(crate) fn check_sample_rate(rate: i64) -> Result<u32, String> {
    if (1..=MAX_SAMPLE_RATE as i64).contains(&rate) {
        Ok(rate as u32)
    } else {
        Err(format!(
            "sample rate must be an integer from 1 to {MAX_SAMPLE_RATE}, got {rate}"
        ))
    }
}

pub(crate) fn check_channels(channels: i64) -> Result<u16, String> {
    if (1..=MAX_CHANNELS as i64).contains(&channels) {
        Ok(channels as u16)
    } else {
        Err(format!(
            "channels must be an integer from 1 to {MAX_CHANNELS}, got {channels}"
        ))
    }
}

/// A value flowing through the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Keys keep their insertion order (deterministic, and matches Python dicts).
    Map(IndexMap<String, Value>),
    Audio(AudioBuffer),
}

impl Value {
    /// Short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Audio(_) => "audio",
        }
    }

    /// Equality that treats NaN as equal to NaN (useful for round-trip checks).
    pub fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.same_as(vb))
            }
            (Value::Audio(a), Value::Audio(b)) => {
                a.sample_rate == b.sample_rate
                    && a.channels == b.channels
                    && a.samples.len() == b.samples.len()
                    && a.samples
                        .iter()
                        .zip(&b.samples)
                        .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
            }
            _ => self == other,
        }
    }

    /// Decode a JSON value (see module docs for the reserved encodings).
    /// `path` names the value in error messages, e.g. `inputs[0]`.
    pub fn from_json(json: &Json, path: &str) -> Result<Value, String> {
        decode(json, &At::Root(path), 0)
    }

    /// [`from_json`](Value::from_json) of item `index` of the array `path`
    /// (named `path[index]` in error messages).
    pub(crate) fn from_json_item(json: &Json, path: &str, index: usize) -> Result<Value, String> {
        decode(json, &At::Index(&At::Root(path), index), 0)
    }

    /// Encode as JSON. Infallible: every value has an encoding.
    pub fn to_json(&self) -> Json {
        encode(self)
    }

    /// Parse a JSON document into a value.
    pub fn from_json_str(text: &str, path: &str) -> Result<Value, String> {
        let json: Json =
            serde_json::from_str(text).map_err(|e| format!("{path}: invalid JSON: {e}"))?;
        Value::from_json(&json, path)
    }

    /// Compact JSON text.
    pub fn to_json_string(&self) -> String {
        // Serialising a serde_json::Value to a String cannot fail.
        serde_json::to_string(&self.to_json()).unwrap_or_default()
    }
}

impl From<AudioBuffer> for Value {
    fn from(a: AudioBuffer) -> Self {
        Value::Audio(a)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// `base.key`, or `base["key"]` when the key is not a plain identifier.
pub(crate) fn path_key(base: &str, key: &str) -> String {
    At::Key(&At::Root(base), key).to_string()
}

/// `base[i]`.
pub(crate) fn path_index(base: &str, i: usize) -> String {
    At::Index(&At::Root(base), i).to_string()
}

/// A value's place in its document, spelled as [`path_key`] and
/// [`path_index`] spell it, but only when an error message prints it: decoding
/// a large input builds no strings for the values that are fine.
#[derive(Clone, Copy)]
enum At<'a> {
    Root(&'a str),
    Index(&'a At<'a>, usize),
    Key(&'a At<'a>, &'a str),
}

impl At<'_> {
    fn is_empty(&self) -> bool {
        matches!(self, At::Root(s) if s.is_empty())
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            At::Root(s) => f.write_str(s),
            At::Index(base, i) => write!(f, "{base}[{i}]"),
            At::Key(base, key) => {
                let plain = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
                match (base.is_empty(), plain) {
                    (true, true) => f.write_str(key),
                    (false, true) => write!(f, "{base}.{key}"),
                    (_, false) => write!(f, "{base}[{}]", Json::String(key.to_string())),
                }
            }
        }
    }
}

/// Describe a JSON value briefly for "expected X, got Y" messages.
pub(crate) fn describe_json(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("bool {b}"),
        Json::Number(n) => format!("number {n}"),
        Json::String(s) => {
            let short: String = s.chars().take(40).collect();
            let ell = if short.len() < s.len() { "..." } else { "" };
            format!("string {}{ell}", Json::String(short))
        }
        Json::Array(_) => "array".into(),
        Json::Object(_) => "object".into(),
    }
}

fn decode(json: &Json, path: &At, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{path}: value nested deeper than {MAX_DEPTH} levels"
        ));
    }
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if n.is_u64() {
                return Err(format!(
                    "{path}: integer {n} does not fit in a signed 64-bit integer"
                ));
            } else {
                // serde_json only produces finite f64 here.
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(decode(item, &At::Index(path, i), depth + 1)?);
            }
            Value::List(out)
        }
        Json::Object(map) => {
            if map.len() == 1 {
                // Length checked just above.
                let (key, inner) = map.iter().next().ok_or_else(|| format!("{path}: empty"))?;
                let inner_path = At::Key(path, key);
                match key.as_str() {
                    "$f64" => return decode_special_float(inner, &inner_path).map(Value::Float),
                    "$audio" => return decode_audio(inner, &inner_path).map(Value::Audio),
                    "$map" => {
                        let Json::Object(m) = inner else {
                            return Err(format!(
                                "{inner_path}: expected an object, got {}",
                                describe_json(inner)
                            ));
                        };
                        return decode_map(m, &inner_path, depth + 1);
                    }
                    _ => {}
                }
            }
            return decode_map(map, path, depth);
        }
    })
}

fn decode_map(
    map: &serde_json::Map<String, Json>,
    path: &At,
    depth: usize,
) -> Result<Value, String> {
    let mut out = IndexMap::with_capacity(map.len());
    for (k, v) in map {
        out.insert(k.clone(), decode(v, &At::Key(path, k), depth + 1)?);
    }
    Ok(Value::Map(out))
}

fn decode_special_float(json: &Json, path: &At) -> Result<f64, String> {
    match json.as_str() {
        Some("NaN") => Ok(f64::NAN),
        Some("inf") => Ok(f64::INFINITY),
        Some("-inf") => Ok(f64::NEG_INFINITY),
        _ => Err(format!(
            "{path}: expected \"NaN\", \"inf\" or \"-inf\", got {}",
            describe_json(json)
        )),
    }
}

fn decode_audio(json: &Json, path: &At) -> Result<AudioBuffer, String> {
    let Json::Object(map) = json else {
        return Err(format!(
            "{path}: expected an object, got {}",
            describe_json(json)
        ));
    };
    for key in map.keys() {
        if !["sample_rate", "channels", "data_b64", "samples"].contains(&key.as_str()) {
            return Err(format!(
                "{}: unknown audio field (expected sample_rate, channels, data_b64 or samples)",
                At::Key(path, key)
            ));
        }
    }
    let int_field = |name: &str| -> Result<i64, String> {
        let p = At::Key(path, name);
        match map.get(name) {
            None => Err(format!("{p}: missing field")),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| format!("{p}: expected an integer, got {}", describe_json(v))),
        }
    };
    let sample_rate = check_sample_rate(int_field("sample_rate")?)
        .map_err(|e| format!("{}: {e}", At::Key(path, "sample_rate")))?;
    let channels = match map.get("channels") {
        None => 1,
        Some(_) => check_channels(int_field("channels")?)
            .map_err(|e| format!("{}: {e}", At::Key(path, "channels")))?,
    };
    let samples = match (map.get("data_b64"), map.get("samples")) {
        (Some(_), Some(_)) => {
            return Err(format!("{path}: give either data_b64 or samples, not both"));
        }
        (None, None) => return Err(format!("{path}: missing field data_b64")),
        (Some(data), None) => {
            let p = At::Key(path, "data_b64");
            let text = data.as_str().ok_or_else(|| {
                format!("{p}: expected a base64 string, got {}", describe_json(data))
            })?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("{p}: invalid base64: {e}"))?;
            if bytes.len() % 4 != 0 {
                return Err(format!(
                    "{p}: {} bytes is not a whole number of 4-byte f32 samples",
                    bytes.len()
                ));
            }
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }
        (None, Some(list)) => {
            let p = At::Key(path, "samples");
            let Json::Array(items) = list else {
                return Err(format!(
                    "{p}: expected an array of numbers, got {}",
                    describe_json(list)
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let x = match item {
                    Json::Number(n) => n.as_f64(),
                    Json::Object(_) => decode_special_float_obj(item),
                    _ => None,
                }
                .ok_or_else(|| {
                    format!(
                        "{}: expected a number, got {}",
                        At::Index(&p, i),
                        describe_json(item)
                    )
                })?;
                out.push(x as f32);
            }
            out
        }
    };
    AudioBuffer::new(samples, sample_rate, channels).map_err(|e| format!("{path}: {e}"))
}

fn decode_special_float_obj(json: &Json) -> Option<f64> {
    let map = json.as_object()?;
    if map.len() != 1 {
        return None;
    }
    decode_special_float(map.get("$f64")?, &At::Root("")).ok()
}

fn encode(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => encode_float(*f),
        Value::Str(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(encode).collect()),
        Value::Map(map) => {
            let obj: serde_json::Map<String, Json> =
                map.iter().map(|(k, x)| (k.clone(), encode(x))).collect();
            // A map that looks like a reserved encoding is escaped with "$map".
            let needs_escape =
                obj.len() == 1 && obj.keys().all(|k| RESERVED_KEYS.contains(&k.as_str()));
            if needs_escape {
                let mut outer = serde_json::Map::new();
                outer.insert("$map".into(), Json::Object(obj));
                Json::Object(outer)
            } else {
                Json::Object(obj)
            }
        }
        Value::Audio(a) => encode_audio(a),
    }
}

/// Finite floats become JSON numbers; NaN/inf use `{"$f64": ...}`.
pub fn encode_float(f: f64) -> Json {
    match serde_json::Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None => {
            let text = if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            let mut m = serde_json::Map::new();
            m.insert("$f64".into(), Json::String(text.into()));
            Json::Object(m)
        }
    }
}

/// Encode audio as `{"$audio": {sample_rate, channels, data_b64}}`.
pub fn encode_audio(a: &AudioBuffer) -> Json {
    let mut bytes = Vec::with_capacity(a.samples.len() * 4);
    for s in &a.samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    let mut inner = serde_json::Map::new();
    inner.insert("sample_rate".into(), Json::from(a.sample_rate));
    inner.insert("channels".into(), Json::from(a.channels));
    inner.insert(
        "data_b64".into(),
        Json::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    let mut outer = serde_json::Map::new();
    outer.insert("$audio".into(), Json::Object(inner));
    Json::Object(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(v: &Value) -> Value {
        let text = v.to_json_string();
        Value::from_json_str(&text, "x").unwrap()
    }

    #[test]
    fn ints_and_floats_stay_distinct() {
        assert_eq!(Value::from_json_str("1", "x").unwrap(), Value::Int(1));
        assert_eq!(Value::from_json_str("1.0", "x").unwrap(), Value::Float(1.0));
        assert_eq!(Value::Float(1.0).to_json_string(), "1.0");
        assert_eq!(Value::Int(1).to_json_string(), "1");
    }

    #[test]
    fn negative_zero_round_trips() {
        let v = rt(&Value::Float(-0.0));
        match v {
            Value::Float(f) => assert!(f == 0.0 && f.is_sign_negative()),
            other => panic!("{other:?}"),
        }
        assert_eq!(Value::Float(-0.0).to_json_string(), "-0.0");
    }

    #[test]
    fn non_finite_floats_use_f64_objects() {
        assert_eq!(Value::Float(f64::NAN).to_json_string(), r#"{"$f64":"NaN"}"#);
        assert_eq!(
            Value::Float(f64::INFINITY).to_json_string(),
            r#"{"$f64":"inf"}"#
        );
        assert_eq!(
            Value::Float(f64::NEG_INFINITY).to_json_string(),
            r#"{"$f64":"-inf"}"#
        );
        assert!(rt(&Value::Float(f64::NAN)).same_as(&Value::Float(f64::NAN)));
        assert_eq!(
            rt(&Value::Float(f64::NEG_INFINITY)),
            Value::Float(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn floats_round_trip_exactly() {
        for f in [
            0.1,
            1.0 / 3.0,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            123456789.12345679,
            -2.2250738585072014e-308,
        ] {
            assert_eq!(rt(&Value::Float(f)), Value::Float(f), "{f}");
        }
    }

    #[test]
    fn huge_integers_are_rejected() {
        let err = Value::from_json_str("[18446744073709551615]", "inputs").unwrap_err();
        assert_eq!(
            err,
            "inputs[0]: integer 18446744073709551615 does not fit in a signed 64-bit integer"
        );
        assert_eq!(
            Value::from_json_str("-9223372036854775808", "x").unwrap(),
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn audio_base64_is_little_endian_f32() {
        // 1.0f32 = 0x3F800000 -> LE bytes 00 00 80 3F -> base64 "AACAPw=="
        let json = r#"{"$audio":{"sample_rate":8000,"channels":1,"data_b64":"AACAPw=="}}"#;
        let v = Value::from_json_str(json, "x").unwrap();
        assert_eq!(
            v,
            Value::Audio(AudioBuffer {
                sample_rate: 8000,
                channels: 1,
                samples: vec![1.0]
            })
        );
        assert_eq!(v.to_json_string(), json);
    }

    #[test]
    fn audio_from_sample_list() {
        let v = Value::from_json_str(
            r#"{"$audio":{"sample_rate":16000,"channels":2,"samples":[0.5,-0.5,1,0]}}"#,
            "x",
        )
        .unwrap();
        let Value::Audio(a) = v else { panic!() };
        assert_eq!(a.samples, vec![0.5, -0.5, 1.0, 0.0]);
        assert_eq!(a.frames(), 2);
    }

    #[test]
    fn error_paths_name_every_step_down() {
        let json: Json = serde_json::from_str(r#"[7, {"a b": [1, {"$f64": "x"}]}]"#).unwrap();
        let items = json.as_array().unwrap();
        assert_eq!(
            Value::from_json_item(&items[1], "inputs", 1).unwrap_err(),
            r#"inputs[1]["a b"][1].$f64: expected "NaN", "inf" or "-inf", got string "x""#
        );
        let audio: Json = serde_json::from_str(r#"{"$audio": 5}"#).unwrap();
        assert_eq!(
            Value::from_json(&audio, "").unwrap_err(),
            "$audio: expected an object, got number 5"
        );
        assert_eq!(path_key("", "a b"), r#"["a b"]"#);
        assert_eq!(path_index("nodes", 3), "nodes[3]");
    }

    #[test]
    fn bad_audio_errors_name_the_field() {
        let e = |s: &str| Value::from_json_str(s, "inputs[0]").unwrap_err();
        assert_eq!(
            e(r#"{"$audio":{"sample_rate":0,"data_b64":""}}"#),
            "inputs[0].$audio.sample_rate: sample rate must be an integer from 1 to 768000, got 0"
        );
        assert_eq!(
            e(r#"{"$audio":{"sample_rate":8000,"channels":2,"samples":[1.0]}}"#),
            "inputs[0].$audio: 1 samples is not a whole number of frames for 2 channels"
        );
        assert_eq!(
            e(r#"{"$audio":{"sample_rate":8000,"data_b64":"AAA="}}"#),
            "inputs[0].$audio.data_b64: 2 bytes is not a whole number of 4-byte f32 samples"
        );
        assert!(e(r#"{"$audio":{"sample_rate":8000,"data_b64":"@@"}}"#)
            .starts_with("inputs[0].$audio.data_b64: invalid base64"));
        assert_eq!(
            e(r#"{"$audio":{"rate":8000}}"#),
            "inputs[0].$audio.rate: unknown audio field (expected sample_rate, channels, data_b64 or samples)"
        );
    }

    #[test]
    fn reserved_looking_maps_are_escaped() {
        let mut m = IndexMap::new();
        m.insert("$f64".to_string(), Value::Str("hello".into()));
        let v = Value::Map(m);
        assert_eq!(v.to_json_string(), r#"{"$map":{"$f64":"hello"}}"#);
        assert_eq!(rt(&v), v);
    }

    #[test]
    fn map_order_is_preserved() {
        let v = Value::from_json_str(r#"{"b":1,"a":2}"#, "x").unwrap();
        assert_eq!(v.to_json_string(), r#"{"b":1,"a":2}"#);
    }

    #[test]
    fn depth_is_limited() {
        let deep = "[".repeat(120) + &"]".repeat(120);
        // serde_json itself refuses > 128; we refuse > MAX_DEPTH.
        assert!(Value::from_json_str(&deep, "x")
            .unwrap_err()
            .contains("nested deeper"));
    }

    #[test]
    fn paths_quote_odd_keys() {
        assert_eq!(path_key("a", "b c"), r#"a["b c"]"#);
        assert_eq!(path_key("a", "b_c"), "a.b_c");
        assert_eq!(path_key("", "b"), "b");
    }
}
