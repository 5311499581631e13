//! Property tests: bad input never panics, errors are proper errors, and the
//! executor computes what an independent reference evaluator computes.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use pipeline_runtime::{AudioBuffer, ErrorKind, Manifest, Pipeline, Registry, Value};
use proptest::prelude::*;
use serde_json::{json, Value as Json};

const VOCAB: &[&str] = &[
    "version",
    "nodes",
    "connections",
    "inputs",
    "id",
    "type",
    "params",
    "from",
    "to",
    "a",
    "b",
    "c",
    "Multiply",
    "Add",
    "PassThrough",
    "Output",
    "Resample",
    "Tone",
    "MediaReader",
    "AudioWindow",
    "Python",
    "factor",
    "value",
    "target_rate",
    "frequency",
    "duration",
    "method",
    "sinc",
    "linear",
    "$f64",
    "$audio",
    "$map",
    "NaN",
    "inf",
    "sample_rate",
    "channels",
    "data_b64",
    "samples",
    "class",
    "source",
    "module_path",
    "window",
    "hop",
    "silence_threshold",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(VOCAB).prop_map(str::to_string),
        1 => ".{0,8}",
    ]
}

fn number() -> impl Strategy<Value = Json> {
    prop_oneof![
        (-3i64..4).prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        (-2.0f64..3.0).prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        Just(json!(1)),
    ]
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        number(),
        word().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::vec((word(), inner), 0..5)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
}

/// Params that usually suit the node type (sometimes not).
fn params_for(t: &'static str) -> BoxedStrategy<Json> {
    let rate = prop_oneof![9 => (1u32..48001).prop_map(Json::from), 1 => number()];
    match t {
        "Multiply" => number().prop_map(|n| json!({"factor": n})).boxed(),
        "Add" => number().prop_map(|n| json!({"value": n})).boxed(),
        "Resample" => (
            rate,
            prop::sample::select(vec!["sinc", "linear", "sinc", "linear", "cubic"]),
        )
            .prop_map(|(r, m)| json!({"target_rate": r, "method": m}))
            .boxed(),
        "Tone" => (
            (0.0f64..4000.0),
            prop::sample::select(vec![8000u32, 16000, 11025, 0]),
            (0.0f64..0.02),
        )
            .prop_map(|(f, r, d)| json!({"frequency": f, "sample_rate": r, "duration": d}))
            .boxed(),
        "AudioWindow" => (
            prop_oneof![(0.0f64..0.01).prop_map(Json::from), number()],
            prop_oneof![Just(Json::Null), (0.0f64..0.01).prop_map(Json::from), number()],
            prop_oneof![Just(Json::Null), (-80.0f64..0.0).prop_map(Json::from), number()],
            (0.0f64..0.01),
            prop_oneof![Just(Json::from(0.0)), (0.0f64..0.01).prop_map(Json::from), number()],
        )
            .prop_map(|(w, h, t, s, pad)| {
                json!({"window": w, "hop": h, "silence_threshold": t, "min_silence": s, "min_window": s, "pad": pad})
            })
            .boxed(),
        "MediaReader" => prop::sample::select(vec![
            json!({}),
            json!({"path": "no_such.wav"}),
            json!({}),
            json!({"path": ""}),
        ])
        .boxed(),
        _ => Just(json!({})).boxed(),
    }
}

/// Something shaped like a manifest: mostly-valid node types, params and
/// edges, with random damage, so that many cases get past validation and run.
fn manifestish() -> impl Strategy<Value = Json> {
    let types = prop_oneof![
        20 => prop::sample::select(vec!["Multiply", "Add", "PassThrough", "Output", "Resample", "Tone", "MediaReader", "AudioWindow"]),
        1 => prop::sample::select(vec!["Python", "Nope"]),
    ];
    let bad_id = prop::sample::select(vec!["n0", "n1", "", "x y"]);
    let node = (
        types,
        prop::option::weighted(0.02, bad_id),
        prop::option::weighted(0.03, arb_json()),
    )
        .prop_flat_map(|(t, bad_id, junk)| (Just(t), Just(bad_id), Just(junk), params_for(t)));
    let input = prop_oneof![
        number(),
        Just(json!("text")),
        Just(json!(null)),
        Just(json!({"$audio": {"sample_rate": 8000, "samples": [0.5, -0.5, 0.25]}})),
        Just(json!({"$f64": "NaN"})),
    ];
    (
        prop::collection::vec(node, 1..7),
        prop::collection::vec((0usize..8, 0usize..8, prop::bool::weighted(0.95)), 0..9),
        prop::collection::vec(input, 0..4),
    )
        .prop_map(|(nodes, conns, inputs)| {
            let n = nodes.len();
            let nodes: Vec<Json> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, (t, bad_id, junk, params))| {
                    let id = bad_id.map(str::to_string).unwrap_or(format!("n{i}"));
                    json!({"id": id, "type": t, "params": junk.unwrap_or(params)})
                })
                .collect();
            // Mostly forward edges (a DAG); sometimes any pair, even dangling.
            let mut seen = BTreeSet::new();
            let conns: Vec<Json> = conns
                .into_iter()
                .filter_map(|(a, b, forward)| {
                    let (a, b) = if forward {
                        (a.min(b) % n, a.max(b) % n)
                    } else {
                        (a, b)
                    };
                    if forward && (a >= b || !seen.insert((a, b))) {
                        return None;
                    }
                    Some(json!({"from": format!("n{a}"), "to": format!("n{b}")}))
                })
                .collect();
            json!({"version": 1, "nodes": nodes, "connections": conns, "inputs": inputs})
        })
}

