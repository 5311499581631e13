"""rmbuild: the build package behind noxfile.py and tasks.py.

Four layers; each uses only the ones before it:

- ``core``    paths, messages (``ui``), safe files and locks (``fsutil``), content-hash
              keyed ``steps``, the artifact ``lock`` and ``artifacts``, ``toolchains``,
              the ``machine`` a report ran on, the ``rmpkg`` format module
- ``run``     WASI hosts (``wasi``: wasmtime, node:wasi), the executor's command line on
              every host (``executor``), one result type (``outcome.Outcome``)
- ``build``   the products: ``native`` runtime, ``wasm`` (libpython, the one ``stdlib``,
              the module), ``whisper`` (source, builds, models, audio), ``bundle``
- ``checks``  parity, tests, benchmarks, the browser, the wheel, lint

``phases`` is the one table of phases: nox sessions, ``python -m rmbuild`` commands
(``cli``) and invoke tasks are made from it.
"""
