# Set and dict orders that are the same natively and in wasm32: sets of small ints
# (hash(n) == n below 2**31 on both widths), and dicts, which keep insertion order
# whatever the hashes.
class Node:
    def process(self, items):
        ints = set(items["ints"])
        d = dict.fromkeys(items["words"], 0)
        for i, w in enumerate(items["words"]):
            d[w] += i
        del d[items["words"][0]]
        d[items["words"][0]] = -1  # re-inserted: now last
        merged = {**d, "zeta": 1, "alpha": 2}
        merged.pop("zeta")
        return {
            "int_set": list(ints),
            "int_frozenset": list(frozenset(items["ints"][::-1])),
            "int_set_ops": [list(ints | {1000, 3}), list(ints & {1, 2, 3, 40}), list(ints - {1})],
            "dict": d,
            "merged_keys": list(merged),
            "popitem": list(merged.popitem()),
            "sorted_words": sorted(set(items["words"])),
        }
