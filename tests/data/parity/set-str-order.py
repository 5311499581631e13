# Iteration order of sets of str (and of dicts built from them): fixed by the runtime's
# hash seed (PYTHONHASHSEED=0 unless the environment sets it), so the same on every
# run; but str hashes are 64-bit natively and 32-bit in wasm32 (another function:
# sys.hash_info), so the order differs between the two (a documented difference).
class Node:
    def process(self, words):
        s = set(words)
        return {
            "set": list(s),
            "frozenset": list(frozenset(words)),
            "dict_from_set": {w: len(w) for w in s},
            "fromkeys": list(dict.fromkeys(s)),
        }
