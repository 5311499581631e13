//! Synchronous executor: builds node instances from a validated manifest and
//! streams items through the DAG.
//!
//! For each item, nodes run in the plan's topological order (ties broken by
//! declaration order): one *wave*. A source node (no incoming connection)
//! receives the item; other nodes receive their predecessors' values of the
//! same wave. If a node drops the item (emits nothing), every node
//! downstream of it is skipped in that wave. Items are processed strictly
//! one after another, so stateful nodes (e.g. Python classes) see them in
//! input order.
//!
//! A node whose kind [`emits_many`](crate::registry::NodeKind::emits_many)
//! may emit several values for one input: each of them then flows through
//! the nodes downstream of it as a wave of its own, in order and at once
//! (depth first: everything downstream of one value runs before the next
//! value; nodes on other branches run after). At the end of
//! the input ([`Pipeline::finish`]: the end of [`Pipeline::run`], a
//! session's close) every node is flushed ([`Node::finish`]) in topological
//! order; what a node emits then flows downstream as waves, and the nodes
//! downstream are flushed after it. Validation guarantees that no such
//! node feeds a node with several incoming connections, so waves never need
//! to be lined up across branches.

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
    /// Per node: its index in `results`, if it is one.
    result_pos: Vec<Option<usize>>,
    /// Per node: its position in `plan.order`.
    position: Vec<usize>,
    /// Working state of finished waves, for the next ones to reuse (one per
    /// nesting level: a node that emits several values starts waves inside
    /// its own).
    spare: Vec<WaveState>,
}

/// What a wave keeps per node while it runs. A wave runs for every item, so
/// its vectors are reused rather than allocated each time.
#[derive(Default)]
struct WaveState {
    /// The value each node produced in this wave, until its last consumer
    /// takes it.
    values: Vec<Option<Value>>,
    /// Consumers of that value still to run.
    remaining: Vec<usize>,
    /// Whether the node produced exactly one value in this wave.
    produced: Vec<bool>,
    /// What the running node emits.
    out: Vec<Value>,
}

impl WaveState {
    fn reset(&mut self, fan_out: &[usize]) {
        self.values.clear();
        self.values.resize(fan_out.len(), None);
        self.remaining.clear();
        self.remaining.extend_from_slice(fan_out);
        self.produced.clear();
        self.produced.resize(fan_out.len(), false);
        self.out.clear();
    }
}

/// What a wave is part of, for error messages.
#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Processing input item N (0-based).
    Item(usize),
    /// Flushing at the end of the input.
    End,
}

/// Where a wave starts.
enum Start {
    /// An input item: every source node receives it.
    Item(Value),
    /// A further value emitted by this node: only the nodes downstream of
    /// it run.
    Emitted(usize, Value),
}

