"""A small reader of wasm binaries: sections, custom-section stripping, the stack
layout and the sizes a person cares about (raw, stripped, gzip)."""

from __future__ import annotations

import gzip
from pathlib import Path

from ...core.ui import BuildError

SECTION_CUSTOM, SECTION_GLOBAL, SECTION_DATA = 0, 6, 11


def _leb128(data: bytes, i: int, signed: bool = False) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if signed and byte & 0x40:
                value -= 1 << shift
            return value, i


def sections(data: bytes) -> list[tuple[int, int, int, int]]:
    """(id, start of section, start of body, end) of every section of a wasm module."""
    if data[:4] != b"\0asm":
        raise BuildError("not a wasm module")
    out = []
    i = 8
    while i < len(data):
        start, section_id = i, data[i]
        size, body = _leb128(data, i + 1)
        i = body + size
        out.append((section_id, start, body, i))
    return out


def strip_custom_sections(data: bytes) -> bytes:
    """The module without custom sections (names, producers, debug info)."""
    kept = (data[start:end] for sid, start, _body, end in sections(data) if sid != SECTION_CUSTOM)
    return data[:8] + b"".join(kept)


def stack_layout(module: Path) -> dict[str, int]:
    """Initial stack pointer (global 0) and the lowest data address: stack first means
    ``stack_pointer <= lowest_data``, so an overflow traps instead of overwriting data."""
    data = module.read_bytes()
    layout = {}
    for sid, _start, body, _end in sections(data):
        if sid == SECTION_GLOBAL:  # type, mutability, then `i32.const N; end`
            _count, i = _leb128(data, body)
            if data[i] != 0x7F or data[i + 2] != 0x41:
                raise BuildError("global 0 is not an i32 initialised by a constant")
            layout["stack_pointer"], _ = _leb128(data, i + 3, signed=True)
        elif sid == SECTION_DATA:  # the first active segment's offset
            _count, i = _leb128(data, body)
            if data[i] == 0 and data[i + 1] == 0x41:
                layout["lowest_data"], _ = _leb128(data, i + 2, signed=True)
    return layout


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def sizes(raw: Path) -> dict[str, int]:
    data = raw.read_bytes()
    stripped = strip_custom_sections(data)
    return {"raw_bytes": len(data), "stripped_bytes": len(stripped), "gzip_bytes": gzip_size(stripped)}
