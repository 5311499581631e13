import json
class Node:
    def __init__(self, prefix='k'):
        self.prefix = prefix
    def process(self, d):
        out = {self.prefix + str(k): v for k, v in sorted(d.items())}
        out['json'] = json.dumps(d, sort_keys=True)
        out['nested'] = {'keys': list(d), 'n': len(d)}
        return out
