class Node:
    def process(self, x):
        s = str(x)
        return {'upper': s.upper(), 'rev': s[::-1], 'len': len(s), 'fmt': f'{x!r:>12}', 'words': s.split(), 'utf8': list(s.encode('utf-8'))}
