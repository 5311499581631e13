"""An independent reading of the runtime's JSON value encoding (runtime/README.md,
"Value encoding"), to compare the wheel's Python results with the CLI's JSON text."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import remotemedia_runtime as rm


def decode(j: Any) -> Any:
    """JSON (as parsed by ``json.loads``) -> the Python value ``execute`` should return."""
    if isinstance(j, list):
        return [decode(x) for x in j]
    if isinstance(j, dict):
        if len(j) == 1:
            ((key, val),) = j.items()
            if key == "$f64":
                return {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf}[val]
            if key == "$audio":
                raw = base64.b64decode(val["data_b64"])
                samples = list(struct.unpack(f"<{len(raw) // 4}f", raw))
                return rm.Audio(samples, val["sample_rate"], val.get("channels", 1))
            if key == "$map":
                return {k: decode(v) for k, v in val.items()}
        return {k: decode(v) for k, v in j.items()}
    return j


def encode(v: Any) -> Any:
    """Python value -> JSON-able value in the runtime's input encoding."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"$f64": "NaN" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, list | tuple):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        inner = {k: encode(x) for k, x in v.items()}
        return {"$map": inner} if len(v) == 1 and next(iter(v)) in ("$f64", "$audio", "$map") else inner
    if isinstance(v, rm.Audio):
        raw = struct.pack(f"<{len(v.samples)}f", *[float(x) for x in v.samples])
        data = base64.b64encode(raw).decode()
        return {"$audio": {"sample_rate": v.sample_rate, "channels": v.channels, "data_b64": data}}
    return v


def _f32_bytes(samples: Any) -> bytes:
    if hasattr(samples, "dtype"):
        assert str(samples.dtype) == "float32", samples.dtype
        return samples.astype("<f4").tobytes()
    assert isinstance(samples, list), type(samples)
    return struct.pack(f"<{len(samples)}f", *samples)


def canon(v: Any) -> Any:
    """A form where == means identical: type-tagged, floats by bits (any NaN equal),
    dict key order kept, audio by its float32 bytes."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else struct.pack("<d", v))
    if isinstance(v, list):
        return ("list", [canon(x) for x in v])
    if isinstance(v, dict):
        return ("dict", [(k, canon(x)) for k, x in v.items()])
    if isinstance(v, rm.Audio):
        return ("audio", v.sample_rate, v.channels, _f32_bytes(v.samples))
    raise AssertionError(f"unexpected type in a result: {type(v).__name__}")


def loads_cli(stdout: str) -> Any:
    return decode(json.loads(stdout))
