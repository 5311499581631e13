//! PassThrough, Multiply, Add and Output.
//!
//! Arithmetic rules (README "Node reference"): int op int stays int with
//! checked overflow (overflow is a node error); if either side is a float the
//! result is an IEEE f64; audio op number applies to every sample (computed in
//! f64, rounded to f32); Add also mixes two audio buffers of the same format.

use schemars::JsonSchema;
use serde::Deserialize;

use super::Number;
use crate::registry::{Node, NodeParams, Registry, TypedKind};
use crate::value::{AudioBuffer, Value};

pub const OUTPUT: &str = "Output";

pub fn register(r: &mut Registry) {
    r.register(Box::new(TypedKind::<NoParams>::new(
        "PassThrough",
        "Passes its single input on unchanged.",
        Some(1),
        |_, _| Ok(Box::new(PassThrough)),
    )));
    r.register(Box::new(TypedKind::<MultiplyParams>::new(
        "Multiply",
        "Multiplies its inputs together and by `factor` (default 1). Numbers or audio (gain).",
        None,
        |_, p| {
            Ok(Box::new(Arith {
                op: Op::Mul,
                constant: p.factor,
            }))
        },
    )));
    r.register(Box::new(TypedKind::<AddParams>::new(
        "Add",
        "Adds its inputs together and `value` (default 0). Numbers, audio + number (offset), audio + audio (mix).",
        None,
        |_, p| Ok(Box::new(Arith { op: Op::Add, constant: p.value })),
    )));
    r.register(Box::new(
        TypedKind::<NoParams>::new(
            OUTPUT,
            "Collects its input as a pipeline result (several inputs: a list) and passes it on.",
            None,
            |_, _| Ok(Box::new(Output)),
        )
        .with_result(true),
    ));
}

