//! JSON Schema of the manifest, generated from the Rust types in
//! [`crate::manifest`] plus each registered node type's params type.

use schemars::generate::SchemaSettings;
use serde_json::{json, Value as Json};

use crate::manifest::Manifest;
use crate::registry::Registry;

/// The manifest JSON Schema (draft 2020-12) for the node types in `registry`.
///
/// Everything the schema can express is also enforced by the parser; the
/// parser additionally checks the graph (ids referenced by connections,
/// duplicates, cycles, fan-in limits) and value encodings in `inputs`.
pub fn manifest_schema(registry: &Registry) -> Json {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let root = generator.root_schema_for::<Manifest>();
    let mut rules = Vec::new();
    let mut names = Vec::new();
    for kind in registry.kinds() {
        let params = kind.params_schema(&mut generator);
        names.push(kind.name());
        let mut then = json!({
            "description": kind.description(),
            "properties": {"params": params}
        });
        // An omitted `params` means `{}`: if that is not valid for this type
        // (it has required fields), the schema must require `params`.
        if kind.check_params(&json!({})).is_err() {
            then["required"] = json!(["params"]);
        }
        rules.push(json!({
            "if": {"properties": {"type": {"const": kind.name()}}, "required": ["type"]},
            "then": then
        }));
    }
    let mut root = root.to_value();
    let extra_defs = generator.take_definitions(true);
    if let Some(obj) = root.as_object_mut() {
        let defs = obj.entry("$defs").or_insert_with(|| json!({}));
        if let Some(defs) = defs.as_object_mut() {
            for (k, v) in extra_defs {
                defs.entry(k).or_insert(v);
            }
            if let Some(node) = defs.get_mut("NodeSpec").and_then(Json::as_object_mut) {
                if let Some(t) = node.get_mut("properties").and_then(|p| p.get_mut("type")) {
                    t["enum"] = json!(names);
                }
                node.insert("allOf".into(), Json::Array(rules));
            }
        }
    }
    root
}

/// The schema as pretty JSON text with a trailing newline.
pub fn manifest_schema_pretty(registry: &Registry) -> String {
    let mut s = serde_json::to_string_pretty(&manifest_schema(registry)).unwrap_or_default();
    s.push('\n');
    s
}
