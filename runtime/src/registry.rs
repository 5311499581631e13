//! Node types and the registry that maps a manifest's `"type"` to them.
//!
//! A node type is a [`NodeKind`]: it validates its `params` statically (for
//! `validate`, without running anything), describes them as JSON Schema, and
//! builds a [`Node`] instance. This module knows no node type: the built-in
//! ones (and which of them need a cargo feature) are registered where they
//! are defined, by `Registry::with_builtins`; an embedding can
//! [`register`](Registry::register) its own.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::PathBuf;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::value::Value;

/// A running node instance. The executor calls [`Node::process_into`] once
/// per value reaching the node, in order, with one value per incoming
/// connection (in the order the connections are listed in the manifest); a
/// source node (no incoming connection) gets the input item itself as its
/// only input. At the end of the input (the end of `run`, a session's close)
/// it calls [`Node::finish`] once.
///
/// Simple nodes implement only [`Node::process`] (zero or one value per
/// input): returning `Ok(None)` drops the item, so nodes downstream of this
/// one do not run for it. Nodes that emit several values per input, or
/// values at the end of the input, implement [`Node::process_into`] and
/// [`Node::finish`] instead, and their kind says so
/// ([`NodeKind::emits_many`]). Errors are plain messages; the executor adds
/// the node id and the item index.
pub trait Node: Send {
    /// One input, at most one output. Only called through the default
    /// [`Node::process_into`]; a node that overrides that need not
    /// implement this.
    fn process(&mut self, _inputs: Vec<Value>) -> Result<Option<Value>, String> {
        Err("this node implements neither process nor process_into".into())
    }

    /// One input, any number of outputs, appended to `out` in order (the
    /// executor sends each of them downstream as its own wave). The default
    /// calls [`Node::process`].
    fn process_into(&mut self, inputs: Vec<Value>, out: &mut Vec<Value>) -> Result<(), String> {
        out.extend(self.process(inputs)?);
        Ok(())
    }

    /// The input has ended: append what is still pending to `out` (e.g. the
    /// last partial window). Called once, after the last input; default:
    /// nothing.
    fn finish(&mut self, _out: &mut Vec<Value>) -> Result<(), String> {
        Ok(())
    }
}

/// A file named in a node's params (see [`NodeKind::files`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileParam {
    /// The params key (`module_path`, `path`, `model`).
    pub param: &'static str,
    /// The path exactly as written in the manifest.
    pub path: String,
}

/// Where a node is being built: its id and the directory against which
/// relative file paths in its params are resolved.
#[derive(Clone, Debug, Default)]
pub struct NodeContext {
    pub id: String,
    /// Directory of the manifest file (None when read from stdin: paths are
    /// then relative to the working directory).
    pub base_dir: Option<PathBuf>,
}

impl NodeContext {
    /// Resolve a path from the manifest. Messages keep using the path as the
    /// user wrote it, never the resolved one.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = PathBuf::from(path);
        match &self.base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    }
}

/// An invalid parameter: `path` is relative to the node's `params` object
/// (empty for the object itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub path: String,
    pub message: String,
}

