//! The generated JSON Schema agrees with the parser: examples validate,
//! structurally bad manifests from the corpus are rejected by both.

use std::path::PathBuf;

use pipeline_runtime::schema::manifest_schema;
use pipeline_runtime::{Manifest, Registry};
use serde_json::{json, Value as Json};

fn validator() -> jsonschema::Validator {
    let schema = manifest_schema(&Registry::with_builtins());
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: PathBuf) -> Json {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn examples_validate_against_schema_and_parser() {
    let v = validator();
    let dir = root().join("examples/manifests");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let doc = load(path.clone());
        if cfg!(not(feature = "python")) && doc.to_string().contains("\"Python\"") {
            continue;
        }
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        Manifest::from_json(&doc, &Registry::with_builtins()).unwrap();
        count += 1;
    }
    assert!(count >= 4);
}

#[test]
fn schema_lists_every_node_type() {
    let schema = manifest_schema(&Registry::with_builtins());
    let names = &schema["$defs"]["NodeSpec"]["properties"]["type"]["enum"];
    let reg = Registry::with_builtins();
    let expected: Vec<&str> = reg.names().collect();
    assert_eq!(names, &json!(expected));
    assert_eq!(expected.contains(&"Python"), cfg!(feature = "python"));
}

/// Corpus cases whose problem is structural (so a JSON Schema can see it).
const SCHEMA_VISIBLE: &[&str] = &[
    "top_level_array",
    "missing_version",
    "wrong_version",
    "version_string",
    "nodes_not_array",
    "empty_nodes",
    "node_missing_id",
    "node_missing_type",
    "node_id_number",
    "node_id_bad_chars",
    "node_not_object",
    "unknown_node_type",
    "unknown_node_type_far",
    "unknown_top_field",
    "misspelt_top_field",
    "unknown_node_field",
    "params_not_object",
    "param_wrong_type",
    "param_unknown",
    "param_missing",
    "param_out_of_range",
    "param_negative_rate",
    "param_bad_method",
    "connection_not_object",
    "connection_missing_to",
    "inputs_not_array",
];

/// Graph-level problems: valid by the schema, rejected by the parser.
const GRAPH_ONLY: &[&str] = &[
    "duplicate_id",
    "dangling_from",
    "dangling_to",
    "self_loop",
    "cycle",
    "duplicate_connection",
    "too_many_inputs",
    "audio_window_fan_in",
    "audio_window_fan_in_further_down",
];

#[test]
fn schema_and_parser_agree_on_the_corpus() {
    let v = validator();
    let dir = root().join("tests/bad_manifests");
    for name in SCHEMA_VISIBLE {
        let doc = load(dir.join(format!("{name}.json")));
        assert!(!v.is_valid(&doc), "schema accepts {name}");
    }
    for name in GRAPH_ONLY {
        let doc = load(dir.join(format!("{name}.json")));
        assert!(
            v.is_valid(&doc),
            "schema rejects {name}: {:?}",
            v.iter_errors(&doc)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );
        assert!(Manifest::from_json(&doc, &Registry::with_builtins()).is_err());
    }
}

#[test]
fn schema_checks_params_per_node_type() {
    let v = validator();
    let m = |node: Json| json!({"version": 1, "nodes": [node]});
    assert!(v.is_valid(&m(
        json!({"id": "r", "type": "Resample", "params": {"target_rate": 16000, "method": "linear"}})
    )));
    assert!(!v.is_valid(&m(
        json!({"id": "r", "type": "Resample", "params": {"target_rate": 16000, "method": "cubic"}})
    )));
    assert!(!v.is_valid(&m(
        json!({"id": "m", "type": "Multiply", "params": {"factor": 2, "extra": 1}})
    )));
    if cfg!(feature = "python") {
        let py = |params: Json| m(json!({"id": "p", "type": "Python", "params": params}));
        assert!(v.is_valid(&py(json!({"class": "C", "source": "class C: pass"}))));
        assert!(!v.is_valid(&py(json!({"class": "C"}))));
        assert!(!v.is_valid(&py(
            json!({"class": "C", "source": "x", "module_path": "y"})
        )));
        for name in ["python_two_sources", "python_no_class"] {
            let doc = load(root().join(format!("tests/bad_manifests/{name}.json")));
            assert!(!v.is_valid(&doc), "schema accepts {name}");
        }
    }
    // Params of one type are not accepted for another.
    assert!(!v.is_valid(&m(
        json!({"id": "a", "type": "Add", "params": {"factor": 2}})
    )));
}

#[test]
fn schema_output_is_deterministic() {
    let a = pipeline_runtime::schema::manifest_schema_pretty(&Registry::with_builtins());
    let b = pipeline_runtime::schema::manifest_schema_pretty(&Registry::with_builtins());
    assert_eq!(a, b);
}
