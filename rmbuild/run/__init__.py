"""The run layer: WASI hosts (``wasi``: wasmtime in-process or in a child, Node's
node:wasi) and the executor's command line on every host (``executor``), with one
outcome type (``outcome.Outcome``)."""
