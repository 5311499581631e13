//! Built-in node types, their registration ([`Registry::with_builtins`]) and
//! which of them need a cargo feature ([`FEATURE_GATED`]).

pub mod audio;
pub mod audio_window;
pub mod basic;
#[cfg(feature = "python")]
pub mod python;
#[cfg(feature = "whisper")]
pub mod whisper;

use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::registry::Registry;

/// Built-in node types that exist only with a cargo feature (type, feature):
/// without it, the error for such a type names the feature.
pub const FEATURE_GATED: &[(&str, &str)] = &[("Python", "python"), ("Whisper", "whisper")];

/// Register every built-in node type of this build, and the feature-gated
/// ones by name ([`FEATURE_GATED`]).
pub fn register_builtins(r: &mut Registry) {
    basic::register(r);
    audio::register(r);
    audio_window::register(r);
    #[cfg(feature = "python")]
    python::register(r);
    #[cfg(feature = "whisper")]
    whisper::register(r);
    for &(name, feature) in FEATURE_GATED {
        r.register_feature_gated(name, feature);
    }
}

impl Registry {
    /// All built-in node types of this build.
    pub fn with_builtins() -> Self {
        let mut r = Registry::empty();
        register_builtins(&mut r);
        r
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::with_builtins()
    }
}

/// A numeric parameter: JSON integers stay `i64`, other numbers are `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                i64::try_from(v).map(Number::Int).map_err(|_| {
                    E::custom(format!(
                        "integer {v} does not fit in a signed 64-bit integer"
                    ))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Float(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Number {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Number".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "number"})
    }
}

/// Deserialize helper: any JSON number as f64, with "a number" as the
/// expectation in errors (serde's default says "f64").
pub(crate) fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Number::deserialize(d).map(Number::as_f64)
}

/// Deserialize helper: a non-negative integer that fits `u32`.
pub(crate) fn de_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u32;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| {
                E::custom(format!(
                    "expected a non-negative integer below 2^32, got {v}"
                ))
            })
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| {
                E::custom(format!(
                    "expected a non-negative integer below 2^32, got {v}"
                ))
            })
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_builtin_types() {
        let r = Registry::with_builtins();
        assert_eq!(
            r.unknown_type_message("Multply"),
            "unknown node type 'Multply' (did you mean 'Multiply'?)"
        );
        assert_eq!(r.unknown_type_message("Zebra"), "unknown node type 'Zebra'");
        for &(name, feature) in FEATURE_GATED {
            let expected = format!(
                "node type '{name}' is not available in this build (cargo feature '{feature}' is off)"
            );
            assert_eq!(
                r.get(name).is_none(),
                r.unknown_type_message(name) == expected
            );
        }
        assert_eq!(r.get("Python").is_some(), cfg!(feature = "python"));
        assert_eq!(r.get("Whisper").is_some(), cfg!(feature = "whisper"));
    }
}