impl ParamError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Static description and factory of one node type.
pub trait NodeKind: Send + Sync {
    /// The manifest `"type"` string.
    fn name(&self) -> &'static str;
    /// One-line description (used in the schema and `--help`).
    fn description(&self) -> &'static str;
    /// Maximum number of incoming connections (`None` = unlimited).
    fn max_inputs(&self) -> Option<usize>;
    /// Whether nodes of this type are the pipeline's results (like
    /// `Output`). If a manifest has no such node, its sinks are the results.
    fn is_result(&self) -> bool {
        false
    }
    /// Whether nodes of this type may emit any number of values per input,
    /// or values at the end of the input ([`Node::process_into`],
    /// [`Node::finish`]). Such a node must not feed (directly or through
    /// other nodes) a node with more than one incoming connection: the
    /// values of different branches would not line up. Default false.
    fn emits_many(&self) -> bool {
        false
    }
    /// The files named in `params` (valid params: checked by
    /// [`check_params`](NodeKind::check_params) first), in a fixed order.
    /// Used by `validate --json` so that a packer can check a bundle.
    /// Default: none.
    fn files(&self, _params: &Json) -> Vec<FileParam> {
        Vec::new()
    }
    /// JSON Schema of the `params` object.
    fn params_schema(&self, generator: &mut SchemaGenerator) -> Schema;
    /// Check `params` without side effects (no file access, no Python).
    fn check_params(&self, params: &Json) -> Result<(), ParamError>;
    /// Build a node instance. Errors here are node failures (exit 3): they
    /// may come from the environment (missing file, Python import error).
    fn build(&self, ctx: &NodeContext, params: &Json) -> Result<Box<dyn Node>, String>;
}

/// Typed parameters of a node: serde for parsing, schemars for the schema,
/// plus semantic checks that serde cannot express.
pub trait NodeParams: DeserializeOwned + JsonSchema {
    fn check(&self) -> Result<(), ParamError> {
        Ok(())
    }
    /// The files these params name ([`NodeKind::files`]); default none.
    fn files(&self) -> Vec<FileParam> {
        Vec::new()
    }
}

/// Parse `params` (null means `{}`) into typed parameters, with the path of
/// the offending field in the error.
pub fn parse_params<P: NodeParams>(params: &Json) -> Result<P, ParamError> {
    let empty = Json::Object(Default::default());
    let params = if params.is_null() { &empty } else { params };
    let parsed: P = serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ParamError::new(path, e.into_inner().to_string())
    })?;
    parsed.check()?;
    Ok(parsed)
}

type BuildFn<P> = fn(&NodeContext, P) -> Result<Box<dyn Node>, String>;

/// A [`NodeKind`] made from a params type and a build function.
pub struct TypedKind<P> {
    pub name: &'static str,
    pub description: &'static str,
    pub max_inputs: Option<usize>,
    pub build: BuildFn<P>,
    /// See [`NodeKind::is_result`]; false unless set with
    /// [`TypedKind::with_result`].
    pub result: bool,
    /// See [`NodeKind::emits_many`]; false unless set with
    /// [`TypedKind::with_emits_many`].
    pub emits_many: bool,
    _params: PhantomData<fn() -> P>,
}

impl<P: NodeParams> TypedKind<P> {
    pub fn new(
        name: &'static str,
        description: &'static str,
        max_inputs: Option<usize>,
        build: BuildFn<P>,
    ) -> Self {
        TypedKind {
            name,
            description,
            max_inputs,
            build,
            result: false,
            emits_many: false,
            _params: PhantomData,
        }
    }

    /// Set whether nodes of this type are results ([`NodeKind::is_result`]).
    pub fn with_result(mut self, result: bool) -> Self {
        self.result = result;
        self
    }

    /// Set whether nodes of this type may emit any number of values per
    /// input or at the end ([`NodeKind::emits_many`]).
    pub fn with_emits_many(mut self, emits_many: bool) -> Self {
        self.emits_many = emits_many;
        self
    }
}

impl<P: NodeParams> NodeKind for TypedKind<P> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn max_inputs(&self) -> Option<usize> {
        self.max_inputs
    }
    fn is_result(&self) -> bool {
        self.result
    }
    fn emits_many(&self) -> bool {
        self.emits_many
    }
    fn files(&self, params: &Json) -> Vec<FileParam> {
        parse_params::<P>(params)
            .map(|p| p.files())
            .unwrap_or_default()
    }
    fn params_schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<P>()
    }
    fn check_params(&self, params: &Json) -> Result<(), ParamError> {
        parse_params::<P>(params).map(|_| ())
    }
    fn build(&self, ctx: &NodeContext, params: &Json) -> Result<Box<dyn Node>, String> {
        let p = parse_params::<P>(params).map_err(|e| {
            if e.path.is_empty() {
                format!("params: {}", e.message)
            } else {
                format!("params.{}: {}", e.path, e.message)
            }
        })?;
        (self.build)(ctx, p)
    }
}

