"""The hash seed of Python nodes in the wheel is the host interpreter's, as the README
says: the wheel neither sets nor changes it (an interpreter's seed is fixed when it
starts). With PYTHONHASHSEED=0 in the host's environment a node gives exactly the
CLI's bytes, whose interpreter the runtime starts with seed 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import remotemedia_runtime as rm

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
SOURCE = (
    "import os, sys\n"
    "class Node:\n"
    "    def process(self, words):\n"
    "        return [list(set(words)), os.environ.get('PYTHONHASHSEED'), sys.flags.hash_randomization]\n"
)
MANIFEST = {
    "version": 1,
    "nodes": [{"id": "py", "type": "Python", "params": {"class": "Node", "source": SOURCE}}],
    "inputs": [WORDS],
}
# Run in a fresh host interpreter: its own order, then the wheel's node's, as JSON.
IN_A_HOST = (
    "import json, sys, remotemedia_runtime as rm\n"
    "m = json.loads(sys.argv[1])\n"
    "own = list(set(m['inputs'][0]))\n"
    "print(json.dumps([own, rm.execute_json(json.dumps(m))]))\n"
)


def host(seed: str | None) -> tuple[list, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    if seed is not None:
        env["PYTHONHASHSEED"] = seed
    out = subprocess.run(
        [sys.executable, "-c", IN_A_HOST, json.dumps(MANIFEST)], env=env, capture_output=True, check=True, timeout=120
    )
    own, text = json.loads(out.stdout)
    return own, text


def test_nodes_use_this_interpreters_seed_and_leave_it_alone():
    before = (os.environ.get("PYTHONHASHSEED"), sys.flags.hash_randomization)
    (got,) = rm.execute(MANIFEST)["outputs"]["py"]
    assert got == [list(set(WORDS)), before[0], before[1]]  # the same interpreter, the same order
    assert (os.environ.get("PYTHONHASHSEED"), sys.flags.hash_randomization) == before


@pytest.mark.parametrize("seed", [None, "0", "7", "random"])
def test_a_node_orders_a_set_as_its_host_does(seed):
    own, text = host(seed)
    order, env_seed, randomized = json.loads(text)["outputs"]["py"][0]
    assert order == own
    assert env_seed == seed  # the wheel set nothing
    assert randomized == (0 if seed == "0" else 1)


def test_with_seed_0_in_the_host_a_node_prints_the_clis_bytes():
    executor = os.environ.get("REMOTEMEDIA_EXECUTOR")
    if not executor:
        pytest.skip("needs REMOTEMEDIA_EXECUTOR (set by nox -s wheels)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    cli = subprocess.run(
        [executor, "run", "-"], input=json.dumps(MANIFEST).encode(), env=env, capture_output=True, timeout=120
    )
    assert cli.returncode == 0, cli.stderr.decode()
    # the CLI starts its interpreter with PYTHONHASHSEED=0 (it says so in os.environ)
    assert json.loads(cli.stdout)["outputs"]["py"][0][1:] == ["0", 0]
    _, text = host("0")
    assert text == cli.stdout.decode()
    # any other fixed seed: the CLI, given the same PYTHONHASHSEED, agrees too
    cli7 = subprocess.run(
        [executor, "run", "-"],
        input=json.dumps(MANIFEST).encode(),
        env={**env, "PYTHONHASHSEED": "7"},
        capture_output=True,
        timeout=120,
    )
    assert host("7")[1] == cli7.stdout.decode()
