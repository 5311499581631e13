"""nox sessions, one per phase of ``rmbuild/phases.py`` (the one table of phases).
Each runs ``python -m rmbuild <phase>`` in a venv with the pyproject.toml dependency
groups the phase names (the one place Python tools are pinned); phases without
groups run with the interpreter nox itself runs on.

    ./nox -l                 list the sessions
    ./nox -s main            build everything (the main job)
    ./nox -s tests           build what the tests need, run them
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rmbuild.phases import PHASES, Phase

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["main"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _session(phase: Phase):
    def run(session: nox.Session) -> None:
        for group in phase.groups:
            session.install(*nox.project.dependency_groups(PYPROJECT, group))
        session.run("python", "-m", "rmbuild", phase.name, *session.posargs)

    run.__doc__ = phase.help
    return nox.session(name=phase.session, venv_backend=None if phase.groups else "none")(run)


for _phase in PHASES:
    _session(_phase)
