"""Target names and C/C++ flags for wasm32-wasi: one place, shared by the runtime
(Rust + CPython) and whisper.cpp builds so that every object agrees on one libc."""

from __future__ import annotations

RUST_TARGET = "wasm32-wasip1"
ZIG_TARGET = "wasm32-wasi"

# wasi-libc hides these POSIX pieces unless asked for; CPython and ggml use them.
EMULATION_DEFINES = (
    "-D_WASI_EMULATED_MMAN",
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
    "-D_WASI_EMULATED_GETPID",
)
EMULATION_LIBS = (
    "-lwasi-emulated-mman",
    "-lwasi-emulated-signal",
    "-lwasi-emulated-process-clocks",
    "-lwasi-emulated-getpid",
)
SIMD_FLAGS = ("-msimd128",)
