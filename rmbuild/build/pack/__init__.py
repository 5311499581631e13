"""Packing pipelines into ``.rmpkg`` bundles, for the demos and for users' own projects
alike (one path):

- ``spec``: the pack spec, a small TOML file in the project (``rmpkg.toml``);
- ``requirements``: the spec's pure-Python requirements, resolved once into a lock
  beside the spec (``rmpkg.lock``), fetched and verified on every pack;
- ``bundle``: assembling, checking (the runtime's own ``validate``; every Python node
  started inside the wasm CPython) and writing the bundle; the demo bundles; the
  ``pack``, ``bundle``, ``bundle-verify`` and ``bundle-inspect`` commands.
"""