/// Results of a run (or of one session item): for every result node, the
/// values it produced, in order (dropped items are absent; a node that
/// emits several values per item, or values at the end, makes lists longer
/// or shorter than the number of items).
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

    /// Compact JSON text, without a trailing newline (`run --compact` adds
    /// one; a session's result line is this).
    pub fn to_json_compact(&self) -> String {
        serde_json::to_string(&self.to_json()).unwrap_or_default()
    }

    /// Whether no result node produced anything.
    pub fn is_empty(&self) -> bool {
        self.outputs.values().all(Vec::is_empty)
    }

    /// Append `other`'s lists to this one's (same result nodes).
    pub fn extend(&mut self, other: RunOutput) {
        for (id, values) in other.outputs {
            self.outputs.entry(id).or_default().extend(values);
        }
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
        let mut result_pos = vec![None; slots.len()];
        for (r, &i) in results.iter().enumerate() {
            result_pos[i] = Some(r);
        }
        let mut position = vec![0; slots.len()];
        for (pos, &i) in plan.order.iter().enumerate() {
            position[i] = pos;
        }
        Ok(Pipeline {
            slots,
            plan,
            fan_out,
            results,
            result_pos,
            position,
            spare: Vec::new(),
        })
    }

    /// Ids of the result nodes, in output order.
    pub fn result_ids(&self) -> Vec<&str> {
        self.results
            .iter()
            .map(|&i| self.slots[i].id.as_str())
            .collect()
    }

    /// Push one item through the graph. Returns, per result node (in
    /// [`result_ids`](Pipeline::result_ids) order), the values it produced
    /// for this item: usually zero or one, several when a node upstream
    /// emits several. `index` is only used in error messages.
    pub fn process_item(&mut self, index: usize, item: Value) -> Result<Vec<Vec<Value>>> {
        let mut kept = vec![Vec::new(); self.results.len()];
        self.wave(Stage::Item(index), Start::Item(item), &mut kept)?;
        Ok(kept)
    }

    /// The input has ended: flush every node ([`Node::finish`]) in
    /// topological order, sending what each emits downstream (nodes
    /// downstream are flushed after it). Returns, per result node, the
    /// values produced. Call once, after the last item.
    pub fn finish(&mut self) -> Result<Vec<Vec<Value>>> {
        let mut kept = vec![Vec::new(); self.results.len()];
        for pos in 0..self.plan.order.len() {
            let i = self.plan.order[pos];
            let slot = &mut self.slots[i];
            let mut out = Vec::new();
            slot.node
                .finish(&mut out)
                .map_err(|e| node_error(&slot.id, &slot.node_type, Stage::End, &e))?;
            if let Some(r) = self.result_pos[i] {
                kept[r].extend(out.iter().cloned());
            }
            if self.fan_out[i] > 0 {
                for v in out {
                    self.wave(Stage::End, Start::Emitted(i, v), &mut kept)?;
                }
            }
        }
        Ok(kept)
    }

    /// Run one wave: from the sources (an item) or from one value a node
    /// emitted. When a node emits several values, each of them is a wave of
    /// its own through the nodes downstream of it, run at once.
    fn wave(&mut self, stage: Stage, start: Start, kept: &mut [Vec<Value>]) -> Result<()> {
        let mut state = self.spare.pop().unwrap_or_default();
        state.reset(&self.fan_out);
        let result = self.wave_in(&mut state, stage, start, kept);
        self.spare.push(state);
        result
    }

    fn wave_in(
        &mut self,
        st: &mut WaveState,
        stage: Stage,
        start: Start,
        kept: &mut [Vec<Value>],
    ) -> Result<()> {
        let (from, item) = match start {
            Start::Item(item) => (0, Some(item)),
            Start::Emitted(node, v) => {
                st.produced[node] = true;
                st.values[node] = Some(v);
                (self.position[node] + 1, None)
            }
        };
        for pos in from..self.plan.order.len() {
            let i = self.plan.order[pos];
            let preds = &self.plan.preds[i];
            let inputs = if preds.is_empty() {
                match &item {
                    Some(item) => vec![item.clone()],
                    None => continue, // sources only receive items
                }
            } else {
                if !preds.iter().all(|&p| st.produced[p]) {
                    continue; // an upstream node dropped this value
                }
                let mut inputs = Vec::with_capacity(preds.len());
                for &p in preds {
                    st.remaining[p] -= 1;
                    let v = if st.remaining[p] == 0 {
                        st.values[p].take()
                    } else {
                        st.values[p].clone()
                    };
                    inputs.push(v.unwrap_or(Value::Null));
                }
                inputs
            };
            let slot = &mut self.slots[i];
            slot.node
                .process_into(inputs, &mut st.out)
                .map_err(|e| node_error(&slot.id, &slot.node_type, stage, &e))?;
            if let Some(r) = self.result_pos[i] {
                if self.fan_out[i] == 0 {
                    kept[r].append(&mut st.out); // nothing downstream: move
                    continue;
                }
                kept[r].extend(st.out.iter().cloned());
            }
            if st.out.len() == 1 {
                st.produced[i] = true;
                st.values[i] = st.out.pop();
            } else {
                // Zero values: dropped. Several: each is a wave of its own
                // through the nodes downstream, right away (depth first);
                // in this wave they are skipped.
                for v in st.out.drain(..) {
                    self.wave(stage, Start::Emitted(i, v), kept)?;
                }
            }
        }
        Ok(())
    }

    /// Run all items in order, then flush ([`Pipeline::finish`]), and
    /// collect the results.
    pub fn run(&mut self, items: Vec<Value>) -> Result<RunOutput> {
        let mut out = self.empty_output();
        for (index, item) in items.into_iter().enumerate() {
            let results = self.process_item(index, item)?;
            self.append(&mut out, results);
        }
        let results = self.finish()?;
        self.append(&mut out, results);
        Ok(out)
    }

    /// A [`RunOutput`] with every result node and no values.
    pub fn empty_output(&self) -> RunOutput {
        let mut out = RunOutput::default();
        for id in self.result_ids() {
            out.outputs.insert(id.to_string(), Vec::new());
        }
        out
    }

    /// Per-result-node values (as [`process_item`](Pipeline::process_item)
    /// and [`finish`](Pipeline::finish) return them) as a [`RunOutput`].
    pub fn output_of(&self, results: Vec<Vec<Value>>) -> RunOutput {
        let mut out = self.empty_output();
        self.append(&mut out, results);
        out
    }

    fn append(&self, out: &mut RunOutput, results: Vec<Vec<Value>>) {
        for (list, values) in out.outputs.values_mut().zip(results) {
            list.extend(values);
        }
    }
}

