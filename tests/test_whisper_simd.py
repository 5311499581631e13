"""The wasm SIMD f16 <-> f32 conversions (whisper/patches/0001) agree bit for bit
with ggml's scalar reference: every half, f32 edge cases and 4M random values."""

from __future__ import annotations

from pathlib import Path

from rmbuild import toolchains, ui, wasi_runner, whisper

CHECK = Path(__file__).resolve().parent / "data" / "wasm_f16_simd_check.c"


def test_wasm_simd_f16_conversions_match_ggml_scalar_reference(tmp_path):
    flags = whisper.wasm_compile_flags(whisper.source())
    module = tmp_path / "f16check.wasm"
    ui.run([*toolchains.zig(), "cc", *flags, "-std=gnu11", CHECK, "-o", module, "-lm"], what="zig cc (f16 check)")
    result = wasi_runner.run(module, [], timeout=300)
    output = result.stdout.decode()
    assert result.exit_code == 0, output + result.stderr.decode()
    assert "0 mismatches" in output
