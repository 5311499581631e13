"""The Python API of the installed wheel: results as Python objects, conversions both
ways, exceptions, argument checking, Python nodes inside this interpreter."""

from __future__ import annotations

import array
import importlib.util
import json
import math
import os
import threading
from pathlib import Path

import pytest
import remotemedia_runtime as rm
from conftest import BAD_MANIFESTS, EXAMPLES
from reference import canon, encode, loads_cli

HAVE_NUMPY = importlib.util.find_spec("numpy") is not None


def passthrough(inputs=None):
    m = {"version": 1, "nodes": [{"id": "p", "type": "PassThrough"}]}
    if inputs is not None:
        m["inputs"] = inputs
    return m


def roundtrip(items):
    return rm.execute(passthrough(), inputs=items)["outputs"]["p"]


def test_numpy_mode_is_the_expected_one():
    expected = os.environ.get("REMOTEMEDIA_EXPECT_NUMPY")
    if expected is None:
        pytest.skip("REMOTEMEDIA_EXPECT_NUMPY not set (not run by nox -s wheels)")
    assert (expected == "1") == HAVE_NUMPY


def test_installed_wheel_not_the_source_tree():
    # The compiled module must come from site-packages (a wheel), not a build dir.
    assert "site-packages" in Path(rm.__file__).parts, rm.__file__
    assert rm.__version__ == "0.1.0"
    assert {"Multiply", "Python", "Resample", "Tone"} <= set(rm.NODE_TYPES)


def test_examples_give_the_hand_computed_results():
    assert rm.execute(EXAMPLES / "multiply_add.json") == {"outputs": {"out": [7, 21, -7, 2.0]}}
    # scale.py: x*3, negative items dropped, then +1
    assert rm.execute(EXAMPLES / "python_node.json") == {"outputs": {"out": [4, 8.5]}}
    # int stays int, float stays float
    out = rm.execute(EXAMPLES / "multiply_add.json", inputs=[1, 1.0])["outputs"]["out"]
    assert [(type(x), x) for x in out] == [(int, 3), (float, 3.0)]


def test_manifest_as_text_bytes_dict_and_path_agree():
    path = EXAMPLES / "multiply_add.json"
    text = path.read_text()
    forms = [path, text, text.encode(), json.loads(text)]
    results = [rm.execute(m) for m in forms]
    assert all(r == results[0] for r in results)
    assert rm.execute_json(path) == rm.execute_json(text)


def test_execute_json_is_the_cli_text_and_decodes_to_execute():
    text = rm.execute_json(EXAMPLES / "multiply_add.json", "[3, 0.5]")
    assert text == '{\n  "outputs": {\n    "out": [\n      7,\n      2.0\n    ]\n  }\n}\n'
    assert canon(loads_cli(text)) == canon(rm.execute(EXAMPLES / "multiply_add.json", inputs=[3, 0.5]))


TRICKY = [
    None,
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    0.0,
    -0.0,
    5e-324,
    1e300,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "héllo \u2603 \U0001f600",
    [],
    [1, [2.5, [None, "x"]]],
    {},
    {"b": 1, "a": 2},  # order is kept
    {"$f64": "NaN"},  # a map that looks like an encoding stays a map
    {"$audio": 1, "x": [1]},
    (1, 2),  # tuples come back as lists
]


def test_values_round_trip_and_match_the_cli_encoding():
    out = roundtrip(TRICKY)
    expected = [list(v) if isinstance(v, tuple) else v for v in TRICKY]
    assert canon(out) == canon(expected)
    # and the JSON path says the same thing
    text = rm.execute_json(json.dumps(passthrough()), json.dumps(encode(TRICKY)))
    assert canon(loads_cli(text)["outputs"]["p"]) == canon(expected)


