# hash() values that are the same on both hash widths (64-bit natively, 32-bit in
# wasm32): ints of magnitude below 2**31 - 1, floats equal to such ints, infinities,
# -1 (which hashes to -2), bools; and the int/float invariant. (hash(None) and
# hash(nan) depend on object addresses: not used.)
class Node:
    def process(self, xs):
        out = [hash(x) for x in xs]
        out.append(all(hash(x) == hash(float(x)) for x in xs if isinstance(x, int)))
        out.append([hash(float("inf")), hash(float("-inf")), hash(True), hash(False), hash(-1), hash(-2)])
        return out
