"""``pipeline_executor_wasm``: CPython for wasm32-wasi (``libpython``), its standard
library (``stdlib``), the module itself (``module``), flags (``flags``) and a small wasm
binary reader (``wasmbin``)."""
