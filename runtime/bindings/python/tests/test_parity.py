"""Parity with the CLI: on every case of the parity corpus, ``execute_json`` returns
exactly what ``pipeline_executor run`` prints on stdout, or raises the exception of its
exit code with exactly its message; ``execute`` returns the same values as Python
objects. The cases and the executor come from ``nox -s wheels`` (see conftest.py).

Cases whose output depends on the hash seed (the CLI's changes with PYTHONHASHSEED: set
orders, str hashes) are compared in a host interpreter started with PYTHONHASHSEED=0,
the seed the CLI uses: the wheel runs nodes with its host's seed (README, "Python
nodes"; test_hash_seed.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import remotemedia_runtime as rm
from reference import canon, loads_cli

EXECUTOR = os.environ.get("REMOTEMEDIA_EXECUTOR")
CASES_FILE = os.environ.get("REMOTEMEDIA_PARITY_CASES")
if not (EXECUTOR and CASES_FILE):
    pytest.skip(
        "parity needs REMOTEMEDIA_EXECUTOR and REMOTEMEDIA_PARITY_CASES (set by nox -s wheels)", allow_module_level=True
    )

CASES = json.loads(Path(CASES_FILE).read_text())
EXCEPTIONS = {2: rm.ManifestError, 3: rm.NodeError, 4: rm.InputError}
KINDS = {2: "manifest", 3: "node", 4: "inputs"}
PY_NO_INPUTS = 'no inputs: pass inputs=[...] or give the manifest an "inputs" array'
CLI_NO_INPUTS = 'no inputs: pass --input FILE or give the manifest an "inputs" array'


def test_corpus_is_substantial():
    names = {c["name"] for c in CASES}
    assert len(CASES) >= 60, len(CASES)
    assert any("python" in n for n in names)
    assert sum(1 for c in CASES if c["source"] and "bad_manifests" in c["source"]) >= 40


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="wheel-parity-") as d:
        yield Path(d)


def _cli_env(seed: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    return env if seed is None else {**env, "PYTHONHASHSEED": seed}


# In a host interpreter started with PYTHONHASHSEED=0: what execute_json returns.
IN_A_SEED_0_HOST = (
    "import json, sys, remotemedia_runtime as rm\n"
    "text, inputs, base_dir = json.loads(sys.stdin.read())\n"
    "print(rm.execute_json(text, inputs, base_dir=base_dir), end='')\n"
)


def _depends_on_the_hash_seed(args: list[str], stdout: bytes) -> bool:
    """Python cases whose CLI output changes with PYTHONHASHSEED (set and dict-of-set
    orders, str hashes): the wheel gives the CLI's bytes for them only in a host
    interpreter started with PYTHONHASHSEED=0 (README, "Python nodes")."""
    other = subprocess.run(args, capture_output=True, timeout=120, check=False, env=_cli_env("1"))
    return other.stdout != stdout


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_as_cli(case, workdir):
    # The manifest's own file when it has one (relative paths resolve against its
    # folder), else a file we write; the same folder is the wheel's base_dir.
    if case["source"]:
        manifest_file = Path(case["source"])
    else:
        manifest_file = workdir / "manifest.json"
        manifest_file.write_text(case["manifest"])
    args = [EXECUTOR, "run", str(manifest_file)]
    if case["inputs"] is not None:
        inputs_file = workdir / "inputs.json"
        inputs_file.write_text(case["inputs"])
        args += ["--input", str(inputs_file)]
    cli = subprocess.run(args, capture_output=True, timeout=120, check=False, env=_cli_env(None))
    stdout, stderr = cli.stdout.decode(), cli.stderr.decode()
    base_dir = manifest_file.parent
    text = manifest_file.read_bytes()  # exactly what the CLI read

    seeded = os.environ.get("PYTHONHASHSEED") == "0"
    python_case = case["name"].startswith("python/")
    if cli.returncode == 0 and not seeded and python_case and _depends_on_the_hash_seed(args, cli.stdout):
        request = json.dumps([text.decode(), case["inputs"], str(base_dir)])
        child = subprocess.run(
            [sys.executable, "-c", IN_A_SEED_0_HOST],
            input=request.encode(),
            capture_output=True,
            timeout=120,
            check=False,
            env=_cli_env("0"),
        )
        assert child.returncode == 0, child.stderr.decode()
        assert child.stdout.decode() == stdout
        return

    if cli.returncode == 0:
        got = rm.execute_json(text, case["inputs"], base_dir=base_dir)
        assert got == stdout
        expected = loads_cli(stdout)
        inputs = None if case["inputs"] is None else loads_cli(case["inputs"])
        assert canon(rm.execute(text, inputs, base_dir=base_dir)) == canon(expected)
        return

    assert cli.returncode in EXCEPTIONS, (cli.returncode, stderr)
    with pytest.raises(rm.PipelineError) as info:
        rm.execute_json(text, case["inputs"], base_dir=base_dir)
    err = info.value
    assert type(err) is EXCEPTIONS[cli.returncode]
    assert (err.exit_code, err.kind) == (cli.returncode, KINDS[cli.returncode])
    assert "error: " + str(err) + "\n" == stderr

    # execute() with Python values fails the same way (its no-inputs hint names inputs=).
    # Inputs given as Python values are converted by the wheel, not by the JSON
    # decoder: for errors in them only the exception class is compared.
    inputs = None
    if case["inputs"] is not None:
        try:
            inputs = loads_cli(case["inputs"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not a valid encoding: there is no Python value to pass
    with pytest.raises(rm.PipelineError) as info:
        rm.execute(text, inputs, base_dir=base_dir)
    assert type(info.value) is type(err)
    if not (inputs is not None and isinstance(err, rm.InputError)):
        assert str(info.value) == (PY_NO_INPUTS if str(err) == CLI_NO_INPUTS else str(err))
