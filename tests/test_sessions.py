"""Sessions on every host: `stream` natively, in wasmtime and in node:wasi, and the
reactor module in wasmtime. Each gives the same result lines, and the lines merged
equal one-shot `run` fed the same items. Faults keep every earlier result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rmbuild.build import native as native_build
from rmbuild.build import whisper
from rmbuild.build.wasm import module as wasm_module
from rmbuild.checks import whisper_pipeline as wp
from rmbuild.core import paths
from rmbuild.run import executor, reactor, wasi

MANIFESTS = paths.EXAMPLE_MANIFESTS


@pytest.fixture(scope="module")
def hosts() -> dict[str, executor.Host]:
    layout = wasm_module.layout()
    return {"native": native_build.host(), "wasmtime": executor.Wasmtime(layout), "node": executor.Node(layout)}


@pytest.fixture(scope="module")
def reactor_layout() -> wasi.Layout:
    return wasm_module.layout()._replace(module=wasm_module.reactor_path())


def _items(manifest: Path) -> list:
    return json.loads(manifest.read_text())["inputs"]


def _ndjson(items: list) -> bytes:
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def merge(lines: list[str]) -> str:
    """Every line's lists appended in order: what one-shot run prints (compact)."""
    outputs: dict[str, list] = {}
    for line in lines:
        for node, values in json.loads(line)["outputs"].items():
            outputs.setdefault(node, []).extend(values)
    return json.dumps({"outputs": outputs}, separators=(",", ":"), ensure_ascii=False)


def _reactor_lines(layout: wasi.Layout, manifest: Path, items: list) -> list[str]:
    r = reactor.Reactor(
        layout._replace(preopens={**layout.preopens, **executor.same_path_preopens(manifest.parent.parent)})
    )
    try:
        session = r.open(manifest.read_text(), str(manifest.parent))
        lines = [session.push(json.dumps(item)) for item in items]
        flushed = session.close()
    finally:
        r.close()
    if any(values for values in json.loads(flushed)["outputs"].values()):
        lines.append(flushed)
    return lines


@pytest.mark.parametrize("name", ["multiply_add", "python_inline", "python_node", "fan_out_fan_in", "audio_window"])
def test_every_host_gives_the_same_lines_and_they_merge_into_run(hosts, reactor_layout, name) -> None:
    manifest = MANIFESTS / f"{name}.json"
    items = _items(manifest)
    one_shot = hosts["native"].run(executor.run_args(manifest)).check("run")
    streams = {
        host: h.run(["stream", str(manifest)], stdin=_ndjson(items), dirs=[paths.EXAMPLES_DIR]).check(f"stream {host}")
        for host, h in hosts.items()
    }
    native_lines = streams["native"].text.splitlines()
    for host, out in streams.items():
        assert out.streams == streams["native"].streams, host
    assert _reactor_lines(reactor_layout, manifest, items) == native_lines
    assert merge(native_lines) + "\n" == one_shot.text
    assert len(native_lines) >= len(items)  # one line per item (+ the flush's, if it produced values)


def test_python_state_lives_across_items(hosts) -> None:
    """python_inline keeps a running total: a session is one instance, not one per item."""
    args = ["stream", str(MANIFESTS / "python_inline.json")]
    out = hosts["wasmtime"].run(args, stdin=b"1\n2\n3\n", dirs=[paths.EXAMPLES_DIR])
    assert out.streams == hosts["native"].run(args, stdin=b"1\n2\n3\n").streams
    totals = [json.loads(line)["outputs"]["out"][0]["total"] for line in out.text.splitlines()]
    assert totals == [101, 103, 106]


@pytest.mark.parametrize(
    ("stdin", "code", "message", "kept"),
    [
        (b"1\n2\n[oops\n4\n", 4, "error: invalid inputs: line 3: ", 2),
        (b"1\n2\n3", 4, "error: invalid inputs: line 3: the input ended in the middle of a line", 2),
        (b'1\n"two"\n3\n', 3, "error: node 'double' (Multiply) failed on item 1: ", 1),
        (b"\n\n1\n\n", 0, "", 1),
    ],
    ids=["malformed-line", "truncated-last-line", "node-error", "blank-lines"],
)
def test_stream_faults_keep_earlier_results_on_every_host(hosts, stdin, code, message, kept) -> None:
    args = ["stream", str(MANIFESTS / "multiply_add.json")]
    results = {host: h.run(args, stdin=stdin, dirs=[paths.EXAMPLES_DIR]) for host, h in hosts.items()}
    native = results["native"]
    assert native.exit_code == code, native.error_text
    assert native.error_text.startswith(message)
    assert len(native.text.splitlines()) == kept
    for host, out in results.items():
        assert out.streams == native.streams, host


