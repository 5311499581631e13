import numpy as np
class Node:
    def process(self, seed):
        g = np.random.default_rng(seed)
        legacy = np.random.RandomState(seed % 2**32)
        out = {
            "pcg64_random": g.random(4).tolist(), "pcg64_integers": g.integers(0, 1000, 5).tolist(),
            "pcg64_normal": g.standard_normal(3).tolist(), "pcg64_uniform": g.uniform(-1, 1, 2).tolist(),
            "pcg64_exponential": g.exponential(2.0, 2).tolist(), "pcg64_gamma": g.gamma(2.5, size=2).tolist(),
            "pcg64_choice": g.choice(10, 4, replace=False).tolist(), "perm": g.permutation(6).tolist(),
            "mt19937_random": legacy.random_sample(3).tolist(), "mt19937_randn": legacy.randn(3).tolist(),
            "mt19937_randint": legacy.randint(0, 100, 4).tolist(),
        }
        for name in ("MT19937", "Philox", "SFC64"):
            out[name] = np.random.Generator(getattr(np.random, name)(seed)).random(2).tolist()
        return out
