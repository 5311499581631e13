import math
class Node:
    def process(self, x):
        return [x + 0.1, x * 1.1, x / 3, x ** 0.5 if x >= 0 else -x, math.sqrt(abs(x)),
                math.fsum([x, 1e-16, -x]),
                math.sin(x), math.cos(x), math.exp(min(x, 700)), math.log1p(abs(x)), math.atan2(x, 3.0),
                math.floor(x), round(x, 3), float.hex(x), math.hypot(x, 4.0), x % 7, divmod(x, 2.5)[0]]