/// Node types by name. Sorted, so schema output is deterministic.
pub struct Registry {
    kinds: BTreeMap<&'static str, Box<dyn NodeKind>>,
    /// Node type -> the cargo feature it needs (see
    /// [`Registry::register_feature_gated`]).
    feature_gated: BTreeMap<&'static str, &'static str>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry {
            kinds: BTreeMap::new(),
            feature_gated: BTreeMap::new(),
        }
    }

    /// Add (or replace) a node type.
    pub fn register(&mut self, kind: Box<dyn NodeKind>) {
        self.kinds.insert(kind.name(), kind);
    }

    /// Record that node type `name` exists only with cargo feature
    /// `feature`: while no such type is registered, the error for it says
    /// why it is missing instead of "unknown node type".
    pub fn register_feature_gated(&mut self, name: &'static str, feature: &'static str) {
        self.feature_gated.insert(name, feature);
    }

    pub fn get(&self, name: &str) -> Option<&dyn NodeKind> {
        self.kinds.get(name).map(|k| k.as_ref())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    pub fn kinds(&self) -> impl Iterator<Item = &dyn NodeKind> + '_ {
        self.kinds.values().map(|k| k.as_ref())
    }

    /// Message for an unknown node type: a suggestion when one is close,
    /// the missing feature when the type is feature-gated.
    pub fn unknown_type_message(&self, name: &str) -> String {
        if let (Some(feature), None) = (self.feature_gated.get(name), self.get(name)) {
            return format!(
                "node type '{name}' is not available in this build (cargo feature '{feature}' is off)"
            );
        }
        let best = self
            .names()
            .map(|n| {
                (
                    edit_distance(&n.to_ascii_lowercase(), &name.to_ascii_lowercase()),
                    n,
                )
            })
            .min();
        match best {
            Some((d, n)) if d <= 2 || n.eq_ignore_ascii_case(name) => {
                format!("unknown node type '{name}' (did you mean '{n}'?)")
            }
            _ => format!("unknown node type '{name}'"),
        }
    }
}

/// Levenshtein distance over chars, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("multiply", "multply"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct NoParams {}
    impl NodeParams for NoParams {}

    struct Nothing;
    impl Node for Nothing {
        fn process(&mut self, _: Vec<Value>) -> Result<Option<Value>, String> {
            Ok(None)
        }
    }

    fn kind(name: &'static str) -> Box<dyn NodeKind> {
        Box::new(TypedKind::<NoParams>::new(name, "test", None, |_, _| {
            Ok(Box::new(Nothing))
        }))
    }

    #[test]
    fn unknown_type_suggests() {
        let mut r = Registry::empty();
        r.register(kind("Multiply"));
        r.register(kind("Add"));
        assert_eq!(
            r.unknown_type_message("Multply"),
            "unknown node type 'Multply' (did you mean 'Multiply'?)"
        );
        assert_eq!(r.unknown_type_message("Zebra"), "unknown node type 'Zebra'");
        assert_eq!(
            r.unknown_type_message("multiply"),
            "unknown node type 'multiply' (did you mean 'Multiply'?)"
        );
    }

    #[test]
    fn feature_gated_types_name_their_feature_until_registered() {
        let mut r = Registry::empty();
        assert_eq!(r.unknown_type_message("Fft"), "unknown node type 'Fft'");
        r.register_feature_gated("Fft", "fft");
        assert_eq!(
            r.unknown_type_message("Fft"),
            "node type 'Fft' is not available in this build (cargo feature 'fft' is off)"
        );
        r.register(kind("Fft"));
        assert!(r.get("Fft").is_some());
        assert!(!r.unknown_type_message("Fft").contains("not available"));
    }
}
