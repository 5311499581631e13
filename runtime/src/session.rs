//! Sessions: a pipeline opened once, fed one item at a time, closed at the
//! end. The one implementation behind `pipeline_executor stream`, the
//! `pipeline_reactor` WASI module and the wheel's `Session`, so every host
//! behaves alike.
//!
//! * [`Session::open`] parses and validates the manifest and builds every
//!   node: the same errors and exit codes as `run` (2 invalid manifest, 3 a
//!   node failed to start).
//! * [`Session::push`] runs one item and returns that item's result: a
//!   [`RunOutput`] with every result node, holding the values produced for
//!   this item (as text: `{"outputs":{"<id>":[...]}}`, compact).
//! * [`Session::push_many_json`] pushes several items (a JSON array) in one
//!   call: one document with their values, as their pushes would give.
//! * [`Session::push_audio_json`] pushes an audio item given as its samples
//!   (a host's float buffer), without JSON or base64.
//! * [`Session::close`] flushes the nodes ([`Pipeline::finish`]) and returns
//!   what that produced, in the same shape.
//!
//! Appending every push's lists, then the close's, in order gives exactly
//! the document `run` prints for the same items.
//!
//! After a node error the session is *failed*: every later push fails with
//! `session failed earlier: <first error>` (same kind, so same exit code);
//! close still succeeds (it flushes nothing and returns no values). An
//! invalid item ([`Session::push_json`]) is an inputs error that leaves the
//! session as it was. Push or close after close: usage error
//! `the session is closed` (exit 1).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::executor::{Pipeline, RunOutput};
use crate::manifest::{decode_items, Manifest};
use crate::registry::Registry;
use crate::value::{check_channels, describe_json, AudioBuffer, Value};

/// How a host opens a session.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Where relative paths in params resolve (the manifest's folder for a
    /// manifest file; None: the working directory).
    pub base_dir: Option<PathBuf>,
    /// Send Python's `print` to stderr (hosts whose stdout carries results:
    /// the CLI, the reactor), see [`crate::python_print_to_stderr`].
    pub python_print_to_stderr: bool,
}

/// An open pipeline, fed one item at a time.
pub struct Session {
    /// None once closed (nodes dropped: models freed, Python objects released).
    pipeline: Option<Pipeline>,
    /// Result node ids, for the documents of a closed session.
    result_ids: Vec<String>,
    /// Index of the next item (error messages: `failed on item N`).
    next_index: usize,
    /// The first node error, once there was one.
    failed: Option<Error>,
}

fn closed_error() -> Error {
    Error::usage("the session is closed")
}

impl Session {
    /// Parse, validate and build `manifest_json`.
    pub fn open(
        manifest_json: &str,
        registry: &Registry,
        options: &SessionOptions,
    ) -> Result<Session> {
        let manifest = Manifest::parse(manifest_json, registry)?;
        Session::new(&manifest, registry, options)
    }

    /// Build an already validated manifest. Its `inputs` are not used.
    pub fn new(
        manifest: &Manifest,
        registry: &Registry,
        options: &SessionOptions,
    ) -> Result<Session> {
        if options.python_print_to_stderr {
            crate::python_print_to_stderr(manifest)?;
        }
        let pipeline = Pipeline::new(manifest, registry, options.base_dir.clone())?;
        let result_ids = pipeline
            .result_ids()
            .into_iter()
            .map(str::to_string)
            .collect();
        Ok(Session {
            pipeline: Some(pipeline),
            result_ids,
            next_index: 0,
            failed: None,
        })
    }

    /// Ids of the result nodes (the keys of every result document).
    pub fn result_ids(&self) -> &[String] {
        &self.result_ids
    }

    /// Items pushed so far (successfully or not).
    pub fn items_pushed(&self) -> usize {
        self.next_index
    }

    pub fn is_closed(&self) -> bool {
        self.pipeline.is_none()
    }

