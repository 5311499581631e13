class Node:
    def __init__(self):
        self.seen = []
    def process(self, x):
        self.seen.append(x)
        if x == 'boom':
            raise ValueError(f'bad item after {self.seen[:-1]!r}')
        return len(self.seen)
