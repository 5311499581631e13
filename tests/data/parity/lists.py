class Node:
    def process(self, xs):
        return {'sorted': sorted(xs), 'sum': sum(xs), 'pairs': list(zip(xs, xs[1:])), 'squares': [v * v for v in xs], 'max': max(xs, default=None)}
