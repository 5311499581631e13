"""Audio as a float32 buffer, in Python nodes run by the wheel and in the wheel's own
``Audio``: the same behaviour as the CLI and the wasm module (runtime/README.md)."""

from __future__ import annotations

import array
import importlib.util

import pytest
import remotemedia_runtime as rm

HAVE_NUMPY = importlib.util.find_spec("numpy") is not None


def node(source: str) -> dict:
    return {
        "version": 1,
        "nodes": [{"id": "py", "type": "Python", "params": {"class": "Node", "source": source}}],
    }


def test_nodes_get_an_array_f_and_a_list_only_on_demand():
    src = (
        "from pipeline_values import Audio\n"
        "class Node:\n"
        "    def process(self, a):\n"
        "        facts = [type(a._data).__name__, a.buffer.format, a.buffer.obj is a._data]\n"
        "        out = Audio(a.buffer, a.sample_rate, a.channels)\n"
        "        return [facts, out]\n"
    )
    (got,) = rm.execute(node(src), inputs=[rm.Audio([0.5, -0.25, 1.0, 2.0], 8000, 2)])["outputs"]["py"]
    assert got[0] == ["array", "f", True]
    assert (got[1].sample_rate, got[1].channels, got[1].frames) == (8000, 2, 2)
    assert list(got[1].buffer) == [0.5, -0.25, 1.0, 2.0]


def test_the_wheels_audio_reads_as_a_buffer():
    a = rm.Audio(array.array("f", [0.5, 1.5]), 16000)
    view = a.buffer
    assert (view.format, view.tolist()) == ("f", [0.5, 1.5])
    assert view.obj is a.samples  # zero-copy
    assert rm.Audio([0.1, 0.2], 16000).buffer.tolist() == list(array.array("f", [0.1, 0.2]))


@pytest.mark.skipif(not HAVE_NUMPY, reason="needs numpy")
def test_numpy_in_nodes_and_results():
    import numpy as np

    src = (
        "import numpy as np\n"
        "from pipeline_values import Audio\n"
        "class Node:\n"
        "    def process(self, a):\n"
        "        x = a.array\n"
        "        assert x.dtype == np.float32 and np.shares_memory(x, np.frombuffer(a.buffer, np.float32))\n"
        "        return Audio(x.reshape(-1, a.channels) * 2, a.sample_rate, a.channels)\n"
    )
    (out,) = rm.execute(node(src), inputs=[rm.Audio([0.5, -0.25, 1.0, 2.0], 8000, 2)])["outputs"]["py"]
    assert out.samples.tolist() == [1.0, -0.5, 2.0, 4.0]
    assert out.array.dtype == np.float32 and np.shares_memory(out.array, out.samples)
    # wrong dtype or shape from a node: a NodeError naming the path
    for samples, message in [
        (
            "np.arange(4, dtype=np.int16)",
            "process() result.samples: expected a float numpy array (float32; float64 and float16 are "
            "converted), got dtype int16 (integer PCM must be scaled to floats first, e.g. x / 32768 for int16)",
        ),
        (
            "np.zeros((2, 3), dtype=np.float32)",
            "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, 2), "
            "got shape (2, 3)",
        ),
    ]:
        bad = (
            "import numpy as np\nfrom pipeline_values import Audio\n"
            f"class Node:\n    def process(self, a):\n        return Audio({samples}, 8000, 2)\n"
        )
        with pytest.raises(rm.NodeError) as info:
            rm.execute(node(bad), inputs=[None])
        assert str(info.value).endswith(message), str(info.value)
