"""The .rmpkg format (packaging/rmpkg.py) and the bundle builder (rmbuild.build.pack.bundle).

Format tests use small synthetic bundles; the last tests build the real demo
bundles (through the build package, which builds the wasm runtime if needed),
run them in wasmtime exactly as their metadata says and compare with the
native runtime.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from rmbuild.build.pack import bundle
from rmbuild.build.wasm import module as wasm_module
from rmbuild.build.wasm import numpy as numpy_build
from rmbuild.core import paths
from rmbuild.core.rmpkg import rmpkg

META = {
    "name": "demo",
    "version": "1.0.0",
    "runtime_target": "wasm32-wasi",
    "runtime": {
        "module": "runtime/x.wasm",
        "argv": ["x", "run", "{manifest}"],
        "env": {"A": "1"},
        "output": "json-stdout",
    },
    "wasi_deps": [{"name": "pipelines", "source": "pipelines", "mount": "/pipelines"}],
    "models": [],
    "pipelines": [{"name": "p", "manifest": "pipelines/manifests/p.json"}],
}
FILES = {
    "runtime/x.wasm": b"\0asm\1\0\0\0",
    "pipelines/manifests/p.json": b'{"version": 1}',
    "pipelines/python/mod.py": b"x = 1\n",
}


@pytest.fixture
def good(tmp_path: Path) -> Path:
    out = tmp_path / "demo.rmpkg"
    rmpkg.write(out, META, FILES)
    return out


def _members(path: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(path.read_bytes()))) as tf:
        return [(m.name, tf.extractfile(m).read()) for m in tf.getmembers()]


def _repack(path: Path, members: list[tuple[str, bytes]]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buf.getvalue()))
    return path


def _refused(path: Path, pattern: str) -> str:
    with pytest.raises(rmpkg.BundleError, match=pattern) as info:
        rmpkg.read(path)
    return str(info.value)


def test_round_trip(good: Path) -> None:
    b = rmpkg.read(good)
    assert b.files == FILES
    assert b.metadata["format"] == "rmpkg" and b.metadata["format_version"] == 1
    assert [m["path"] for m in b.metadata["members"]] == sorted(FILES)
    assert _members(good)[0][0] == "rmpkg.json"


def test_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.rmpkg", tmp_path / "b.rmpkg"
    rmpkg.write(a, META, FILES)
    rmpkg.write(b, META, dict(reversed(FILES.items())))
    assert a.read_bytes() == b.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(a.read_bytes()))) as tf:
        assert {(m.mtime, m.uid, m.gid, m.mode, m.uname) for m in tf.getmembers()} == {(0, 0, 0, 0o644, "")}


def test_pinned_sha256(good: Path) -> None:
    rmpkg.read(good, rmpkg.read(good).sha256)
    with pytest.raises(rmpkg.BundleError, match=r"expected 0{64}: refusing it"):
        rmpkg.read(good, "0" * 64)


def test_changed_member(good: Path) -> None:
    members = [(n, d.replace(b"1", b"2") if n.endswith(".py") else d) for n, d in _members(good)]
    msg = _refused(_repack(good, members), "member 'pipelines/python/mod.py' has sha256")
    assert "corrupted or was tampered with" in msg


def test_resized_member(good: Path) -> None:
    members = [(n, d + b"#" if n.endswith(".py") else d) for n, d in _members(good)]
    _refused(_repack(good, members), r"has 7 bytes, rmpkg.json says 6")


def test_missing_member(good: Path) -> None:
    members = [(n, d) for n, d in _members(good) if not n.endswith(".py")]
    _refused(_repack(good, members), "listed in rmpkg.json but missing from the archive")


def test_unlisted_member(good: Path) -> None:
    _refused(_repack(good, [*_members(good), ("extra.txt", b"hi")]), "'extra.txt' is not listed in rmpkg.json")


def test_metadata_not_first(good: Path) -> None:
    members = _members(good)
    _refused(_repack(good, [*members[1:], members[0]]), "first member must be rmpkg.json")


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"format_version": 2}, "format_version: expected 1, got 2"),
        ({"runtime_target": "wasm32-unknown"}, 'runtime_target: expected "wasm32-wasi"'),
        ({"surprise": 1}, "unknown field 'surprise'"),
        ({"default_pipeline": "nope"}, "default_pipeline 'nope' is not one of the pipelines"),
    ],
)
def test_bad_metadata(good: Path, change: dict, pattern: str) -> None:
    members = _members(good)
    meta = {**json.loads(members[0][1]), **change}
    _refused(_repack(good, [("rmpkg.json", json.dumps(meta).encode()), *members[1:]]), pattern)


def test_unsafe_member_path(good: Path) -> None:
    members = _members(good)
    meta = json.loads(members[0][1])
    meta["members"][0]["path"] = "../escape"
    _refused(_repack(good, [("rmpkg.json", json.dumps(meta).encode()), *members[1:]]), "does not match")


def test_corrupted_bytes(good: Path) -> None:
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    good.write_bytes(bytes(data))
    _refused(good, "damaged|sha256")


def test_cli_messages(good: Path, tmp_path: Path) -> None:
    script = paths.PACKAGING_DIR / "rmpkg.py"
    ok = subprocess.run([sys.executable, script, "verify", good], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "valid .rmpkg" in ok.stdout
    bad = tmp_path / "bad.rmpkg"
    bad.write_bytes(good.read_bytes()[:-40])
    out = subprocess.run([sys.executable, script, "verify", bad], capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert out.stderr.startswith("error: bad.rmpkg: not a readable .rmpkg")


def test_schema_file_is_what_the_validator_reads() -> None:
    schema = json.loads((paths.PACKAGING_DIR / "rmpkg.schema.json").read_text())
    assert schema["properties"]["runtime_target"]["const"] == rmpkg.RUNTIME_TARGET


# ---------------------------------------------------------------------------
# the real bundles


@pytest.fixture(scope="module")
def built() -> dict:
    index = bundle.build_selected()
    return json.loads(index.read_text())


def test_real_bundles_verify_and_are_small(built: dict) -> None:
    for entry in built["bundles"]:
        b = rmpkg.read(bundle.BUNDLES_DIR / entry["file"], entry["sha256"])
        assert b.metadata["runtime_target"] == "wasm32-wasi"
        # runtime + stdlib under 8 MiB; models come on top (they hardly compress), and so
        # does numpy where a node uses it: its stored zip and its C modules in both modules
        models = sum(len(data) for member, data in b.files.items() if member.startswith("models/"))
        numpy_zip = b.files.get(f"{bundle.STDLIB_SOURCE}/{numpy_build.ZIP_NAME}")
        numpy_extra = 0
        if numpy_zip is not None:
            numpy_extra = len(numpy_zip) + sum(
                path(numpy=True).stat().st_size - path(numpy=False).stat().st_size
                for path in (wasm_module.module_path, wasm_module.reactor_path)
            )
        assert b.files[bundle.MODULE_MEMBER] == wasm_module.module_path(numpy=numpy_zip is not None).read_bytes()
        assert entry["size"] < (8 << 20) + models + numpy_extra, f"{entry['name']} is {entry['size']} bytes"


def test_real_bundle_rewrites_to_the_same_bytes(built: dict, tmp_path: Path) -> None:
    for entry in built["bundles"]:
        b = rmpkg.read(bundle.BUNDLES_DIR / entry["file"])
        meta = {k: v for k, v in b.metadata.items() if k != "members"}
        rmpkg.write(tmp_path / entry["file"], meta, b.files)
        assert (tmp_path / entry["file"]).read_bytes() == (bundle.BUNDLES_DIR / entry["file"]).read_bytes()


def test_real_bundles_equal_native(built: dict) -> None:
    for entry in built["bundles"]:
        b = rmpkg.read(bundle.BUNDLES_DIR / entry["file"])
        for p in b.metadata["pipelines"]:
            want = bundle.run_native(entry["name"], p["name"])
            inputs = bundle.sample_inputs(bundle.pipeline_spec(entry["name"], p["name"]))
            got = bundle.run_in_wasmtime(bundle.BUNDLES_DIR / entry["file"], p["name"], inputs=inputs)
            assert got.exit_code == 0, got.stderr.decode()
            assert got.stdout == want, f"{entry['name']}/{p['name']}"


def test_whisper_bundle_transcribes_jfk(built: dict) -> None:
    from rmbuild.build import whisper

    spec = bundle.pipeline_spec("whisper", "transcribe")
    got = bundle.run_in_wasmtime(bundle.BUNDLES_DIR / "whisper.rmpkg", "transcribe", inputs=bundle.sample_inputs(spec))
    assert got.exit_code == 0, got.stderr.decode()
    out = json.loads(got.stdout)["outputs"]["out"][0]
    assert whisper.normalise(out["text"]) == whisper.normalise(whisper.JFK_TEXT)
    assert out["segments"] and out["language"] == "en"