fn node_error(id: &str, node_type: &str, stage: Stage, message: &str) -> Error {
    match stage {
        Stage::Item(index) => Error::node(format!(
            "node '{id}' ({node_type}) failed on item {index}: {message}"
        )),
        Stage::End => Error::node(format!(
            "node '{id}' ({node_type}) failed at the end of the input: {message}"
        )),
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

    /// Test node types: `Split` emits the elements of a list input (several
    /// values per item); `Total` emits nothing per item and the sum of its
    /// inputs at the end; `Fail` fails on the string "bad" (also at the end,
    /// if it saw one).
    fn test_registry() -> Registry {
        use crate::nodes::basic::NoParams;
        use crate::registry::TypedKind;

        struct Split;
        impl Node for Split {
            fn process_into(
                &mut self,
                mut inputs: Vec<Value>,
                out: &mut Vec<Value>,
            ) -> Result<(), String> {
                match inputs.pop() {
                    Some(Value::List(items)) => out.extend(items),
                    Some(other) => out.push(other),
                    None => {}
                }
                Ok(())
            }
        }
        struct Total(i64);
        impl Node for Total {
            fn process_into(
                &mut self,
                inputs: Vec<Value>,
                _: &mut Vec<Value>,
            ) -> Result<(), String> {
                for v in inputs {
                    if let Value::Int(i) = v {
                        self.0 += i;
                    }
                }
                Ok(())
            }
            fn finish(&mut self, out: &mut Vec<Value>) -> Result<(), String> {
                out.push(Value::Int(self.0));
                out.push(Value::Str("end".into()));
                Ok(())
            }
        }
        struct Fail(bool);
        impl Node for Fail {
            fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
                match inputs.pop() {
                    Some(Value::Str(s)) if s == "bad" => Err("bad value".into()),
                    Some(Value::Str(s)) if s == "bad later" => {
                        self.0 = true;
                        Ok(None)
                    }
                    v => Ok(v),
                }
            }
            fn finish(&mut self, _: &mut Vec<Value>) -> Result<(), String> {
                if self.0 {
                    Err("it was bad".into())
                } else {
                    Ok(())
                }
            }
        }
        let mut reg = Registry::with_builtins();
        reg.register(Box::new(
            TypedKind::<NoParams>::new("Split", "test", Some(1), |_, _| Ok(Box::new(Split)))
                .with_emits_many(true),
        ));
        reg.register(Box::new(
            TypedKind::<NoParams>::new("Total", "test", None, |_, _| Ok(Box::new(Total(0))))
                .with_emits_many(true),
        ));
        reg.register(Box::new(TypedKind::<NoParams>::new(
            "Fail",
            "test",
            Some(1),
            |_, _| Ok(Box::new(Fail(false))),
        )));
        reg
    }

    fn test_pipeline(text: &str) -> Pipeline {
        let reg = test_registry();
        let m = Manifest::parse(text, &reg).unwrap();
        Pipeline::new(&m, &reg, None).unwrap()
    }

    fn ints(v: &[i64]) -> Vec<Value> {
        v.iter().map(|&i| Value::Int(i)).collect()
    }

    #[test]
    fn several_values_per_item_flow_downstream_in_order() {
        // split -> x10 -> out, and split -> o2 (a second result).
        let item = |v: &[i64]| Value::List(ints(v));
        let mut p = test_pipeline(
            r#"{"version":1,"nodes":[{"id":"split","type":"Split"},{"id":"x10","type":"Multiply","params":{"factor":10}},
               {"id":"out","type":"Output"},{"id":"o2","type":"Output"}],
               "connections":[{"from":"split","to":"x10"},{"from":"x10","to":"out"},{"from":"split","to":"o2"}]}"#,
        );
        let out = p
            .run(vec![
                item(&[1, 2]),
                item(&[]),
                Value::Int(7),
                item(&[4, 5, 6]),
            ])
            .unwrap();
        assert_eq!(out.outputs["out"], ints(&[10, 20, 70, 40, 50, 60]));
        assert_eq!(out.outputs["o2"], ints(&[1, 2, 7, 4, 5, 6]));
    }

    #[test]
    fn nested_several_values_are_depth_first() {
        // a splits [[1, 2], [3]] into [1, 2] and [3]; b splits those.
        let mut p = test_pipeline(
            r#"{"version":1,"nodes":[{"id":"a","type":"Split"},{"id":"b","type":"Split"},{"id":"out","type":"Output"}],
               "connections":[{"from":"a","to":"b"},{"from":"b","to":"out"}]}"#,
        );
        let v = Value::List(vec![Value::List(ints(&[1, 2])), Value::List(ints(&[3]))]);
        assert_eq!(p.process_item(0, v).unwrap(), vec![ints(&[1, 2, 3])]);
    }

    #[test]
    fn flush_emits_at_the_end_and_flows_downstream() {
        // total sums what it sees and emits [sum, "end"] at the end; `fail`
        // passes values on; out collects.
        let mut p = test_pipeline(
            r#"{"version":1,"nodes":[{"id":"total","type":"Total"},{"id":"fail","type":"Fail"},{"id":"out","type":"Output"}],
               "connections":[{"from":"total","to":"fail"},{"from":"fail","to":"out"}]}"#,
        );
        let out = p.run(ints(&[1, 2, 3])).unwrap();
        assert_eq!(
            out.outputs["out"],
            vec![Value::Int(6), Value::Str("end".into())]
        );
        // Errors during the flush say so.
        let mut p = test_pipeline(
            r#"{"version":1,"nodes":[{"id":"total","type":"Total"},{"id":"split","type":"Split"},{"id":"fail","type":"Fail"}],
               "connections":[{"from":"total","to":"split"},{"from":"split","to":"fail"}]}"#,
        );
        assert_eq!(
            p.process_item(0, Value::Int(1)).unwrap(),
            vec![Vec::<Value>::new()]
        );
        // "end" reaches fail and passes; no error. A value "bad" at the end fails.
        assert_eq!(
            p.finish().unwrap(),
            vec![vec![Value::Int(1), Value::Str("end".into())]]
        );
        let mut p = test_pipeline(
            r#"{"version":1,"nodes":[{"id":"split","type":"Split"},{"id":"fail","type":"Fail"}],
               "connections":[{"from":"split","to":"fail"}]}"#,
        );
        let e = p
            .run(vec![Value::List(vec![
                Value::Int(1),
                Value::Str("bad".into()),
            ])])
            .unwrap_err();
        assert_eq!(
            e.message(),
            "node 'fail' (Fail) failed on item 0: bad value"
        );
        let mut p = test_pipeline(r#"{"version":1,"nodes":[{"id":"fail","type":"Fail"}]}"#);
        let e = p.run(vec![Value::Str("bad later".into())]).unwrap_err();
        assert_eq!(
            e.message(),
            "node 'fail' (Fail) failed at the end of the input: it was bad"
        );
    }

    #[test]
    fn several_values_may_not_reach_a_fan_in() {
        let reg = test_registry();
        let e = Manifest::parse(
            r#"{"version":1,"nodes":[{"id":"src","type":"PassThrough"},{"id":"split","type":"Split"},{"id":"x","type":"Multiply"},
               {"id":"sum","type":"Add"}],
               "connections":[{"from":"src","to":"split"},{"from":"split","to":"x"},{"from":"x","to":"sum"},{"from":"src","to":"sum"}]}"#,
            &reg,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.message(),
            "invalid manifest: nodes[3]: node 'sum' (Add) has 2 input connections, but node 'split' (Split) upstream of it may emit any number of values per item, which would not line up with its other inputs: nodes downstream of 'split' may have only one input connection"
        );
        // Fan-in before the node, and fan-out after it, are fine.
        Manifest::parse(
            r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"},{"id":"b","type":"PassThrough"},{"id":"t","type":"Total"},
               {"id":"x","type":"Multiply"},{"id":"y","type":"Add"}],
               "connections":[{"from":"a","to":"t"},{"from":"b","to":"t"},{"from":"t","to":"x"},{"from":"t","to":"y"}]}"#,
            &reg,
        )
        .unwrap();
    }

    impl RunOutput {
        fn result_ids_for_test(&self) -> Vec<&str> {
            self.outputs.keys().map(|s| s.as_str()).collect()
        }
    }
}
