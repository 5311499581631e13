//! Synchronous executor: builds node instances from a validated manifest and
//! streams items through the DAG.
//!
//! For each item, nodes run in the plan's topological order (ties broken by
//! declaration order). A source node (no incoming connection) receives the
//! item; other nodes receive their predecessors' values for the same item.
//! If a node drops the item (returns nothing), every node downstream of it is
//! skipped for that item. Items are processed strictly one after another, so
//! stateful nodes (e.g. Python classes) see them in input order.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::manifest::{Manifest, Plan};
use crate::registry::{Node, NodeContext, Registry};
use crate::value::Value;

struct Slot {
    id: String,
    node_type: String,
    /// Its kind's [`NodeKind::is_result`](crate::registry::NodeKind::is_result).
    is_result: bool,
    node: Box<dyn Node>,
}

/// A ready-to-run pipeline.
pub struct Pipeline {
    slots: Vec<Slot>,
    plan: Plan,
    /// Number of outgoing connections per node (to move instead of clone
    /// the value into its last consumer).
    fan_out: Vec<usize>,
    /// Result nodes, in declaration order: the nodes whose kind is a result
    /// (Output), or if there are none, every sink (node without outgoing
    /// connections).
    results: Vec<usize>,
}

/// Results of a run: for every result node, the values it produced, in item
/// order (dropped items are absent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOutput {
    pub outputs: IndexMap<String, Vec<Value>>,
}

impl RunOutput {
    /// `{"outputs": {"<node id>": [values...], ...}}`
    pub fn to_json(&self) -> Json {
        let mut outputs = serde_json::Map::new();
        for (id, values) in &self.outputs {
            outputs.insert(
                id.clone(),
                Json::Array(values.iter().map(Value::to_json).collect()),
            );
        }
        let mut top = serde_json::Map::new();
        top.insert("outputs".into(), Json::Object(outputs));
        Json::Object(top)
    }

    /// Pretty JSON text with a trailing newline (the CLI's stdout format).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        s.push('\n');
        s
    }
}