def test_audio_results_are_numpy_float32_or_lists():
    out = rm.execute(EXAMPLES / "resample.json")["outputs"]["out"]
    (audio,) = out
    assert isinstance(audio, rm.Audio)
    assert (audio.sample_rate, audio.channels) == (16000, 1)
    if HAVE_NUMPY:
        import numpy as np

        assert isinstance(audio.samples, np.ndarray)
        assert audio.samples.dtype == np.float32
        assert audio.samples.ndim == 1
        assert audio.samples.flags.writeable
        audio.samples[0] = 1.0  # owned, writable
    else:
        assert isinstance(audio.samples, list)
        assert all(isinstance(x, float) for x in audio.samples)
    assert audio.frames == len(audio.samples) == 160
    text = rm.execute_json(EXAMPLES / "resample.json")
    assert canon(loads_cli(text)["outputs"]["out"][0]) == canon(
        rm.execute(EXAMPLES / "resample.json")["outputs"]["out"][0]
    )


def test_audio_inputs_from_lists_round_to_float32():
    a = rm.Audio([0.1, -0.5, 1e40, 3], 8000, 2)
    (b,) = roundtrip([a])
    assert (b.sample_rate, b.channels, b.frames) == (8000, 2, 2)
    got = list(b.samples.tolist() if HAVE_NUMPY else b.samples)
    assert got == [0.10000000149011612, -0.5, math.inf, 3.0]
    # Tone -> Multiply by an audio-number product is computed in f64, rounded to f32
    m = {
        "version": 1,
        "nodes": [{"id": "g", "type": "Multiply", "params": {"factor": 2}}],
    }
    (c,) = rm.execute(m, inputs=[rm.Audio([0.25, 1.5], 16000)])["outputs"]["g"]
    assert list(c.samples.tolist() if HAVE_NUMPY else c.samples) == [0.5, 3.0]


def test_audio_inputs_from_float32_buffers():
    # array('f') and memoryviews of one are read as bytes, C order, any strides.
    samples = [0.1, -0.5, 1e40, 3]
    expected = [0.10000000149011612, -0.5, math.inf, 3.0]
    for buf in [
        array.array("f", samples),
        memoryview(array.array("f", samples)),
        memoryview(array.array("f", samples)).cast("B").cast("f", (2, 2)),
        memoryview(array.array("f", [9.0, *samples]))[1:],
    ]:
        (b,) = roundtrip([rm.Audio(buf, 8000, 2)])
        assert (b.sample_rate, b.channels, b.frames) == (8000, 2, 2)
        assert list(b.samples.tolist() if HAVE_NUMPY else b.samples) == expected, buf


@pytest.mark.skipif(not HAVE_NUMPY, reason="needs numpy")
def test_audio_inputs_from_numpy_arrays():
    import numpy as np

    frames = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])  # float64, (frames, channels)
    (b,) = roundtrip([rm.Audio(frames, 44100, 2)])
    assert b.frames == 3
    assert b.samples.tobytes() == frames.astype(np.float32).ravel().tobytes()
    (c,) = roundtrip([rm.Audio(np.arange(4, dtype=np.float16), 100)])
    assert c.samples.tolist() == [0.0, 1.0, 2.0, 3.0]
    # integer PCM is refused (it would be 0..32767, not -1..1), naming the path
    with pytest.raises(rm.InputError, match=r"inputs\[0\]\.samples: expected a float numpy array .* got dtype int16"):
        roundtrip([rm.Audio(np.arange(4, dtype=np.int16), 100)])
    # numpy scalars and arrays as plain items
    assert roundtrip([np.float32(0.5), np.int64(7), np.array([[1, 2], [3, 4]])]) == [0.5, 7, [[1, 2], [3, 4]]]
    with pytest.raises(rm.InputError, match=r"inputs\[0\]\.samples: expected a 1-D array .* shape \(3, 2\)"):
        roundtrip([rm.Audio(frames, 44100, 1)])
    with pytest.raises(rm.InputError, match=r"expected a float numpy array"):
        roundtrip([rm.Audio(np.array(["a"]), 44100)])
    bad_item = r"^invalid inputs: inputs\[0\]\.samples\[1\]: expected a number, got numpy\.bool$"
    with pytest.raises(rm.InputError, match=bad_item):
        roundtrip([rm.Audio([np.float32(0.5), np.bool_(True)], 44100)])