def test_reactor_faults(reactor_layout) -> None:
    r = reactor.Reactor(reactor_layout)
    try:
        with pytest.raises(reactor.SessionError) as info:
            r.open('{"version": 1, "nodes": [{"id": "a", "type": "Multply"}]}')
        assert info.value.exit_code == 2 and "did you mean 'Multiply'" in info.value.message
        session = r.open((MANIFESTS / "multiply_add.json").read_text())
        assert json.loads(session.push("1"))["outputs"]["out"] == [3]
        with pytest.raises(reactor.SessionError) as info:
            session.push("[bad")
        assert info.value.exit_code == 4
        assert json.loads(session.push("2"))["outputs"]["out"] == [5], "a malformed item leaves the session as it was"
        with pytest.raises(reactor.SessionError) as info:
            session.push('"x"')
        assert info.value.exit_code == 3
        with pytest.raises(reactor.SessionError, match="session failed earlier"):
            session.push("3")
        session.close()
        with pytest.raises(reactor.SessionError) as info:
            session.push("4")
        assert (info.value.exit_code, info.value.message) == (1, "the session is closed")
    finally:
        r.close()


def test_the_whisper_model_is_loaded_once_per_session(reactor_layout, tmp_path) -> None:
    """The model file is deleted after open: every later item still transcribes, so
    nothing reads it again."""
    model = Path(shutil.copy2(whisper.models()["q5_1"], tmp_path / "m.bin"))
    audio = Path(shutil.copy2(whisper.jfk_wav(), tmp_path / "jfk.wav"))
    manifest = wp.write_manifest(tmp_path, model)
    layout = reactor_layout._replace(preopens={**reactor_layout.preopens, **executor.same_path_preopens(tmp_path)})
    r = reactor.Reactor(layout)
    try:
        session = r.open(manifest.read_text(), str(tmp_path))
        model.unlink()
        texts = [json.loads(session.push(json.dumps(str(audio))))["outputs"]["out"][0]["text"] for _ in range(2)]
        session.close()
    finally:
        r.close()
    assert texts[0] == texts[1]
    assert whisper.normalise(texts[0]) == whisper.normalise(whisper.JFK_TEXT)


def test_no_output_is_lost_to_a_slow_reader_under_node_wasi(hosts, tmp_path) -> None:
    """node:wasi writes to a non-blocking pipe: with a slow reader a write would block
    (EAGAIN); the runtime waits instead of failing, and every byte arrives."""
    source = "class Big:\n    def process(self, n):\n        return 'x' * n\n"
    manifest = tmp_path / "big.json"
    manifest.write_text(
        json.dumps(
            {
                "version": 1,
                "nodes": [{"id": "big", "type": "Python", "params": {"class": "Big", "source": source}}],
                "inputs": [300_000, 300_000],
            }
        )
    )
    want = hosts["native"].run(executor.run_args(manifest)).check("native")
    layout = hosts["node"].layout
    cmd = ["node", "--no-warnings", str(wasi.NODE_RUNNER)]
    for guest, host in {**layout.preopens, **executor.same_path_preopens(tmp_path)}.items():
        cmd += ["--dir", f"{host}::{guest}"]
    for key, value in layout.env.items():
        cmd += ["--env", f"{key}={value}"]
    cmd += [str(layout.module), "--", *executor.run_args(manifest)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    received = bytearray()
    time.sleep(2)  # let the writer fill the pipe first
    while chunk := os.read(proc.stdout.fileno(), 4096):
        received += chunk
        time.sleep(0.002)
    err = proc.stderr.read() if proc.stderr else b""
    assert proc.wait(timeout=120) == 0, err.decode()
    assert len(received) > 512 * 1024
    assert bytes(received) == want.stdout