impl Pipeline {
    /// Validate `manifest` and build its nodes. `base_dir` is where relative
    /// file paths in params are resolved (the manifest's directory; None for
    /// the working directory). Node construction failures (e.g. a Python
    /// import error) are `Node` errors (exit 3).
    pub fn new(
        manifest: &Manifest,
        registry: &Registry,
        base_dir: Option<PathBuf>,
    ) -> Result<Pipeline> {
        let plan = manifest.plan(registry)?;
        let mut slots = Vec::with_capacity(manifest.nodes.len());
        for spec in &manifest.nodes {
            let kind = registry
                .get(&spec.node_type)
                .ok_or_else(|| Error::manifest(registry.unknown_type_message(&spec.node_type)))?;
            let ctx = NodeContext {
                id: spec.id.clone(),
                base_dir: base_dir.clone(),
            };
            let node = kind
                .build(&ctx, &Json::Object(spec.params.clone()))
                .map_err(|e| {
                    Error::node(format!(
                        "node '{}' ({}) failed to initialise: {e}",
                        spec.id, spec.node_type
                    ))
                })?;
            slots.push(Slot {
                id: spec.id.clone(),
                node_type: spec.node_type.clone(),
                is_result: kind.is_result(),
                node,
            });
        }
        let mut fan_out = vec![0usize; slots.len()];
        for preds in &plan.preds {
            for &p in preds {
                fan_out[p] += 1;
            }
        }
        let outputs: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].is_result).collect();
        let results = if outputs.is_empty() {
            (0..slots.len()).filter(|&i| fan_out[i] == 0).collect()
        } else {
            outputs
        };
        Ok(Pipeline {
            slots,
            plan,
            fan_out,
            results,
        })
    }

    /// Ids of the result nodes, in output order.
    pub fn result_ids(&self) -> Vec<&str> {
        self.results
            .iter()
            .map(|&i| self.slots[i].id.as_str())
            .collect()
    }

    /// Push one item through the graph. Returns one entry per result node
    /// (`None` where the item was dropped). `index` is only used in error
    /// messages.
    pub fn process_item(&mut self, index: usize, item: Value) -> Result<Vec<Option<Value>>> {
        let n = self.slots.len();
        let mut values: Vec<Option<Value>> = vec![None; n];
        let mut remaining = self.fan_out.clone();
        let mut produced = vec![false; n];
        let mut kept: Vec<Option<Value>> = vec![None; n];
        for &i in &self.plan.order {
            let preds = &self.plan.preds[i];
            let inputs = if preds.is_empty() {
                vec![item.clone()]
            } else {
                if !preds.iter().all(|&p| produced[p]) {
                    continue; // an upstream node dropped this item
                }
                let mut inputs = Vec::with_capacity(preds.len());
                for &p in preds {
                    remaining[p] -= 1;
                    let v = if remaining[p] == 0 {
                        values[p].take()
                    } else {
                        values[p].clone()
                    };
                    inputs.push(v.unwrap_or(Value::Null));
                }
                inputs
            };
            let slot = &mut self.slots[i];
            let out = slot.node.process(inputs).map_err(|e| {
                Error::node(format!(
                    "node '{}' ({}) failed on item {index}: {e}",
                    slot.id, slot.node_type
                ))
            })?;
            if let Some(v) = out {
                produced[i] = true;
                if self.results.contains(&i) {
                    kept[i] = Some(v.clone());
                }
                values[i] = Some(v);
            }
        }
        Ok(self.results.iter().map(|&i| kept[i].take()).collect())
    }

    /// Run all items in order and collect the results.
    pub fn run(&mut self, items: Vec<Value>) -> Result<RunOutput> {
        let mut out = RunOutput::default();
        for id in self.result_ids() {
            out.outputs.insert(id.to_string(), Vec::new());
        }
        for (index, item) in items.into_iter().enumerate() {
            let results = self.process_item(index, item)?;
            for (slot, v) in out.outputs.values_mut().zip(results) {
                if let Some(v) = v {
                    slot.push(v);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(text: &str) -> Pipeline {
        let reg = Registry::with_builtins();
        let m = Manifest::parse(text, &reg).unwrap();
        Pipeline::new(&m, &reg, None).unwrap()
    }

    #[test]
    fn chain_multiply_add() {
        let mut p = pipeline(
            r#"{"version":1,"nodes":[{"id":"m","type":"Multiply","params":{"factor":2}},{"id":"a","type":"Add","params":{"value":1}},{"id":"out","type":"Output"}],
               "connections":[{"from":"m","to":"a"},{"from":"a","to":"out"}]}"#,
        );
        let out = p
            .run(vec![Value::Int(3), Value::Int(-4), Value::Float(0.5)])
            .unwrap();
        // 2*3+1 = 7, 2*(-4)+1 = -7, 2*0.5+1 = 2.0
        assert_eq!(
            out.outputs["out"],
            vec![Value::Int(7), Value::Int(-7), Value::Float(2.0)]
        );
    }

    #[test]
    fn fan_out_fan_in() {
        // x -> (x*2, x+10) -> sum = 3x + 10; also each branch is a sink but
        // with an Output present only Output nodes are results.
        let mut p = pipeline(
            r#"{"version":1,"nodes":[{"id":"in","type":"PassThrough"},{"id":"double","type":"Multiply","params":{"factor":2}},
               {"id":"plus10","type":"Add","params":{"value":10}},{"id":"sum","type":"Add"},{"id":"out","type":"Output"}],
               "connections":[{"from":"in","to":"double"},{"from":"in","to":"plus10"},{"from":"double","to":"sum"},{"from":"plus10","to":"sum"},{"from":"sum","to":"out"}]}"#,
        );
        let out = p.run(vec![Value::Int(1), Value::Int(5)]).unwrap();
        assert_eq!(out.outputs["out"], vec![Value::Int(13), Value::Int(25)]);
        assert_eq!(out.outputs.len(), 1);
    }

    #[test]
    fn sinks_are_results_without_output_nodes() {
        let mut p = pipeline(
            r#"{"version":1,"nodes":[{"id":"a","type":"Multiply","params":{"factor":3}},{"id":"b","type":"Add","params":{"value":1}},{"id":"c","type":"PassThrough"}],
               "connections":[{"from":"a","to":"b"},{"from":"a","to":"c"}]}"#,
        );
        let out = p.run(vec![Value::Int(2)]).unwrap();
        assert_eq!(out.result_ids_for_test(), vec!["b", "c"]);
        assert_eq!(out.outputs["b"], vec![Value::Int(7)]);
        assert_eq!(out.outputs["c"], vec![Value::Int(6)]);
    }

    #[test]
    fn result_nodes_are_those_whose_kind_says_so() {
        use crate::nodes::basic::NoParams;
        use crate::registry::TypedKind;

        struct Keep;
        impl Node for Keep {
            fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
                Ok(inputs.pop())
            }
        }
        let mut reg = Registry::with_builtins();
        reg.register(Box::new(
            TypedKind::<NoParams>::new("Tap", "test", Some(1), |_, _| Ok(Box::new(Keep)))
                .with_result(true),
        ));
        // The Tap in the middle is a result, the sink `b` is not; Output too.
        let m = Manifest::parse(
            r#"{"version":1,"nodes":[{"id":"a","type":"Multiply","params":{"factor":3}},{"id":"t","type":"Tap"},
               {"id":"b","type":"Add","params":{"value":1}},{"id":"o","type":"Output"}],
               "connections":[{"from":"a","to":"t"},{"from":"t","to":"b"},{"from":"a","to":"o"}]}"#,
            &reg,
        )
        .unwrap();
        let mut p = Pipeline::new(&m, &reg, None).unwrap();
        assert_eq!(p.result_ids(), vec!["t", "o"]);
        let out = p.run(vec![Value::Int(2)]).unwrap();
        assert_eq!(out.outputs["t"], vec![Value::Int(6)]);
        assert_eq!(out.outputs["o"], vec![Value::Int(6)]);
    }

    #[test]
    fn output_with_two_inputs_gives_a_list() {
        let mut p = pipeline(
            r#"{"version":1,"nodes":[{"id":"a","type":"Multiply","params":{"factor":2}},{"id":"b","type":"Add","params":{"value":0.5}},{"id":"out","type":"Output"}],
               "connections":[{"from":"b","to":"out"},{"from":"a","to":"out"}]}"#,
        );
        let out = p.run(vec![Value::Int(4)]).unwrap();
        assert_eq!(
            out.outputs["out"],
            vec![Value::List(vec![Value::Float(4.5), Value::Int(8)])]
        );
    }

    #[test]
    fn node_errors_name_node_and_item() {
        let mut p = pipeline(
            r#"{"version":1,"nodes":[{"id":"m","type":"Multiply","params":{"factor":2}}]}"#,
        );
        let e = p
            .run(vec![Value::Int(1), Value::Str("x".into())])
            .unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message(),
            "node 'm' (Multiply) failed on item 1: Multiply expects numbers or audio, got string"
        );
    }

    impl RunOutput {
        fn result_ids_for_test(&self) -> Vec<&str> {
            self.outputs.keys().map(|s| s.as_str()).collect()
        }
    }
}
