# What the hash width shows: sys.maxsize, sys.hash_info and hash() of ints, floats and
# strs (32-bit in wasm32, 64-bit natively: a documented difference).
import sys


class Node:
    def process(self, what):
        if what == "sys":
            info = sys.hash_info
            return {
                "maxsize": sys.maxsize,
                "width": info.width,
                "modulus": info.modulus,
                "algorithm": info.algorithm,
                "hash_bits": info.hash_bits,
                "seed_bits": info.seed_bits,
                "inf": info.inf,
            }
        if what == "ints":
            return [hash(n) for n in (2**31 - 1, 2**31, 2**40, 2**61 - 1, 2**61, -(2**40), 10**20)]
        if what == "floats":
            return [hash(x) for x in (0.5, -1.25, 0.1, 1e-300, 1e300, 2.0**40)]
        if what == "strs":
            return [hash(s) for s in ("", "a", "alpha", "ünïcödé", "x" * 100)]
        return [hash(b"alpha"), hash(("alpha", 1)), hash(frozenset({1, 2}))]
