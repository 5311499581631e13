"""The build layer: every product the project makes (native runtime, wasm module and
its Python, whisper.cpp and its models, .rmpkg bundles), each as content-hash keyed steps."""
