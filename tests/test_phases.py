"""The phase table is the one description of the phases: the CLI is made from it, and
the README's session table and the CI matrix must name every phase it has."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from rmbuild import cli, phases
from rmbuild.core import paths

CI_FILE = paths.REPO / ".github" / "workflows" / "ci.yml"


def _readme_sessions() -> list[str]:
    text = (paths.REPO / "README.md").read_text()
    table = text[text.index("| session | what it does |") :].split("\n\n", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE)


def _ci_sessions_by_job() -> dict[str, set[str]]:
    """Job name -> the sessions it runs: its matrix `session: [...]` lists and `./nox -s X` lines."""
    jobs: dict[str, set[str]] = {}
    job = None
    in_jobs = False
    for line in CI_FILE.read_text().splitlines():
        if line.startswith("jobs:"):
            in_jobs = True
            continue
        heading = re.match(r"^  ([A-Za-z0-9_-]+):\s*$", line)
        if in_jobs and heading:
            job = heading.group(1)
            jobs[job] = set()
            continue
        if job is None:
            continue
        listed = re.search(r"\bsession: \[([^\]]*)\]", line)
        if listed:
            jobs[job].update(s.strip() for s in listed.group(1).split(",") if s.strip())
        jobs[job].update(re.findall(r"\./nox -s ([a-z_]+)\b", line))
        single = re.search(r"^\s+- session: ([a-z_]+)\s*$", line)
        if single:
            jobs[job].add(single.group(1))
    return jobs


def test_readme_table_names_every_phase_once() -> None:
    listed = _readme_sessions()
    assert sorted(listed) == sorted(p.session for p in phases.PHASES), "README session table vs rmbuild/phases.py"


@pytest.mark.parametrize("phase", phases.PHASES, ids=lambda p: p.session)
def test_ci_runs_every_phase_or_says_why_not(phase: phases.Phase) -> None:
    jobs = _ci_sessions_by_job()
    if phase.ci is None:
        assert phase.not_in_ci, f"{phase.name}: not in CI without a reason"
        assert all(phase.session not in s for s in jobs.values()), f"{phase.name} is in CI after all"
    else:
        assert phase.ci in jobs, f"{phase.name}: CI has no job {phase.ci!r}"
        assert phase.session in jobs[phase.ci], f"CI job {phase.ci!r} does not run {phase.session}"


def test_the_ci_entry_point_runs_the_tests_phase() -> None:
    script = (paths.REPO / ".ci" / "run").read_text()
    assert re.search(r"^exec \./nox -s tests$", script, re.MULTILINE)
    assert phases.by_name("tests").session == "tests"


def test_every_phase_is_a_cli_command_with_its_arguments() -> None:
    parser = cli.build_parser()
    for phase in phases.PHASES:
        args = parser.parse_args([phase.name])
        assert callable(args.func)
        for arg in phase.args:
            assert hasattr(args, arg.name.replace("-", "_")), (phase.name, arg.name)
    with pytest.raises(SystemExit):
        parser.parse_args(["no-such-phase"])


@pytest.mark.parametrize("runner", ["./inv", "python -m rmbuild"])
def test_a_command_error_is_one_line_and_exit_1(runner: str, tmp_path) -> None:
    """A BuildError (here: a pack spec that is not there) is one line on stderr and exit 1, no
    traceback: from the invoke tasks as from the CLI."""
    missing = tmp_path / "rmpkg.toml"
    cmd = [*runner.replace("python", sys.executable).split(), "pack"]
    cmd += ["--extra", str(missing)] if runner == "./inv" else [str(missing)]
    proc = subprocess.run(cmd, cwd=paths.REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == f"error: {missing}: no such pack spec (a rmpkg.toml in the project folder)"


def test_a_phase_step_runs_on_its_own_from_the_cli(monkeypatch) -> None:
    """`python -m rmbuild PHASE --step S` (so `./nox -s PHASE -- --step S`) runs what `./inv PHASE.S` runs."""
    called = []
    monkeypatch.setattr(cli, "target", lambda spec: lambda args: called.append(spec))
    parser = cli.build_parser()
    with_steps = [p for p in phases.PHASES if p.steps]
    assert with_steps
    for phase in with_steps:
        for step in phase.steps:
            args = parser.parse_args([phase.name, "--step", step.name])
            args.func(args)
            assert called.pop() == step.target
        args = parser.parse_args([phase.name])
        args.func(args)
        assert called.pop() == phase.target
    with pytest.raises(SystemExit):
        parser.parse_args([with_steps[0].name, "--step", "no-such-step"])


def test_every_phase_target_exists() -> None:
    import importlib

    for phase in phases.PHASES:
        for spec in [phase.target, *(s.target for s in phase.steps)]:
            module, func = spec.split(":")
            assert callable(getattr(importlib.import_module(f"rmbuild.{module}"), func)), spec


def test_main_runs_the_build_phases_in_order() -> None:
    assert [p.name for p in phases.MAIN] == ["native-build", "wasm-build", "whisper-build", "bundle"]