    /// The first node error, if the session failed.
    pub fn failure(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// Run one item; its result (every result node, the values produced
    /// for this item).
    pub fn push(&mut self, item: Value) -> Result<RunOutput> {
        let Some(pipeline) = self.pipeline.as_mut() else {
            return Err(closed_error());
        };
        if let Some(first) = &self.failed {
            return Err(Error::new(
                first.kind(),
                format!("session failed earlier: {}", first.message()),
            ));
        }
        let index = self.next_index;
        self.next_index += 1;
        match pipeline.process_item(index, item) {
            Ok(results) => Ok(pipeline.output_of(results)),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// [`push`](Session::push) with the item as JSON text (one value, the
    /// encoding of `--input` items); the result as compact JSON text (no
    /// trailing newline). A malformed item is an inputs error
    /// (`invalid inputs: <why>`, exit 4) and is not counted.
    pub fn push_json(&mut self, item_json: &str) -> Result<String> {
        if self.is_closed() {
            return Err(closed_error());
        }
        let item =
            parse_item(item_json).map_err(|why| Error::inputs(format!("invalid inputs: {why}")))?;
        self.push(item).map(|out| out.to_json_compact())
    }

    /// Several items in one call, as a JSON array: the same as pushing each
    /// in order, the result one document with their values appended (what
    /// their pushes' documents merge to). For hosts where a call costs more
    /// than a small item (a Worker's message round trip).
    ///
    /// Every item is decoded before any runs: a malformed one is an inputs
    /// error naming it (`invalid inputs: items[k]: ...`), and no item of the
    /// call is pushed or counted. A node error on item k fails the session
    /// as [`push`](Session::push) does; the values of the k items before it
    /// in this call are not returned, and the message says so (push one at
    /// a time to have each item's values as soon as it ran).
    pub fn push_many_json(&mut self, items_json: &str) -> Result<String> {
        let Some(pipeline) = self.pipeline.as_ref() else {
            return Err(closed_error());
        };
        let mut out = pipeline.empty_output();
        let json: serde_json::Value = serde_json::from_str(items_json)
            .map_err(|e| Error::inputs(format!("invalid inputs: not valid JSON: {e}")))?;
        let serde_json::Value::Array(items) = json else {
            return Err(Error::inputs(format!(
                "invalid inputs: expected a JSON array of items, got {}",
                describe_json(&json)
            )));
        };
        let items = decode_items(&items, "items")?;
        for (k, item) in items.into_iter().enumerate() {
            match self.push(item) {
                Ok(values) => out.extend(values),
                Err(e) if k > 0 => {
                    return Err(Error::new(
                        e.kind(),
                        format!(
                            "{} (the values of the {k} item(s) before it in this call are not returned)",
                            e.message()
                        ),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out.to_json_compact())
    }

    /// [`push`](Session::push) of one audio item given as its interleaved
    /// samples: what a host holding them in a float buffer (a microphone's
    /// chunk, a `Float32Array`) pushes without encoding JSON and base64. The
    /// same item as `{"$audio":{...}}` JSON with these samples, so the same
    /// result (compact JSON text). A bad rate, channel count or sample count
    /// is an inputs error (`invalid inputs: audio: ...`, exit 4), not counted.
    pub fn push_audio_json(
        &mut self,
        samples: Vec<f32>,
        sample_rate: u32,
        channels: u32,
    ) -> Result<String> {
        if self.is_closed() {
            return Err(closed_error());
        }
        let audio = check_channels(i64::from(channels))
            .and_then(|channels| AudioBuffer::new(samples, sample_rate, channels))
            .map_err(|why| Error::inputs(format!("invalid inputs: audio: {why}")))?;
        self.push(Value::Audio(audio))
            .map(|out| out.to_json_compact())
    }

    /// Flush the nodes and close: what the flush produced. The nodes are
    /// dropped. A failed session closes without flushing (no values).
    pub fn close(&mut self) -> Result<RunOutput> {
        let Some(mut pipeline) = self.pipeline.take() else {
            return Err(closed_error());
        };
        if self.failed.is_some() {
            return Ok(pipeline.empty_output());
        }
        match pipeline.finish() {
            Ok(results) => Ok(pipeline.output_of(results)),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// [`close`](Session::close), the result as compact JSON text.
    pub fn close_json(&mut self) -> Result<String> {
        self.close().map(|out| out.to_json_compact())
    }
}

/// Decode one item given as JSON text (the value encoding of `--input`
/// items). The error is the reason only: `not valid JSON: ...` or
/// `item.$f64: ...`.
pub fn parse_item(text: &str) -> Result<Value, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    Value::from_json(&json, "item")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str) -> Session {
        Session::open(text, &Registry::with_builtins(), &SessionOptions::default()).unwrap()
    }

    /// `push` is an inputs error (exit 4) with `message`, and counts no item.
    fn assert_rejected(
        s: &mut Session,
        push: impl FnOnce(&mut Session) -> Result<String>,
        message: &str,
    ) {
        let before = s.items_pushed();
        let e = push(s).unwrap_err();
        assert_eq!((e.exit_code(), e.message()), (4, message));
        assert_eq!(s.items_pushed(), before);
    }

    const DOUBLE: &str =
        r#"{"version":1,"nodes":[{"id":"m","type":"Multiply","params":{"factor":2}}]}"#;

    #[test]
    fn push_returns_that_items_result() {
        let mut s = open(DOUBLE);
        assert_eq!(s.push_json("3").unwrap(), r#"{"outputs":{"m":[6]}}"#);
        assert_eq!(
            s.push_json(" 0.5 \n").unwrap(),
            r#"{"outputs":{"m":[1.0]}}"#
        );
        assert_eq!(s.close_json().unwrap(), r#"{"outputs":{"m":[]}}"#);
        assert!(s.is_closed());
        let e = s.push_json("1").unwrap_err();
        assert_eq!((e.exit_code(), e.message()), (1, "the session is closed"));
        let e = s.close().unwrap_err();
        assert_eq!((e.exit_code(), e.message()), (1, "the session is closed"));
    }

    #[test]
    fn bad_items_are_inputs_errors_and_leave_the_session_open() {
        let mut s = open(DOUBLE);
        assert_rejected(
            &mut s,
            |s| s.push_json("[1,"),
            "invalid inputs: not valid JSON: EOF while parsing a value at line 1 column 3",
        );
        assert_rejected(
            &mut s,
            |s| s.push_json(r#"{"$f64": "nan"}"#),
            "invalid inputs: item.$f64: expected \"NaN\", \"inf\" or \"-inf\", got string \"nan\"",
        );
        assert_eq!(s.items_pushed(), 0);
        assert_eq!(s.push_json("2").unwrap(), r#"{"outputs":{"m":[4]}}"#);
    }

    #[test]
    fn a_node_error_fails_the_session() {
        let mut s = open(DOUBLE);
        s.push_json("1").unwrap();
        let e = s.push_json("\"x\"").unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message(),
            "node 'm' (Multiply) failed on item 1: Multiply expects numbers or audio, got string"
        );
        let e = s.push_json("2").unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message(),
            "session failed earlier: node 'm' (Multiply) failed on item 1: Multiply expects numbers or audio, got string"
        );
        assert_eq!(s.close_json().unwrap(), r#"{"outputs":{"m":[]}}"#);
        assert_eq!(
            s.push_json("2").unwrap_err().message(),
            "the session is closed"
        );
    }

    #[test]
    fn push_many_is_the_pushes_in_one_call() {
        let mut s = open(DOUBLE);
        assert_eq!(
            s.push_many_json("[1, 2.5, 3]").unwrap(),
            r#"{"outputs":{"m":[2,5.0,6]}}"#
        );
        assert_eq!(s.push_many_json("[]").unwrap(), r#"{"outputs":{"m":[]}}"#);
        assert_eq!(s.items_pushed(), 3);
        // a malformed item: nothing of the call runs, the session goes on
        assert_rejected(
            &mut s,
            |s| s.push_many_json(r#"[4, {"$f64": "nan"}]"#),
            "invalid inputs: items[1].$f64: expected \"NaN\", \"inf\" or \"-inf\", got string \"nan\"",
        );
        assert_rejected(
            &mut s,
            |s| s.push_many_json("4"),
            "invalid inputs: expected a JSON array of items, got number 4",
        );
        assert_eq!(s.items_pushed(), 3);
        // a node error on the call's third item: the session fails, and says what is not returned
        let e = s.push_many_json(r#"[4, 5, "x"]"#).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message(),
            "node 'm' (Multiply) failed on item 5: Multiply expects numbers or audio, got string \
             (the values of the 2 item(s) before it in this call are not returned)"
        );
        let e = s.push_many_json("[6]").unwrap_err();
        assert!(e.message().starts_with("session failed earlier: node 'm'"));
        s.close().unwrap();
        assert_eq!(
            s.push_many_json("[1]").unwrap_err().message(),
            "the session is closed"
        );
    }

    #[test]
    fn push_audio_is_the_audio_item_without_json() {
        let mut s = open(DOUBLE);
        let doc = s.push_audio_json(vec![0.5, -0.25], 16000, 1).unwrap();
        // x2: 1.0 and -0.5 as little-endian f32 bytes 00 00 80 3f, 00 00 00 bf
        assert!(doc.contains(r#""data_b64":"AACAPwAAAL8=""#), "{doc}");
        let as_json = r#"{"$audio":{"sample_rate":16000,"channels":1,"samples":[0.5,-0.25]}}"#;
        assert_eq!(s.push_json(as_json).unwrap(), doc);
        assert_eq!(s.items_pushed(), 2);
        for (samples, rate, channels, why) in [
            (
                vec![0.0; 3],
                16000,
                2,
                "3 samples is not a whole number of frames for 2 channels",
            ),
            (
                vec![0.0],
                0,
                1,
                "sample rate must be an integer from 1 to 768000, got 0",
            ),
            (
                vec![0.0],
                16000,
                0,
                "channels must be an integer from 1 to 64, got 0",
            ),
            (
                vec![0.0],
                16000,
                70000,
                "channels must be an integer from 1 to 64, got 70000",
            ),
        ] {
            assert_rejected(
                &mut s,
                |s| s.push_audio_json(samples, rate, channels),
                &format!("invalid inputs: audio: {why}"),
            );
        }
        assert_eq!(s.items_pushed(), 2);
        s.close().unwrap();
        let e = s.push_audio_json(vec![0.0], 16000, 1).unwrap_err();
        assert_eq!(e.message(), "the session is closed");
    }

    #[test]
    fn open_fails_like_run() {
        let reg = Registry::with_builtins();
        let e = Session::open("{", &reg, &SessionOptions::default())
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
        let e = Session::open(
            r#"{"version":1,"nodes":[{"id":"r","type":"MediaReader","params":{"path":"no/such.wav"}}]}"#,
            &reg,
            &SessionOptions::default(),
        )
        .err()
        .unwrap();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message(),
            "node 'r' (MediaReader) failed to initialise: cannot read 'no/such.wav': file not found"
        );
    }
}