/// Params of nodes that take none.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}
impl NodeParams for NoParams {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiplyParams {
    /// Constant factor (integer or float). Default 1.
    #[serde(default = "one")]
    pub factor: Number,
}
impl NodeParams for MultiplyParams {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddParams {
    /// Constant added to the sum (integer or float). Default 0.
    #[serde(default = "zero")]
    pub value: Number,
}
impl NodeParams for AddParams {}

fn one() -> Number {
    Number::Int(1)
}
fn zero() -> Number {
    Number::Int(0)
}

struct PassThrough;
impl Node for PassThrough {
    fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
        Ok(inputs.pop())
    }
}

struct Output;
impl Node for Output {
    fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
        Ok(Some(if inputs.len() == 1 {
            inputs.pop().unwrap_or(Value::Null)
        } else {
            Value::List(inputs)
        }))
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Mul,
}

struct Arith {
    op: Op,
    constant: Number,
}

impl Node for Arith {
    fn process(&mut self, inputs: Vec<Value>) -> Result<Option<Value>, String> {
        let mut iter = inputs.into_iter();
        let mut acc = iter.next().unwrap_or(Value::Null);
        check_operand(self.op, &acc)?;
        for v in iter {
            acc = apply(self.op, acc, v)?;
        }
        let c = match self.constant {
            Number::Int(i) => Value::Int(i),
            Number::Float(f) => Value::Float(f),
        };
        apply(self.op, acc, c).map(Some)
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Add => "Add",
        Op::Mul => "Multiply",
    }
}

fn check_operand(op: Op, v: &Value) -> Result<(), String> {
    match v {
        Value::Int(_) | Value::Float(_) | Value::Audio(_) => Ok(()),
        other => Err(format!(
            "{} expects numbers or audio, got {}",
            op_name(op),
            other.type_name()
        )),
    }
}

/// Apply one binary operation, with checked integer overflow.
fn apply(op: Op, a: Value, b: Value) -> Result<Value, String> {
    check_operand(op, &a)?;
    check_operand(op, &b)?;
    use Value::*;
    Ok(match (a, b) {
        (Int(x), Int(y)) => {
            let (r, sym) = match op {
                Op::Add => (x.checked_add(y), "+"),
                Op::Mul => (x.checked_mul(y), "*"),
            };
            Int(r.ok_or_else(|| {
                format!("integer overflow: {x} {sym} {y} does not fit in a signed 64-bit integer")
            })?)
        }
        (Int(x), Float(y)) => Float(float_op(op, x as f64, y)),
        (Float(x), Int(y)) => Float(float_op(op, x, y as f64)),
        (Float(x), Float(y)) => Float(float_op(op, x, y)),
        (Audio(a), Int(y)) | (Int(y), Audio(a)) => Audio(audio_scalar(op, a, y as f64)),
        (Audio(a), Float(y)) | (Float(y), Audio(a)) => Audio(audio_scalar(op, a, y)),
        (Audio(a), Audio(b)) => match op {
            Op::Mul => return Err("Multiply cannot multiply two audio buffers".into()),
            Op::Add => Audio(mix(a, b)?),
        },
        // check_operand rejected everything else.
        (a, _) => {
            return Err(format!(
                "{} expects numbers or audio, got {}",
                op_name(op),
                a.type_name()
            ))
        }
    })
}

fn float_op(op: Op, x: f64, y: f64) -> f64 {
    match op {
        Op::Add => x + y,
        Op::Mul => x * y,
    }
}

fn audio_scalar(op: Op, mut a: AudioBuffer, y: f64) -> AudioBuffer {
    for s in &mut a.samples {
        *s = float_op(op, *s as f64, y) as f32;
    }
    a
}

fn mix(mut a: AudioBuffer, b: AudioBuffer) -> Result<AudioBuffer, String> {
    if a.sample_rate != b.sample_rate
        || a.channels != b.channels
        || a.samples.len() != b.samples.len()
    {
        return Err(format!(
            "Add can only mix audio of the same format: {} Hz/{} ch/{} frames vs {} Hz/{} ch/{} frames",
            a.sample_rate,
            a.channels,
            a.frames(),
            b.sample_rate,
            b.channels,
            b.frames()
        ));
    }
    for (x, y) in a.samples.iter_mut().zip(&b.samples) {
        *x = (*x as f64 + *y as f64) as f32;
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: Op, constant: Number, inputs: Vec<Value>) -> Result<Option<Value>, String> {
        Arith { op, constant }.process(inputs)
    }

    #[test]
    fn int_arithmetic_stays_int() {
        assert_eq!(
            run(Op::Mul, Number::Int(2), vec![Value::Int(3)]),
            Ok(Some(Value::Int(6)))
        );
        assert_eq!(
            run(Op::Add, Number::Int(1), vec![Value::Int(6)]),
            Ok(Some(Value::Int(7)))
        );
        // Fan-in: (2 + 5) + 10 = 17
        assert_eq!(
            run(Op::Add, Number::Int(10), vec![Value::Int(2), Value::Int(5)]),
            Ok(Some(Value::Int(17)))
        );
    }

    #[test]
    fn mixing_int_and_float_gives_float() {
        assert_eq!(
            run(Op::Mul, Number::Float(0.5), vec![Value::Int(3)]),
            Ok(Some(Value::Float(1.5)))
        );
        assert_eq!(
            run(Op::Add, Number::Int(1), vec![Value::Float(0.25)]),
            Ok(Some(Value::Float(1.25)))
        );
    }

    #[test]
    fn overflow_is_an_error() {
        let e = run(Op::Mul, Number::Int(2), vec![Value::Int(i64::MAX)]).unwrap_err();
        assert_eq!(
            e,
            "integer overflow: 9223372036854775807 * 2 does not fit in a signed 64-bit integer"
        );
        assert!(run(Op::Add, Number::Int(-1), vec![Value::Int(i64::MIN)]).is_err());
    }

    #[test]
    fn wrong_types_are_errors() {
        assert_eq!(
            run(Op::Mul, Number::Int(2), vec![Value::Str("a".into())]).unwrap_err(),
            "Multiply expects numbers or audio, got string"
        );
        assert_eq!(
            run(Op::Add, Number::Int(0), vec![Value::Int(1), Value::Null]).unwrap_err(),
            "Add expects numbers or audio, got null"
        );
    }

    #[test]
    fn audio_gain_and_mix() {
        let a = AudioBuffer::new(vec![0.5, -0.25], 8000, 1).unwrap();
        let out = run(Op::Mul, Number::Int(2), vec![Value::Audio(a.clone())])
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            Value::Audio(AudioBuffer::new(vec![1.0, -0.5], 8000, 1).unwrap())
        );
        let out = run(
            Op::Add,
            Number::Int(0),
            vec![Value::Audio(a.clone()), Value::Audio(a.clone())],
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            out,
            Value::Audio(AudioBuffer::new(vec![1.0, -0.5], 8000, 1).unwrap())
        );
        let b = AudioBuffer::new(vec![0.5], 8000, 1).unwrap();
        assert!(run(
            Op::Add,
            Number::Int(0),
            vec![Value::Audio(a), Value::Audio(b)]
        )
        .unwrap_err()
        .contains("same format"));
    }
}
