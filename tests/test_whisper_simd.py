"""The wasm kernels of whisper/patches, checked in wasm32-wasi modules built with the
wasm build's flags:

* the SIMD f16 helpers (conversions, rows, rounding to f16) agree bit for bit with
  ggml's scalar reference;
* mul_mat (f16, q8_0, q5_1) and flash attention, run through ggml's API and linked
  with the wasm build's libggml.a (and its relaxed-SIMD variant), agree with their
  references: bit for bit with the type's vec_dot for the quantized types, within float
  rounding otherwise;
* the relaxed-SIMD variant's code uses no relaxed instruction but the integer dot whose
  operands patch 0013 keeps in range (nothing whose result a host may choose);
* the wasm build's expf (whisper/shims/include/wasi_glibc_expf.h) equals glibc's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import struct
import sys
from pathlib import Path

import pytest

from rmbuild.build import whisper
from rmbuild.build.wasm import flags as wasi_flags
from rmbuild.checks import whisper_bench
from rmbuild.core import toolchains, ui
from rmbuild.run import wasi

DATA = Path(__file__).resolve().parent / "data"


def _is_nan(bits: int) -> bool:
    return (bits & 0x7F800000) == 0x7F800000 and bits & 0x007FFFFF != 0


def _run(module: Path) -> str:
    result = wasi.run(module, [], timeout=600)
    output = result.stdout.decode() + result.stderr.decode()
    assert result.exit_code == 0, output
    return output


def test_wasm_simd_f16_helpers_match_ggml_scalar_reference(tmp_path):
    flags = whisper.wasm_compile_flags(whisper.source.patched(), whisper.source.SHIMS_DIR)
    module = tmp_path / "f16check.wasm"
    ui.run(
        [*toolchains.zig(), "cc", *flags, "-std=gnu11", DATA / "wasm_f16_simd_check.c", "-o", module, "-lm"],
        what="zig cc (f16 check)",
    )
    assert "0 mismatches" in _run(module)


@pytest.mark.parametrize("lib", ["lib", "lib-relaxed"])
def test_wasm_mul_mat_and_attention_kernels_match_references(tmp_path, lib):
    build = whisper.wasm_build()
    flags = whisper.wasm_compile_flags(whisper.source.patched(), whisper.source.SHIMS_DIR)
    obj = tmp_path / "kernels.o"
    module = tmp_path / "kernels.wasm"
    ui.run(
        [
            *toolchains.zig(),
            "cc",
            *flags,
            "-std=gnu11",
            f"-I{whisper_bench.KERNEL_BENCH.parent}",  # uniform.h: the inputs the kernel bench uses too
            "-c",
            DATA / "wasm_kernels_check.c",
            "-o",
            obj,
        ],
        what="zig cc (kernel check)",
    )
    ui.run(
        [
            *toolchains.zig(),
            "c++",
            "-target",
            wasi_flags.ZIG_TARGET,
            obj,
            build / lib / "libggml.a",
            *wasi_flags.EMULATION_LIBS,
            "-o",
            module,
        ],
        what="zig c++ (link kernel check)",
    )
    output = _run(module)
    assert "0 failed" in output
    # every case ran: 5 shapes x 3 types of mul_mat, 4 attention cases
    assert output.count(" ok (") == 19, output


RELAXED_MNEMONIC = re.compile(r"\b[a-z0-9]+x[0-9]+\.relaxed_[a-z0-9_]+")


@pytest.mark.parametrize(
    ("relaxed", "expected"),
    [(False, set()), (True, {"i16x8.relaxed_dot_i8x16_i7x16_s"})],
)
def test_relaxed_simd_variant_uses_only_the_exact_dot(tmp_path, relaxed, expected):
    """With relaxed SIMD on, clang would also contract a * b + c into f32x4.relaxed_madd (fused
    or not at each host's choice); RELAXED_SIMD_FLAGS forbid that. The one relaxed instruction
    left is q5_1's i8 x i7 dot, exact for its operands (0..31 as the 7-bit one)."""
    src = whisper.source.patched()
    flags = whisper.wasm_compile_flags(src, whisper.source.SHIMS_DIR, relaxed=relaxed)
    for name in whisper.builds.RELAXED_SOURCES:
        asm = tmp_path / "out.s"
        ui.run(
            [*toolchains.zig(), "cc", *flags, "-std=gnu11", "-S", src / name, "-o", asm],
            what=f"zig cc -S ({name})",
        )
        assert set(RELAXED_MNEMONIC.findall(asm.read_text(errors="replace"))) == expected


GLIBC_ONLY = "the reference is glibc's expf; other C libraries round differently"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason=GLIBC_ONLY)
def test_wasm_expf_equals_glibc_expf_bit_for_bit(tmp_path):
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.expf.restype = ctypes.c_float
    libm.expf.argtypes = [ctypes.c_float]
    module = tmp_path / "expf.wasm"
    flags = whisper.wasm_compile_flags(whisper.source.patched(), whisper.source.SHIMS_DIR)
    ui.run(
        [*toolchains.zig(), "cc", *flags, "-std=gnu11", DATA / "wasm_expf_dump.c", "-o", module],
        what="zig cc (expf dump)",
    )
    result = wasi.run(module, [], timeout=300)
    assert result.exit_code == 0, result.stderr.decode()
    inputs = range(0, 1 << 32, 4099)
    assert len(result.stdout) == 4 * len(inputs)
    got = struct.unpack(f"<{len(inputs)}I", result.stdout)
    mismatches = []
    for bits, wasm in zip(inputs, got, strict=True):
        x = struct.unpack("<f", struct.pack("<I", bits))[0]
        glibc = struct.unpack("<I", struct.pack("<f", libm.expf(x)))[0]
        if wasm != glibc and not (_is_nan(wasm) and _is_nan(glibc)):
            mismatches.append(f"expf({x!r}): wasm {wasm:08x}, glibc {glibc:08x}")
    assert not mismatches, mismatches[:5]