@pytest.mark.skipif(not HAVE_NUMPY, reason="needs numpy")
def test_python_nodes_may_return_numpy_values():
    # Python nodes' results go through the same conversion as execute()'s inputs.
    src = (
        "import numpy as np\n"
        "from pipeline_values import Audio\n"
        "class Node:\n"
        "    def process(self, x):\n"
        "        a = Audio([], 8000, 2)\n"
        "        a.samples = np.array([[0.5, -0.25], [1.0, 2.0]])\n"
        "        return [np.float32(0.5), np.int64(7), np.array([[1, 2], [3, 4]]), a]\n"
    )
    (out,) = rm.execute(python_manifest(src), inputs=[1])["outputs"]["out"]
    assert out[:3] == [0.5, 7, [[1, 2], [3, 4]]]
    assert (out[3].sample_rate, out[3].channels) == (8000, 2)
    assert out[3].samples.tolist() == [0.5, -0.25, 1.0, 2.0]


def test_bad_audio_inputs_are_input_errors():
    cases = [
        (rm.Audio([0.0], 0), "invalid inputs: inputs[0].sample_rate: sample rate must be an integer from 1 to"),
        (rm.Audio([0.0], 16000, 65), "invalid inputs: inputs[0].channels: channels must be an integer from 1 to 64"),
        (rm.Audio([0.0], 16000, 2), "invalid inputs: inputs[0]: 1 samples is not a whole number of frames"),
        (rm.Audio([0.0], 16000.0), "invalid inputs: inputs[0].sample_rate: expected an int, got float"),
        (rm.Audio(["x"], 16000), "invalid inputs: inputs[0].samples[0]: expected a number, got str"),
        (
            rm.Audio("abc", 16000),
            "invalid inputs: inputs[0].samples: expected a list of numbers, a numpy array or a float32 buffer",
        ),
        (rm.Audio([0.5, True], 16000), "invalid inputs: inputs[0].samples[1]: expected a number, got bool"),
        (
            rm.Audio(array.array("d", [0.5]), 16000),
            "invalid inputs: inputs[0].samples: expected a float32 buffer (format 'f'), "
            "got array.array with format 'd'",
        ),
        (
            rm.Audio(memoryview(array.array("f", [0.0] * 6)).cast("B").cast("f", (2, 3)), 16000, 2),
            "invalid inputs: inputs[0].samples: expected a 1-D array (interleaved) "
            "or a 2-D array of shape (frames, 2), got shape (2, 3)",
        ),
        (rm.Audio([0.0], 2**70), "invalid inputs: inputs[0].sample_rate: int"),
    ]
    for audio, message in cases:
        with pytest.raises(rm.InputError) as info:
            roundtrip([audio])
        assert str(info.value).startswith(message), str(info.value)
        assert info.value.exit_code == 4


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{1, 2}], "invalid inputs: inputs[0]: cannot convert Python set to a pipeline value"),
        ([[1, b"x"]], "invalid inputs: inputs[0][1]: cannot convert Python bytes"),
        ([{"k": [object()]}], 'invalid inputs: inputs[0]["k"][0]: cannot convert Python object'),
        ([{1: 2}], "invalid inputs: inputs[0]: dict keys must be str, got int"),
        ([2**64 - 1], "invalid inputs: inputs[0]: int 18446744073709551615 does not fit in a signed 64-bit integer"),
        (["\ud800"], "invalid inputs: inputs[0]: str is not valid Unicode"),
        ({"a": 1}, "invalid inputs: expected a list of items, got dict"),
        (5, "invalid inputs: expected a list of items, got int"),
    ],
)
def test_unconvertible_inputs_are_input_errors(items, message):
    with pytest.raises(rm.InputError) as info:
        roundtrip(items)
    assert str(info.value).startswith(message), str(info.value)


def test_deep_and_self_referencing_inputs_fail_cleanly():
    deep: list = []
    for _ in range(500):
        deep = [deep]
    with pytest.raises(rm.InputError, match="nested deeper than 100 levels"):
        roundtrip([deep])
    loop: list = []
    loop.append(loop)
    with pytest.raises(rm.InputError, match="nested deeper than 100 levels"):
        roundtrip([loop])


