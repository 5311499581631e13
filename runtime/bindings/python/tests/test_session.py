"""``remotemedia_runtime.Session``: a pipeline opened once, fed one item at a time.
Merging every push's lists and the close's gives ``execute``'s result."""

from __future__ import annotations

import json
import threading

import pytest
import remotemedia_runtime as rm
from conftest import EXAMPLES
from reference import canon, loads_cli

EXAMPLE_NAMES = [
    "multiply_add.json",
    "fan_out_fan_in.json",
    "resample.json",
    "audio_window.json",
    "python_node.json",
    "python_inline.json",
]


def merge(docs):
    merged = {}
    for doc in docs:
        assert list(doc) == ["outputs"]
        for node, values in doc["outputs"].items():
            merged.setdefault(node, []).extend(values)
    return {"outputs": merged}


def manifest_inputs(path):
    return json.loads(path.read_text())["inputs"]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_merged_pushes_equal_execute(name):
    path = EXAMPLES / name
    items = rm.execute(path)  # the reference
    inputs = loads_cli(json.dumps(manifest_inputs(path)))
    with rm.Session(path) as session:
        docs = [session.push(item) for item in inputs]
        docs.append(session.close())
    assert canon(merge(docs)) == canon(items)
    # Every document names every result node.
    assert all(list(doc["outputs"]) == list(items["outputs"]) for doc in docs)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_merged_push_json_lines_equal_execute_json(name):
    path = EXAMPLES / name
    with rm.Session(path) as session:
        lines = [session.push_json(json.dumps(item)) for item in manifest_inputs(path)]
        closed = session.close()
    assert all(line.startswith('{"outputs":{') and "\n" not in line for line in lines)
    merged = merge([*(loads_cli(line) for line in lines), closed])
    assert canon(merged) == canon(loads_cli(rm.execute_json(path)))


def test_audio_window_values_come_with_the_item_that_completes_them():
    path = EXAMPLES / "audio_window.json"
    with rm.Session(path) as session:
        counts = [len(session.push(None)["outputs"]["out"]) for _ in range(3)]
        rest = session.close()["outputs"]["out"]
    assert counts == [0, 1, 1]
    assert [w.frames for w in rest] == [3200]
    assert session.closed


def test_push_json_is_the_stream_line():
    with rm.Session(EXAMPLES / "multiply_add.json") as session:
        assert session.push_json("3") == '{"outputs":{"out":[7]}}'
        assert session.push_json('{"$f64": "inf"}') == '{"outputs":{"out":[{"$f64":"inf"}]}}'
        assert session.push(0.5) == {"outputs": {"out": [2.0]}}


def test_python_node_state_lasts_the_session():
    with rm.Session(EXAMPLES / "python_inline.json") as session:
        assert session.push(1) == {"outputs": {"out": [{"item": 1, "total": 101}]}}
        assert session.push(2) == {"outputs": {"out": [{"item": 2, "total": 103}]}}
        assert session.close() == {"outputs": {"out": []}}


def test_open_raises_what_execute_raises():
    with pytest.raises(rm.ManifestError, match=r"^invalid manifest: version: unsupported manifest version 2"):
        rm.Session({"version": 2, "nodes": []})
    bad_module = {
        "version": 1,
        "nodes": [{"id": "p", "type": "Python", "params": {"module_path": "nope.py", "class": "X"}}],
    }
    with pytest.raises(rm.NodeError) as info:
        rm.Session(bad_module)
    assert (
        str(info.value) == "node 'p' (Python) failed to initialise: cannot read module_path 'nope.py': file not found"
    )
    assert info.value.exit_code == 3
    with pytest.raises(TypeError, match="manifest must be JSON text"):
        rm.Session(42)


def test_bad_items_are_input_errors_and_the_session_goes_on():
    with rm.Session(EXAMPLES / "multiply_add.json") as session:
        with pytest.raises(rm.InputError, match=r"^invalid inputs: item: cannot convert Python set"):
            session.push({1})
        with pytest.raises(rm.InputError) as info:
            session.push_json("[1,")
        assert str(info.value) == "invalid inputs: not valid JSON: EOF while parsing a value at line 1 column 3"
        assert info.value.exit_code == 4
        with pytest.raises(TypeError, match="item_json must be JSON text"):
            session.push_json(3)
        assert session.push(1) == {"outputs": {"out": [3]}}


def test_a_node_error_fails_the_session():
    session = rm.Session(EXAMPLES / "multiply_add.json")
    assert session.push(1) == {"outputs": {"out": [3]}}
    first = "node 'double' (Multiply) failed on item 1: Multiply expects numbers or audio, got string"
    with pytest.raises(rm.NodeError) as info:
        session.push("x")
    assert str(info.value) == first
    with pytest.raises(rm.NodeError) as info:
        session.push(2)
    assert str(info.value) == f"session failed earlier: {first}"
    assert info.value.exit_code == 3
    assert session.close() == {"outputs": {"out": []}}
    for call in (lambda: session.push(1), lambda: session.push_json("1"), session.close):
        with pytest.raises(rm.PipelineError) as info:
            call()
        assert (type(info.value), str(info.value), info.value.exit_code) == (
            rm.PipelineError,
            "the session is closed",
            1,
        )


def test_context_manager_closes_and_keeps_the_blocks_exception():
    with rm.Session(EXAMPLES / "multiply_add.json") as session:
        session.push(1)
    assert session.closed
    with pytest.raises(KeyError), rm.Session(EXAMPLES / "multiply_add.json") as other:
        raise KeyError("mine")
    assert other.closed
    # closing by hand inside the block is fine
    with rm.Session(EXAMPLES / "multiply_add.json") as third:
        third.close()
    assert third.closed


def test_sessions_from_threads():
    errors = []

    def work(k):
        try:
            with rm.Session(EXAMPLES / "python_node.json") as session:
                for i in range(20):
                    got = session.push(i + k)["outputs"]["out"]
                    assert got == [3 * (i + k) + 1], got
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