fn check_error(e: &pipeline_runtime::Error, allowed: &[ErrorKind]) {
    assert!(
        allowed.contains(&e.kind()),
        "unexpected kind {:?}: {}",
        e.kind(),
        e.message()
    );
    assert!(!e.message().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_random_text(text in ".{0,200}") {
        let reg = Registry::with_builtins();
        if let Err(e) = Manifest::parse(&text, &reg) {
            check_error(&e, &[ErrorKind::Manifest]);
            prop_assert!(e.message().starts_with("invalid manifest: "));
        }
    }

    #[test]
    fn parser_never_panics_on_random_json(j in arb_json()) {
        let reg = Registry::with_builtins();
        if let Err(e) = Manifest::from_json(&j, &reg) {
            check_error(&e, &[ErrorKind::Manifest]);
        }
        // Any JSON is either a valid value encoding or a clean error.
        let _ = Value::from_json(&j, "x");
    }

    #[test]
    fn random_manifests_parse_or_fail_cleanly_and_run(j in manifestish()) {
        let reg = Registry::with_builtins();
        match Manifest::from_json(&j, &reg) {
            Err(e) => check_error(&e, &[ErrorKind::Manifest]),
            Ok(m) => {
                let items = match m.input_values() {
                    Err(e) => { check_error(&e, &[ErrorKind::Inputs]); return Ok(()); }
                    Ok(items) => items.unwrap_or_default(),
                };
                match Pipeline::new(&m, &reg, None) {
                    Err(e) => check_error(&e, &[ErrorKind::Node]),
                    Ok(mut p) => {
                        if let Err(e) = p.run(items) {
                            check_error(&e, &[ErrorKind::Node]);
                            prop_assert!(e.message().starts_with("node '"));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn parser_accepts_only_what_the_schema_accepts(j in manifestish()) {
        // The schema cannot see graph errors, so only one direction holds:
        // whatever the parser accepts, the schema accepts too.
        let reg = Registry::with_builtins();
        if Manifest::from_json(&j, &reg).is_ok() {
            let schema = pipeline_runtime::schema::manifest_schema(&reg);
            let v = jsonschema::draft202012::new(&schema).unwrap();
            let errors: Vec<String> = v.iter_errors(&j).map(|e| e.to_string()).collect();
            prop_assert!(errors.is_empty(), "{}: {:?}", j, errors);
        }
    }

    #[test]
    fn values_round_trip_through_json(v in arb_value()) {
        let text = v.to_json_string();
        let back = Value::from_json_str(&text, "v").unwrap();
        prop_assert!(back.same_as(&v), "{:?} -> {} -> {:?}", v, text, back);
    }

    #[test]
    fn cycles_are_detected_exactly(n in 1usize..7, edges in prop::collection::vec((0usize..7, 0usize..7), 0..12)) {
        // Unique, non-self edges among n nodes.
        let mut seen = BTreeSet::new();
        let edges: Vec<(usize, usize)> = edges
            .into_iter()
            .map(|(a, b)| (a % n, b % n))
            .filter(|&(a, b)| a != b && seen.insert((a, b)))
            .collect();
        let nodes: Vec<Json> = (0..n).map(|i| json!({"id": format!("n{i}"), "type": "Add"})).collect();
        let conns: Vec<Json> = edges.iter().map(|(a, b)| json!({"from": format!("n{a}"), "to": format!("n{b}")})).collect();
        let j = json!({"version": 1, "nodes": nodes, "connections": conns});
        let result = Manifest::from_json(&j, &Registry::with_builtins());
        // Reference: repeatedly remove nodes without incoming edges.
        let mut alive: BTreeSet<usize> = (0..n).collect();
        loop {
            let removable: Vec<usize> = alive.iter().copied()
                .filter(|&v| !edges.iter().any(|&(a, b)| b == v && alive.contains(&a)))
                .collect();
            if removable.is_empty() { break; }
            for v in removable { alive.remove(&v); }
        }
        let acyclic = alive.is_empty();
        match result {
            Ok(_) => prop_assert!(acyclic),
            Err(e) => {
                prop_assert!(!acyclic, "unexpected error {}", e.message());
                prop_assert!(e.message().starts_with("invalid manifest: connections: cycle detected: "), "{}", e.message());
            }
        }
    }

    #[test]
    fn executor_matches_reference_evaluator(dag in arb_dag(), inputs in prop::collection::vec(arb_number(), 1..4)) {
        let reg = Registry::with_builtins();
        let m = Manifest::from_json(&dag.to_manifest(), &reg).expect("generated DAGs are valid");
        let mut p = Pipeline::new(&m, &reg, None).unwrap();
        let items: Vec<Value> = inputs.iter().map(|n| n.to_value()).collect();
        let expected = dag.evaluate(&inputs);
        match (p.run(items), expected) {
            (Ok(out), Ok(exp)) => {
                prop_assert_eq!(out.outputs.len(), exp.len());
                for ((id, got), (eid, want)) in out.outputs.iter().zip(&exp) {
                    prop_assert_eq!(id, eid);
                    prop_assert_eq!(got.len(), want.len());
                    for (g, w) in got.iter().zip(want) {
                        prop_assert!(g.same_as(w), "{}: got {:?}, want {:?}", id, g, w);
                    }
                }
            }
            (Err(e), Err((item, what))) => {
                prop_assert_eq!(e.kind(), ErrorKind::Node);
                prop_assert!(e.message().contains(&format!("failed on item {item}: ")), "{}", e.message());
                prop_assert!(e.message().contains(what), "{}", e.message());
            }
            (got, want) => prop_assert!(false, "got {:?}, reference {:?}", got.map(|o| o.outputs), want),
        }
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-310,
            0.1
        ])
        .prop_map(Value::Float),
        ".{0,6}".prop_map(Value::Str),
        (
            1u32..96000,
            1u16..4,
            prop::collection::vec(any::<u32>(), 0..4)
        )
            .prop_map(|(rate, ch, bits)| {
                let frames = bits.len();
                let samples: Vec<f32> = (0..frames * ch as usize)
                    .map(|i| f32::from_bits(bits[i % frames.max(1)]))
                    .collect();
                Value::Audio(AudioBuffer::new(samples, rate, ch).unwrap())
            }),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec((word(), inner), 0..4)
                .prop_map(|kv| Value::Map(kv.into_iter().collect::<IndexMap<_, _>>())),
        ]
    })
}

// ---- random arithmetic DAGs and an independent evaluator ----

#[derive(Clone, Copy, Debug)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    fn to_value(self) -> Value {
        match self {
            Num::I(i) => Value::Int(i),
            Num::F(f) => Value::Float(f),
        }
    }
    fn to_json(self) -> Json {
        match self {
            Num::I(i) => json!(i),
            Num::F(f) => json!(f),
        }
    }
}

fn arb_number() -> impl Strategy<Value = Num> {
    prop_oneof![
        4 => (-20i64..20).prop_map(Num::I),
        1 => any::<i64>().prop_map(Num::I),
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, 1 << 32, -(1 << 31)]).prop_map(Num::I),
        2 => (-10.0f64..10.0).prop_map(Num::F),
    ]
}

