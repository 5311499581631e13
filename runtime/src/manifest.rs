//! Manifest: parsing and validation.
//!
//! Parsing is done by hand on a `serde_json::Value` rather than by serde
//! derive, so that every error names the exact path of the bad field
//! (`nodes[1].params.factor`) and says what was expected. Node `params` are
//! parsed by the node type's own typed params (serde + path tracking).
//! The Rust types below also generate the JSON Schema (see [`crate::schema`]).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::value::{describe_json, path_index, path_key, Value};

/// The only manifest format version this runtime understands.
pub const MANIFEST_VERSION: u64 = 1;

const TOP_FIELDS: [&str; 6] = [
    "version",
    "name",
    "description",
    "nodes",
    "connections",
    "inputs",
];
const NODE_FIELDS: [&str; 3] = ["id", "type", "params"];
const CONNECTION_FIELDS: [&str; 2] = ["from", "to"];

/// A pipeline manifest (format version 1).
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "Pipeline manifest", deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version. Must be 1.
    #[schemars(extend("const" = 1))]
    pub version: u64,
    /// Optional human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub name: Option<String>,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub description: Option<String>,
    /// The nodes, at least one. Ids are unique.
    #[schemars(length(min = 1))]
    pub nodes: Vec<NodeSpec>,
    /// Directed connections; together with the nodes they must form a DAG.
    /// A node with several incoming connections receives their values in the
    /// order the connections are listed here.
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// Optional input items (each item is streamed through the graph in
    /// order). The CLI's `--input` replaces them. Values use the runtime's
    /// JSON value encoding (`$f64`, `$audio`, `$map`).
    // Kept as raw JSON: a non-array is an inputs error (exit 4), reported
    // when the inputs are used, not a manifest error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<Json>")]
    pub inputs: Option<Json>,
}

/// One node of the graph.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique id: 1-64 characters among letters, digits, '_', '-', '.'.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,64}$"))]
    pub id: String,
    /// Node type (see the node reference).
    #[serde(rename = "type")]
    pub node_type: String,
    /// Parameters of the node type (an object; may be omitted).
    #[serde(default)]
    pub params: serde_json::Map<String, Json>,
}

/// A connection from one node's output to another node's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Connection {
    /// Id of the producing node.
    pub from: String,
    /// Id of the consuming node.
    pub to: String,
}

/// The validated graph: execution order and incoming edges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Node indices (into `Manifest::nodes`) in execution order: a
    /// topological order, ties broken by declaration order (deterministic).
    pub order: Vec<usize>,
    /// For each node, its predecessors in connection order.
    pub preds: Vec<Vec<usize>>,
}

fn err(path: &str, msg: impl std::fmt::Display) -> Error {
    if path.is_empty() {
        Error::manifest(format!("invalid manifest: {msg}"))
    } else {
        Error::manifest(format!("invalid manifest: {path}: {msg}"))
    }
}

