//! tokio front for native hosts (feature `async`; not built for wasi).
//!
//! The core executor is synchronous; this wraps it without changing its
//! semantics: items are processed one at a time, in order, on a blocking
//! thread (`spawn_blocking`), so nodes that block (Python, file I/O) never
//! stall the async runtime.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::executor::{Pipeline, RunOutput};
use crate::value::Value;

/// Results for one item: one entry per result node, the values it produced
/// for that item (empty = dropped; several when a node emits several).
pub type ItemResult = Result<Vec<Vec<Value>>>;

/// Stream items through `pipeline`: send items on the returned sender, read
/// one result per item (same order) from the receiver. Processing stops
/// after the first error (which is delivered) or when the sender is dropped;
/// in the latter case the pipeline is flushed ([`Pipeline::finish`]) and one
/// last message carries what that produced. The join handle returns the
/// pipeline.
pub fn spawn_stream(
    mut pipeline: Pipeline,
    buffer: usize,
) -> (
    mpsc::Sender<Value>,
    mpsc::Receiver<ItemResult>,
    JoinHandle<Pipeline>,
) {
    let (item_tx, mut item_rx) = mpsc::channel::<Value>(buffer.max(1));
    let (res_tx, res_rx) = mpsc::channel::<ItemResult>(buffer.max(1));
    let handle = tokio::task::spawn_blocking(move || {
        let mut index = 0usize;
        while let Some(item) = item_rx.blocking_recv() {
            let r = pipeline.process_item(index, item);
            let failed = r.is_err();
            if res_tx.blocking_send(r).is_err() || failed {
                return pipeline;
            }
            index += 1;
        }
        let _ = res_tx.blocking_send(pipeline.finish());
        pipeline
    });
    (item_tx, res_rx, handle)
}

/// Run all `items` on a blocking thread; same result as [`Pipeline::run`].
pub async fn run(mut pipeline: Pipeline, items: Vec<Value>) -> Result<(Pipeline, RunOutput)> {
    tokio::task::spawn_blocking(move || {
        let out = pipeline.run(items)?;
        Ok((pipeline, out))
    })
    .await
    .map_err(|e| Error::node(format!("pipeline task failed: {e}")))?
}
