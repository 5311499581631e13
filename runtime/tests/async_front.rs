//! The tokio front (feature `async`) gives the same results as the sync core.
#![cfg(all(feature = "async", not(target_os = "wasi")))]

use pipeline_runtime::async_exec::{run, spawn_stream};
use pipeline_runtime::{Manifest, Pipeline, Registry, Value};

fn pipeline() -> Pipeline {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/manifests/fan_out_fan_in.json"
    ))
    .unwrap();
    let reg = Registry::with_builtins();
    let m = Manifest::parse(&text, &reg).unwrap();
    Pipeline::new(&m, &reg, None).unwrap()
}

#[tokio::test]
async fn run_matches_sync() {
    let items: Vec<Value> = (0..20).map(Value::Int).collect();
    let sync_out = pipeline().run(items.clone()).unwrap();
    let (_p, async_out) = run(pipeline(), items).await.unwrap();
    assert_eq!(sync_out, async_out);
    // 3x + 10
    assert_eq!(async_out.outputs["total"][7], Value::Int(31));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_keeps_order_and_stops_on_error() {
    let (tx, mut rx, handle) = spawn_stream(pipeline(), 2);
    let producer = tokio::spawn(async move {
        for i in 0..10 {
            tx.send(Value::Int(i)).await.unwrap();
        }
        // A string makes Multiply fail: the stream must end with that error.
        let _ = tx.send(Value::Str("x".into())).await;
        let _ = tx.send(Value::Int(99)).await;
    });
    let mut got = Vec::new();
    let mut error = None;
    while let Some(r) = rx.recv().await {
        match r {
            Ok(v) => got.extend(v[0].clone()),
            Err(e) => error = Some(e),
        }
    }
    producer.await.unwrap();
    let _pipeline = handle.await.unwrap();
    assert_eq!(
        got,
        (0..10).map(|i| Value::Int(3 * i + 10)).collect::<Vec<_>>()
    );
    let e = error.expect("error delivered");
    assert!(
        e.message()
            .starts_with("node 'double' (Multiply) failed on item 10:"),
        "{}",
        e.message()
    );
}