def test_errors_carry_the_runtime_message_and_exit_code():
    with pytest.raises(rm.ManifestError) as info:
        rm.execute({"version": 1, "nodes": [{"id": "a", "type": "Multply"}]}, inputs=[1])
    e = info.value
    assert (
        str(e) == e.message == "invalid manifest: nodes[0].type: unknown node type 'Multply' (did you mean 'Multiply'?)"
    )
    assert (e.exit_code, e.kind) == (2, "manifest")
    assert isinstance(e, rm.PipelineError) and isinstance(e, RuntimeError)

    m = {"version": 1, "nodes": [{"id": "m", "type": "Multiply"}]}
    with pytest.raises(rm.NodeError) as info:
        rm.execute(m, inputs=[2, "two"])
    assert str(info.value) == "node 'm' (Multiply) failed on item 1: Multiply expects numbers or audio, got string"
    assert info.value.exit_code == 3
    assert info.value.kind == "node"

    with pytest.raises(rm.InputError) as info:
        rm.execute(m)
    assert str(info.value) == 'no inputs: pass inputs=[...] or give the manifest an "inputs" array'
    assert (info.value.exit_code, info.value.kind) == (4, "inputs")
    with pytest.raises(rm.InputError) as info:
        rm.execute_json(json.dumps(m))
    assert str(info.value) == 'no inputs: pass --input FILE or give the manifest an "inputs" array'
    with pytest.raises(rm.InputError, match=r"^invalid inputs: not valid JSON"):
        rm.execute_json(json.dumps(m), "[1,")


def test_checks_happen_in_the_cli_order():
    # invalid manifest wins over invalid inputs, invalid inputs over node failures
    with pytest.raises(rm.ManifestError):
        rm.execute({"version": 2, "nodes": []}, inputs=[{1}])
    bad_module = {
        "version": 1,
        "nodes": [{"id": "p", "type": "Python", "params": {"module_path": "nope.py", "class": "X"}}],
    }
    with pytest.raises(rm.InputError):
        rm.execute(bad_module, inputs=[{1}])
    with pytest.raises(
        rm.NodeError,
        match=r"^node 'p' \(Python\) failed to initialise: cannot read module_path 'nope\.py': file not found",
    ):
        rm.execute(bad_module, inputs=[1], base_dir=BAD_MANIFESTS)


def test_wrong_argument_types():
    with pytest.raises(TypeError, match="manifest must be JSON text"):
        rm.execute(42)
    with pytest.raises(TypeError, match="base_dir must be"):
        rm.execute("{}", base_dir=3)
    with pytest.raises(TypeError, match="inputs_json must be JSON text"):
        rm.execute_json("{}", [1])
    with pytest.raises(rm.ManifestError, match=r"^invalid manifest: not valid UTF-8"):
        rm.execute(b"\xff\xfe")
    with pytest.raises(rm.ManifestError, match=r"^invalid manifest: cannot be written as JSON: Out of range float"):
        rm.execute({"version": 1, "nodes": [{"id": "m", "type": "Multiply", "params": {"factor": math.nan}}]})
    with pytest.raises(rm.ManifestError, match=r"^invalid manifest: cannot be written as JSON: .*set"):
        rm.execute({"version": {1}})
    with pytest.raises(rm.ManifestError, match=r"^invalid manifest: "):
        rm.execute("not json")
    with pytest.raises(FileNotFoundError):
        rm.execute(Path("/nonexistent/manifest.json"))


def test_base_dir_resolves_relative_paths():
    manifest = (EXAMPLES / "python_node.json").read_text()
    # As text, relative paths resolve against base_dir (default: the working directory).
    assert rm.execute(manifest, base_dir=EXAMPLES) == {"outputs": {"out": [4, 8.5]}}
    assert rm.execute(manifest, base_dir=str(EXAMPLES))["outputs"]["out"] == [4, 8.5]
    with pytest.raises(rm.NodeError, match=r"cannot read module_path '../python/scale.py': file not found"):
        rm.execute(manifest, base_dir=Path("/"))


