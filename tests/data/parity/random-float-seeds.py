# random seeded with a float: CPython seeds from hash(seed), and the hash of a float
# that is not an integer depends on the hash width (modulus 2**61-1 natively, 2**31-1
# in wasm32), so the numbers differ between the two (a documented difference); the
# same on every run on each.
import random


class Node:
    def process(self, seed):
        r = random.Random(seed)
        return [r.random(), r.randrange(1000)]
