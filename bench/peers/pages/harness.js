// The Python side of the Pyodide runs (Node and Chromium): a stand-in for our runtime's
// pipeline_values.Audio, and feed(), which builds the node from its source (as a new
// pipeline does) and calls process() once per item.
export const HARNESS = `
class Audio:
    def __init__(self, samples, sample_rate=16000, channels=1):
        self.samples = samples
        self.sample_rate = sample_rate
        self.channels = channels

    @property
    def frames(self):
        return len(self.samples) // self.channels


def feed(source, klass, items):
    ns = {"__name__": "pipeline_node"}
    exec(compile(source, "level.py", "exec"), ns)
    node = ns[klass]()
    out = []
    for item in items:
        if isinstance(item, (int, float)):
            out.append(node.process(item))
        else:
            out.append(node.process(Audio(item.to_py().tolist())))
    return out
`;
