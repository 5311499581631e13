"""Example Python node for the pipeline runtime.

The runtime instantiates `Scale(**init)` once and calls `process(data)` for
every item. Returning None drops the item.
"""

from pipeline_values import Audio


class Scale:
    def __init__(self, factor=1, drop_negative=False):
        self.factor = factor
        self.drop_negative = drop_negative
        self.seen = 0

    def process(self, data):
        self.seen += 1
        if isinstance(data, Audio):
            return Audio([s * self.factor for s in data.samples], data.sample_rate, data.channels)
        if isinstance(data, dict):
            return {key: self.process(value) for key, value in data.items()}
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            raise TypeError(f"Scale expects numbers, got {type(data).__name__}")
        if self.drop_negative and data < 0:
            return None
        return data * self.factor