#[derive(Clone, Debug)]
enum Kind {
    Mul(Num),
    Add(Num),
    Pass,
    Out,
}

#[derive(Clone, Debug)]
struct Dag {
    kinds: Vec<Kind>,
    /// Connections (from, to) with from < to, in manifest order.
    edges: Vec<(usize, usize)>,
}

fn arb_dag() -> impl Strategy<Value = Dag> {
    (1usize..8)
        .prop_flat_map(|n| {
            let kind = prop_oneof![
                arb_number().prop_map(Kind::Mul),
                arb_number().prop_map(Kind::Add),
                Just(Kind::Pass),
                Just(Kind::Out),
            ];
            (
                prop::collection::vec(kind, n),
                prop::collection::vec(any::<u16>(), n),
                Just(()).prop_perturb(|_, rng| rng),
            )
        })
        .prop_map(|(kinds, masks, mut rng)| {
            let mut edges = Vec::new();
            for (j, mask) in masks.iter().enumerate() {
                let mut preds: Vec<usize> = (0..j).filter(|i| mask & (1 << i) != 0).collect();
                if matches!(kinds[j], Kind::Pass) {
                    preds.truncate(1);
                }
                edges.extend(preds.into_iter().map(|i| (i, j)));
            }
            // Shuffle the connection list: fan-in order follows it.
            for i in (1..edges.len()).rev() {
                let k = (rng.next_u32() as usize) % (i + 1);
                edges.swap(i, k);
            }
            Dag { kinds, edges }
        })
}

