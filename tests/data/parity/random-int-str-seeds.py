# random seeded with an int or a str: the same numbers on every host (int seeds are
# used as they are, str seeds through sha512; no hash() involved).
import random


class Node:
    def process(self, seed):
        if isinstance(seed, dict):  # ints beyond i64 cannot be items: {"pow": k} is 2**k + 12345
            seed = 2 ** seed["pow"] + 12345
        r = random.Random(seed)
        deck = list(range(10))
        r.shuffle(deck)
        out = [r.random(), r.randint(0, 10**9), r.getrandbits(62), r.uniform(-1, 1), r.choice("abcdefgh"), deck]
        out.append(r.sample(range(100), 5))
        random.seed(seed)  # the module-level generator too
        out.append(random.random())
        return out
