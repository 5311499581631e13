// The Python side of the Pyodide runs (Node and Chromium): a stand-in for our runtime's
// pipeline_values.Audio (also importable as `from pipeline_values import Audio`), and feed(),
// which builds the node(s) from their source (as a new pipeline does) and calls process()
// once per item. A chain of classes passes each output on to the next class, audio rounded
// to float32 in between as our runtime's audio is; audio that comes out is its float32
// little-endian bytes (a Uint8Array in JavaScript).
export const HARNESS = `
import array as _array
import sys as _sys
import types as _types


class Audio:
    def __init__(self, samples, sample_rate=16000, channels=1):
        self.samples = samples
        self.sample_rate = sample_rate
        self.channels = channels

    @property
    def frames(self):
        return len(self.samples) // self.channels


_sys.modules["pipeline_values"] = _types.ModuleType("pipeline_values")
_sys.modules["pipeline_values"].Audio = Audio


def _py(value):
    return value.to_py() if hasattr(value, "to_py") else value


def _between(value):
    if isinstance(value, Audio):
        return Audio(_array.array("f", value.samples).tolist(), value.sample_rate, value.channels)
    return value


def feed(source, klass, items, init=None):
    ns = {"__name__": "pipeline_node"}
    exec(compile(source, "node.py", "exec"), ns)
    klass, init = _py(klass), _py(init)
    classes = [klass] if isinstance(klass, str) else list(klass)
    inits = init if isinstance(init, list) else [init or {}] * len(classes)
    nodes = [ns[k](**(kw or {})) for k, kw in zip(classes, inits, strict=True)]
    out = []
    for item in items:
        x = item if isinstance(item, (int, float)) else Audio(item.to_py().tolist())
        for i, node in enumerate(nodes):
            x = node.process(x)
            if i + 1 < len(nodes):
                x = _between(x)
        out.append(_array.array("f", x.samples).tobytes() if isinstance(x, Audio) else x)
    return out
`;