/// Values per result node id.
type Outputs = Vec<(String, Vec<Value>)>;

#[derive(Clone, Debug)]
enum Ref {
    I(i128),
    F(f64),
    L(Vec<Ref>),
}

impl Dag {
    fn to_manifest(&self) -> Json {
        let nodes: Vec<Json> = self
            .kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let id = format!("n{i}");
                match k {
                    Kind::Mul(c) => {
                        json!({"id": id, "type": "Multiply", "params": {"factor": c.to_json()}})
                    }
                    Kind::Add(c) => {
                        json!({"id": id, "type": "Add", "params": {"value": c.to_json()}})
                    }
                    Kind::Pass => json!({"id": id, "type": "PassThrough"}),
                    Kind::Out => json!({"id": id, "type": "Output"}),
                }
            })
            .collect();
        let conns: Vec<Json> = self
            .edges
            .iter()
            .map(|(a, b)| json!({"from": format!("n{a}"), "to": format!("n{b}")}))
            .collect();
        json!({"version": 1, "nodes": nodes, "connections": conns})
    }

    /// Evaluate every item with i128 ints (so overflow is visible) and f64
    /// floats, applying operations in connection order. Returns the results
    /// per result node, or the index of the first item that overflows.
    fn evaluate(&self, inputs: &[Num]) -> Result<Outputs, (usize, &'static str)> {
        let n = self.kinds.len();
        let preds = |j: usize| -> Vec<usize> {
            self.edges
                .iter()
                .filter(|e| e.1 == j)
                .map(|e| e.0)
                .collect()
        };
        let has_out = self.kinds.iter().any(|k| matches!(k, Kind::Out));
        let results: Vec<usize> = (0..n)
            .filter(|&i| {
                if has_out {
                    matches!(self.kinds[i], Kind::Out)
                } else {
                    !self.edges.iter().any(|e| e.0 == i)
                }
            })
            .collect();
        let mut out: Outputs = results
            .iter()
            .map(|i| (format!("n{i}"), Vec::new()))
            .collect();
        for (item, x) in inputs.iter().enumerate() {
            let mut vals: Vec<Option<Ref>> = vec![None; n];
            // Node j only depends on nodes < j, so index order is a valid order.
            for j in 0..n {
                let p = preds(j);
                let ins: Vec<Ref> = if p.is_empty() {
                    vec![match x {
                        Num::I(i) => Ref::I(*i as i128),
                        Num::F(f) => Ref::F(*f),
                    }]
                } else {
                    p.iter().map(|&i| vals[i].clone().unwrap()).collect()
                };
                let v = match &self.kinds[j] {
                    Kind::Pass => ins[0].clone(),
                    Kind::Out => {
                        if ins.len() == 1 {
                            ins[0].clone()
                        } else {
                            Ref::L(ins)
                        }
                    }
                    Kind::Mul(c) | Kind::Add(c) => {
                        let mul = matches!(self.kinds[j], Kind::Mul(_));
                        let c = match c {
                            Num::I(i) => Ref::I(*i as i128),
                            Num::F(f) => Ref::F(*f),
                        };
                        let mut acc = ins[0].clone();
                        for v in ins[1..].iter().chain(std::iter::once(&c)) {
                            acc = match (acc, v) {
                                (Ref::I(a), Ref::I(b)) => {
                                    let r = if mul { a * b } else { a + b };
                                    if r > i64::MAX as i128 || r < i64::MIN as i128 {
                                        return Err((item, "integer overflow"));
                                    }
                                    Ref::I(r)
                                }
                                // An Output with fan-in produced a list: arithmetic on it fails.
                                (Ref::L(_), _) | (_, Ref::L(_)) => {
                                    return Err((item, "expects numbers or audio, got list"))
                                }
                                (a, b) => {
                                    let f = |r: &Ref| match r {
                                        Ref::I(i) => *i as i64 as f64,
                                        Ref::F(f) => *f,
                                        Ref::L(_) => f64::NAN,
                                    };
                                    let (a, b) = (f(&a), f(b));
                                    Ref::F(if mul { a * b } else { a + b })
                                }
                            };
                        }
                        acc
                    }
                };
                vals[j] = Some(v);
            }
            for (slot, &i) in out.iter_mut().zip(&results) {
                slot.1.push(to_value(vals[i].clone().unwrap()));
            }
        }
        Ok(out)
    }
}

fn to_value(r: Ref) -> Value {
    match r {
        Ref::I(i) => Value::Int(i as i64),
        Ref::F(f) => Value::Float(f),
        Ref::L(l) => Value::List(l.into_iter().map(to_value).collect()),
    }
}
