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


# whisper.cpp / ggml (issue 7). Anything linking libwhisper.a for wasm32-wasi must
# compile with ZIG_TARGET, EMULATION_DEFINES and SIMD_FLAGS above and link
# EMULATION_LIBS; these are the extra defines ggml's CMake would set.
WHISPER_OPT_FLAGS = ("-O3",)
WHISPER_DEFINES = (
    "-DNDEBUG",
    "-D_GNU_SOURCE",
    "-D_XOPEN_SOURCE=600",
    "-DGGML_USE_CPU",
    "-DGGML_USE_CPU_REPACK",
    "-DGGML_SCHED_MAX_COPIES=4",
)
WHISPER_C_STD = "-std=gnu11"
WHISPER_CXX_STD = "-std=gnu++17"