def python_manifest(source: str, cls: str = "Node", init=None):
    params = {"source": source, "class": cls}
    if init is not None:
        params["init"] = init
    return {
        "version": 1,
        "nodes": [{"id": "py", "type": "Python", "params": params}, {"id": "out", "type": "Output"}],
        "connections": [{"from": "py", "to": "out"}],
    }


def test_python_nodes_run_in_this_interpreter(capsys):
    import sys

    src = (
        "import sys\n"
        "from pipeline_values import Audio\n"
        "class Node:\n"
        "    def __init__(self, k):\n"
        "        self.k = k\n"
        "        self.seen = 0\n"
        "    def process(self, x):\n"
        "        self.seen += 1\n"
        "        print('item', self.seen)\n"
        "        sys.modules['__main__'].__dict__.setdefault('rm_marker', 0)\n"
        "        if isinstance(x, Audio):\n"
        "            return Audio([s * self.k for s in x.samples], x.sample_rate, x.channels)\n"
        "        return None if x == 'drop' else [x, self.seen, self.k]\n"
    )
    out = rm.execute(python_manifest(src, init={"k": 2}), inputs=[1, "drop", 2.5, rm.Audio([0.25], 8000)])["outputs"][
        "out"
    ]
    assert out[:2] == [[1, 1, 2], [2.5, 3, 2]]
    assert out[2] == rm.Audio([0.5], 8000)
    # print() goes to this process's stdout (the CLI sends it to stderr)
    assert capsys.readouterr().out == "item 1\nitem 2\nitem 3\nitem 4\n"
    assert "rm_marker" in sys.modules["__main__"].__dict__  # same interpreter
    # The nodes' Audio class is accepted as an input too.
    import pipeline_values

    assert roundtrip([pipeline_values.Audio([0.25, 0.5], 8000, 2)]) == [rm.Audio([0.25, 0.5], 8000, 2)]


def test_python_node_exceptions_become_node_errors():
    src = "class Node:\n    def process(self, x):\n        return 1 // x\n"
    with pytest.raises(rm.NodeError) as info:
        rm.execute(python_manifest(src), inputs=[1, 0])
    lines = str(info.value).splitlines()
    assert lines[0] == "node 'py' (Python) failed on item 1: ZeroDivisionError: integer division or modulo by zero"
    assert lines[1] == "Traceback (most recent call last):"
    assert '  File "<inline:py>", line 3, in process' in lines
    for bad, message in [
        (
            "class Node:\n    def process(self, x):\n        return {1, 2}\n",
            "cannot use the value returned by process(): process() result: cannot convert Python set",
        ),
        ("class Node:\n    def process(self, x):\n        raise SystemExit(3)\n", "SystemExit: 3"),
        ("class Node:\n    def process(self, x):\n        raise KeyboardInterrupt\n", "KeyboardInterrupt"),
        ("def f(:\n", "SyntaxError"),
    ]:
        with pytest.raises(rm.NodeError) as info:
            rm.execute(python_manifest(bad), inputs=[1])
        assert message in str(info.value), str(info.value)


def test_concurrent_runs_from_threads():
    src = "class Node:\n    def process(self, x):\n        return x * 2\n"
    m = {
        "version": 1,
        "nodes": [
            {"id": "tone", "type": "Tone", "params": {"frequency": 440, "duration": 0.2}},
            {"id": "r", "type": "Resample", "params": {"target_rate": 44100}},
            {"id": "py", "type": "Python", "params": {"source": src, "class": "Node"}},
        ],
        "connections": [{"from": "tone", "to": "r"}],
    }
    expected = rm.execute(m, inputs=list(range(5)))
    results: list = []
    errors: list = []

    def work():
        try:
            results.append(rm.execute(m, inputs=list(range(5))))
        except BaseException as exc:  # report in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4
    assert all(canon(r) == canon(expected) for r in results)
    assert expected["outputs"]["py"] == [0, 2, 4, 6, 8]


def test_exceptions_pickle():
    import pickle

    e = pickle.loads(pickle.dumps(rm.NodeError("node 'x' failed")))
    assert (type(e), str(e), e.exit_code) == (rm.NodeError, "node 'x' failed", 3)
