"""The machine a report was measured on: CPU model, the SIMD flags that decide
native performance (AVX2, AVX-512, ...), cores, OS and Python."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

# The x86 flags that change what native code (ggml with -march=native) can use.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni")


def _cpuinfo() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() not in fields:
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or "unknown"


def simd_flags() -> list[str]:
    present = set(_cpuinfo().get("flags", "").split())
    return [f for f in SIMD_FLAGS if f in present]


def describe() -> dict[str, object]:
    """What every benchmark report records about where it ran."""
    return {
        "cpu": cpu_model(),
        "simd_flags": simd_flags(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def summary() -> str:
    """One line for README tables and logs: ``AMD EPYC, 2 cores, avx2 fma avx512f``."""
    return f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(simd_flags()) or 'no x86 SIMD flags'}"