fn check_fields(obj: &serde_json::Map<String, Json>, allowed: &[&str], path: &str) -> Result<()> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            let close = allowed
                .iter()
                .find(|a| similar(a, key))
                .map(|a| format!("did you mean '{a}'? "))
                .unwrap_or_default();
            return Err(err(
                &path_key(path, key),
                format!(
                    "unknown field ({close}expected one of: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Cheap typo check: same length +-1 and at most 2 differing positions, or a prefix.
fn similar(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a.len().abs_diff(b.len()) > 2 || b.is_empty() {
        return false;
    }
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let common_end = a
        .chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .count();
    common + common_end + 2 >= a.len().max(b.len())
}

fn get_string(
    obj: &serde_json::Map<String, Json>,
    key: &str,
    path: &str,
    required: bool,
) -> Result<Option<String>> {
    match obj.get(key) {
        None if required => Err(err(path, format!("missing field '{key}'"))),
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(err(
            &path_key(path, key),
            format!("expected a string, got {}", describe_json(other)),
        )),
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Manifest {
    /// Parse manifest text and validate it fully (structure, node types,
    /// params, graph). Errors have kind `Manifest` (exit code 2). The
    /// `inputs` field is only checked to be present-or-absent here; see
    /// [`Manifest::input_values`].
    pub fn parse(text: &str, registry: &Registry) -> Result<Manifest> {
        let json: Json =
            serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))?;
        Manifest::from_json(&json, registry)
    }

    /// Validate an already-parsed JSON document.
    pub fn from_json(json: &Json, registry: &Registry) -> Result<Manifest> {
        let m = Manifest::structure_from_json(json)?;
        m.plan(registry)?;
        Ok(m)
    }

    /// Structural parsing only (no registry: node types are not checked).
    fn structure_from_json(json: &Json) -> Result<Manifest> {
        let Json::Object(top) = json else {
            return Err(err(
                "",
                format!(
                    "expected a JSON object at the top level, got {}",
                    describe_json(json)
                ),
            ));
        };
        check_fields(top, &TOP_FIELDS, "")?;

        let version = match top.get("version") {
            None => {
                return Err(err(
                    "",
                    "missing field 'version' (this runtime reads version 1)",
                ))
            }
            Some(v) => match v.as_u64() {
                Some(MANIFEST_VERSION) => MANIFEST_VERSION,
                _ => {
                    return Err(err(
                        "version",
                        format!("unsupported manifest version {v} (this runtime reads version 1)"),
                    ))
                }
            },
        };
        let name = get_string(top, "name", "", false)?;
        let description = get_string(top, "description", "", false)?;

        let nodes_json = match top.get("nodes") {
            None => return Err(err("", "missing field 'nodes'")),
            Some(Json::Array(a)) => a,
            Some(other) => {
                return Err(err(
                    "nodes",
                    format!("expected an array of nodes, got {}", describe_json(other)),
                ))
            }
        };
        if nodes_json.is_empty() {
            return Err(err("nodes", "a pipeline needs at least one node"));
        }
        let mut nodes = Vec::with_capacity(nodes_json.len());
        for (i, n) in nodes_json.iter().enumerate() {
            let path = path_index("nodes", i);
            let Json::Object(obj) = n else {
                return Err(err(
                    &path,
                    format!("expected a node object, got {}", describe_json(n)),
                ));
            };
            check_fields(obj, &NODE_FIELDS, &path)?;
            let id = get_string(obj, "id", &path, true)?.unwrap_or_default();
            if !valid_id(&id) {
                return Err(err(
                    &path_key(&path, "id"),
                    format!(
                        "invalid node id {} (use 1-64 letters, digits, '_', '-' or '.')",
                        Json::String(id)
                    ),
                ));
            }
            let node_type = get_string(obj, "type", &path, true)?.unwrap_or_default();
            let params = match obj.get("params") {
                None => serde_json::Map::new(),
                Some(Json::Object(p)) => p.clone(),
                Some(other) => {
                    return Err(err(
                        &path_key(&path, "params"),
                        format!("expected an object, got {}", describe_json(other)),
                    ))
                }
            };
            nodes.push(NodeSpec {
                id,
                node_type,
                params,
            });
        }

        let mut connections = Vec::new();
        match top.get("connections") {
            None => {}
            Some(Json::Array(a)) => {
                for (i, c) in a.iter().enumerate() {
                    let path = path_index("connections", i);
                    let Json::Object(obj) = c else {
                        return Err(err(
                            &path,
                            format!("expected an object like {{\"from\": \"a\", \"to\": \"b\"}}, got {}", describe_json(c)),
                        ));
                    };
                    check_fields(obj, &CONNECTION_FIELDS, &path)?;
                    let from = get_string(obj, "from", &path, true)?.unwrap_or_default();
                    let to = get_string(obj, "to", &path, true)?.unwrap_or_default();
                    connections.push(Connection { from, to });
                }
            }
            Some(other) => {
                return Err(err(
                    "connections",
                    format!(
                        "expected an array of connections, got {}",
                        describe_json(other)
                    ),
                ))
            }
        }

        let inputs = top.get("inputs").cloned();

        Ok(Manifest {
            version,
            name,
            description,
            nodes,
            connections,
            inputs,
        })
    }

    /// Check node types, params and the graph; return the execution plan.
    pub fn plan(&self, registry: &Registry) -> Result<Plan> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let path = path_index("nodes", i);
            if let Some(first) = index.insert(n.id.as_str(), i) {
                return Err(err(
                    &path_key(&path, "id"),
                    format!(
                        "duplicate node id '{}' (already used by nodes[{first}])",
                        n.id
                    ),
                ));
            }
            let Some(kind) = registry.get(&n.node_type) else {
                return Err(err(
                    &path_key(&path, "type"),
                    registry.unknown_type_message(&n.node_type),
                ));
            };
            kind.check_params(&Json::Object(n.params.clone()))
                .map_err(|e| {
                    let p = path_key(&path, "params");
                    let p = if e.path.is_empty() {
                        p
                    } else {
                        format!("{p}.{}", e.path)
                    };
                    err(&p, e.message)
                })?;
        }

        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        let mut succs: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
        for (ci, c) in self.connections.iter().enumerate() {
            let path = path_index("connections", ci);
            let lookup = |field: &str, id: &str| {
                index
                    .get(id)
                    .copied()
                    .ok_or_else(|| err(&path_key(&path, field), format!("unknown node id '{id}'")))
            };
            let from = lookup("from", &c.from)?;
            let to = lookup("to", &c.to)?;
            if from == to {
                return Err(err(
                    &path,
                    format!("node '{}' is connected to itself (cycle)", c.from),
                ));
            }
            if let Some(first) = seen.insert((from, to), ci) {
                return Err(err(
                    &path,
                    format!(
                        "duplicate connection '{}' -> '{}' (same as connections[{first}])",
                        c.from, c.to
                    ),
                ));
            }
            preds[to].push(from);
            succs[from].push(to);
        }

        for (i, n) in self.nodes.iter().enumerate() {
            // Types were checked above.
            let max = registry.get(&n.node_type).and_then(|k| k.max_inputs());
            if let Some(max) = max {
                if preds[i].len() > max {
                    return Err(err(
                        &path_index("nodes", i),
                        format!(
                            "node '{}' ({}) accepts at most {max} input connection{}, but {} lead to it",
                            n.id,
                            n.node_type,
                            if max == 1 { "" } else { "s" },
                            preds[i].len()
                        ),
                    ));
                }
            }
        }

        // Kahn's algorithm, always taking the lowest-index ready node, so the
        // order depends only on the manifest.
        let mut indeg: Vec<usize> = preds.iter().map(|p| p.len()).collect();
        let mut ready: std::collections::BTreeSet<usize> =
            (0..self.nodes.len()).filter(|&i| indeg[i] == 0).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &s in &succs[i] {
                indeg[s] -= 1;
                if indeg[s] == 0 {
                    ready.insert(s);
                }
            }
        }
        if order.len() < self.nodes.len() {
            return Err(err(
                "connections",
                format!("cycle detected: {}", self.describe_cycle(&indeg, &preds)),
            ));
        }
        self.check_many_before_fan_in(registry, &order, &preds)?;
        Ok(Plan { order, preds })
    }

    /// A node that may emit any number of values per input (or at the end,
    /// [`NodeKind::emits_many`](crate::registry::NodeKind::emits_many)) must
    /// not feed, directly or through other nodes, a node with several
    /// incoming connections: its values would not line up with those of the
    /// other branches. Reports the first such fan-in node (declaration
    /// order) and the first such node upstream of it.
    fn check_many_before_fan_in(
        &self,
        registry: &Registry,
        order: &[usize],
        preds: &[Vec<usize>],
    ) -> Result<()> {
        let many: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| registry.get(&n.node_type).is_some_and(|k| k.emits_many()))
            .collect();
        // upstream[i]: the first-declared such node strictly upstream of i.
        let mut upstream: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for &i in order {
            upstream[i] = preds[i]
                .iter()
                .filter_map(|&p| {
                    let own = many[p].then_some(p);
                    match (own, upstream[p]) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                })
                .min();
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let (true, Some(m)) = (preds[i].len() > 1, upstream[i]) {
                let src = &self.nodes[m];
                return Err(err(
                    &path_index("nodes", i),
                    format!(
                        "node '{}' ({}) has {} input connections, but node '{}' ({}) upstream of it may emit \
                         any number of values per item, which would not line up with its other inputs: \
                         nodes downstream of '{}' may have only one input connection",
                        n.id,
                        n.node_type,
                        preds[i].len(),
                        src.id,
                        src.node_type,
                        src.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Find one cycle among nodes left with in-degree > 0. Each such node has
    /// a predecessor that is also left, so walking predecessors must repeat.
    fn describe_cycle(&self, indeg: &[usize], preds: &[Vec<usize>]) -> String {
        let left = |i: usize| indeg[i] > 0;
        let Some(start) = (0..self.nodes.len()).find(|&i| left(i)) else {
            return "unknown".into();
        };
        let mut walk = vec![start];
        let mut pos: HashMap<usize, usize> = HashMap::from([(start, 0)]);
        let mut cur = start;
        loop {
            let Some(&p) = preds[cur].iter().find(|&&p| left(p)) else {
                return "unknown".into();
            };
            if let Some(&at) = pos.get(&p) {
                // walk[at..] followed backwards is the cycle; print it forwards.
                let mut cycle: Vec<&str> = walk[at..]
                    .iter()
                    .rev()
                    .map(|&i| self.nodes[i].id.as_str())
                    .collect();
                // Start the printed cycle at its first-declared node.
                let min_pos = (0..cycle.len())
                    .min_by_key(|&k| self.nodes.iter().position(|n| n.id == cycle[k]))
                    .unwrap_or(0);
                cycle.rotate_left(min_pos);
                let first = cycle[0];
                cycle.push(first);
                return cycle
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(" -> ");
            }
            pos.insert(p, walk.len());
            walk.push(p);
            cur = p;
        }
    }

    /// The manifest's `inputs` decoded as values (None if absent). Errors
    /// have kind `Inputs` (exit code 4).
    pub fn input_values(&self) -> Result<Option<Vec<Value>>> {
        match &self.inputs {
            None => Ok(None),
            Some(Json::Array(items)) => decode_items(items, "inputs").map(Some),
            Some(other) => Err(Error::inputs(format!(
                "invalid inputs: inputs: expected an array of items, got {}",
                describe_json(other)
            ))),
        }
    }
}

/// Decode a JSON array of input items.
pub fn decode_items(items: &[Json], path: &str) -> Result<Vec<Value>> {
    items
        .iter()
        .enumerate()
        .map(|(i, j)| {
            Value::from_json_item(j, path, i)
                .map_err(|e| Error::inputs(format!("invalid inputs: {e}")))
        })
        .collect()
}

/// Parse an inputs document: a JSON array of items.
pub fn parse_inputs(text: &str) -> Result<Vec<Value>> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| Error::inputs(format!("invalid inputs: not valid JSON: {e}")))?;
    match json {
        Json::Array(items) => decode_items(&items, "inputs"),
        other => Err(Error::inputs(format!(
            "invalid inputs: expected a JSON array of items, got {}",
            describe_json(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(text, &Registry::with_builtins())
    }

    fn msg(text: &str) -> String {
        parse(text).unwrap_err().message().to_string()
    }

    #[test]
    fn minimal_manifest() {
        let m = parse(r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"}]}"#).unwrap();
        assert_eq!(m.nodes[0].id, "a");
        assert!(m.connections.is_empty());
    }

    #[test]
    fn topological_order_is_deterministic() {
        // Declared c, b, a with edges a->b, b->c: must run a, b, c.
        let m = parse(
            r#"{"version":1,"nodes":[{"id":"c","type":"Output"},{"id":"b","type":"PassThrough"},{"id":"a","type":"PassThrough"}],
               "connections":[{"from":"b","to":"c"},{"from":"a","to":"b"}]}"#,
        )
        .unwrap();
        let plan = m.plan(&Registry::with_builtins()).unwrap();
        assert_eq!(plan.order, vec![2, 1, 0]);
        // Independent nodes keep declaration order.
        let m = parse(
            r#"{"version":1,"nodes":[{"id":"x","type":"PassThrough"},{"id":"y","type":"PassThrough"},{"id":"z","type":"Output"}],
               "connections":[{"from":"y","to":"z"},{"from":"x","to":"z"}]}"#,
        )
        .unwrap();
        let plan = m.plan(&Registry::with_builtins()).unwrap();
        assert_eq!(plan.order, vec![0, 1, 2]);
        assert_eq!(
            plan.preds[2],
            vec![1, 0],
            "connection order, not declaration order"
        );
    }

    #[test]
    fn precise_errors() {
        assert_eq!(
            msg("[1]"),
            "invalid manifest: expected a JSON object at the top level, got array"
        );
        assert_eq!(
            msg(r#"{"version":2,"nodes":[]}"#),
            "invalid manifest: version: unsupported manifest version 2 (this runtime reads version 1)"
        );
        assert_eq!(
            msg(r#"{"version":1,"nodes":[{"id":"a","type":"Multiply","params":{"factor":"x"}}]}"#),
            "invalid manifest: nodes[0].params.factor: invalid type: string \"x\", expected a number"
        );
        assert_eq!(
            msg(r#"{"version":1,"nodes":[{"id":"a","type":"Multiply","params":{"fctor":2}}]}"#),
            "invalid manifest: nodes[0].params.fctor: unknown field `fctor`, expected `factor`"
        );
        assert_eq!(
            msg(r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"}],"conections":[]}"#),
            "invalid manifest: conections: unknown field (did you mean 'connections'? expected one of: version, name, description, nodes, connections, inputs)"
        );
        assert_eq!(
            msg(
                r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"},{"id":"a","type":"Output"}]}"#
            ),
            "invalid manifest: nodes[1].id: duplicate node id 'a' (already used by nodes[0])"
        );
        assert_eq!(
            msg(
                r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"}],"connections":[{"from":"a","to":"b"}]}"#
            ),
            "invalid manifest: connections[0].to: unknown node id 'b'"
        );
        assert_eq!(
            msg(r#"{"version":1,"nodes":[{"id":"a b","type":"PassThrough"}]}"#),
            "invalid manifest: nodes[0].id: invalid node id \"a b\" (use 1-64 letters, digits, '_', '-' or '.')"
        );
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let m = msg(
            r#"{"version":1,"nodes":[{"id":"src","type":"PassThrough"},{"id":"a","type":"Add"},{"id":"b","type":"Add"},{"id":"c","type":"Add"},{"id":"sink","type":"Output"}],
               "connections":[{"from":"src","to":"a"},{"from":"a","to":"b"},{"from":"b","to":"c"},{"from":"c","to":"a"},{"from":"c","to":"sink"}]}"#,
        );
        assert_eq!(
            m,
            "invalid manifest: connections: cycle detected: 'a' -> 'b' -> 'c' -> 'a'"
        );
    }

    #[test]
    fn fan_in_limit() {
        let m = msg(
            r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"},{"id":"b","type":"PassThrough"},{"id":"p","type":"PassThrough"}],
               "connections":[{"from":"a","to":"p"},{"from":"b","to":"p"}]}"#,
        );
        assert_eq!(
            m,
            "invalid manifest: nodes[2]: node 'p' (PassThrough) accepts at most 1 input connection, but 2 lead to it"
        );
    }

    #[test]
    fn inputs_errors_are_input_kind() {
        let m =
            parse(r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"}],"inputs":{"x":1}}"#)
                .unwrap();
        let e = m.input_values().unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.message(),
            "invalid inputs: inputs: expected an array of items, got object"
        );
        let e = parse_inputs("[1, {\"$f64\": \"nan\"}]").unwrap_err();
        assert_eq!(
            e.message(),
            "invalid inputs: inputs[1].$f64: expected \"NaN\", \"inf\" or \"-inf\", got string \"nan\""
        );
    }
}
