"""rmbuild: the build package behind noxfile.py and tasks.py.

Every piece of build logic lives here, one module per concern:

- ``paths``      where things are: the repo, the cache, build outputs, reports
- ``ui``         messages, progress, running commands, the one error type
- ``lock``       the artifact lock file (``artifacts.lock.toml``)
- ``artifacts``  fetch, verify and extract locked artifacts into the cache
- ``steps``      content-hash keyed build steps: no inputs changed, no work
- ``toolchains`` the tools each phase needs: report (doctor) and install
- ``cli``        ``python -m rmbuild``: one subcommand per nox session
"""
