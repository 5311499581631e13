"""The reactor start of ``nox -s sessions_bench`` (``rmbuild/checks/sessions_bench.py``):
its Chromium rows are produced (the runner's open of ``python_inline`` and first push in
its Worker, the compiled module cached, for the plain and the pre-initialised reactor) and
give wasmtime's first result; the bench-only bundle differs from the shipped one in its
reactor only; different results and a measured open that compiled are refused; the
report's shape, broken one way at a time. No timings asserted: the numbers are
``nox -s sessions_bench -- --start-only``'s."""

from __future__ import annotations

import copy

import pytest

from rmbuild.build.wasm import module as wasm_module
from rmbuild.checks import browser
from rmbuild.checks import sessions_bench as sb
from rmbuild.core import fsutil, machine
from rmbuild.core.rmpkg import rmpkg
from rmbuild.core.ui import BuildError

REPS = 2
FIRST_RESULT = '{"outputs":{"out":[{"item":1,"total":101}]}}'  # RunningTotal(start=100) given 1


@pytest.fixture(scope="module")
def raw() -> dict:
    """What sessions-bench.mjs measured in Chromium: REPS opens of each bundle."""
    return sb.chromium_start_raw(REPS)


@pytest.fixture(scope="module")
def start(raw) -> dict:
    wasmtime = sb.reactor_start(wasm_module.layout(), REPS)
    return sb.start_report(wasmtime, sb.chromium_start(raw, REPS), REPS)


def test_chromium_start_rows_are_produced_and_give_wasmtimes_result(raw, start) -> None:
    assert set(raw) == set(sb.START_VARIANTS)
    for name in sb.START_VARIANTS:
        runs = raw[name]["reps"]
        assert len(runs) == REPS
        assert {raw[name]["first"]["text"], *(r["text"] for r in runs)} == {FIRST_RESULT}, name
        assert [r["compileMs"] for r in runs] == [0] * REPS, "every measured open finds the module compiled"
        assert raw[name]["first"]["compileMs"] > 0, "the open before them compiled it"
        # the plain bundle carries the plain reactor, the shipped one the pre-initialised
        assert start["chromium"][name]["module_bytes"] == start["wasmtime"][name]["module_bytes"]
    assert start["first_result"] == FIRST_RESULT
    assert sb.report_problems({"machine": machine.describe(), "reactor_start": start}) == []


@pytest.mark.usefixtures("raw")  # the site, with the shipped bundle
def test_the_bench_bundle_is_the_shipped_one_with_the_plain_reactor() -> None:
    shipped_path = browser.SITE_DIR / "bundles" / f"{sb.START_BUNDLE}.rmpkg"
    shipped = rmpkg.read(shipped_path)
    plain = rmpkg.read(sb.plain_reactor_bundle(shipped_path))
    member = shipped.metadata["runtime"]["reactor"]
    assert plain.files[member] == wasm_module.reactor_path(preinit=False).read_bytes()
    assert shipped.files[member] == wasm_module.reactor_path().read_bytes()
    assert {k: v for k, v in plain.files.items() if k != member} == {
        k: v for k, v in shipped.files.items() if k != member
    }
    assert plain.metadata["provenance"]["runtime_reactor_sha256"] == fsutil.sha256_file(
        wasm_module.reactor_path(preinit=False)
    )
    assert plain.metadata["name"] == f"{sb.START_BUNDLE}-plain"
    assert plain.metadata["runtime"] == shipped.metadata["runtime"]


def test_different_results_are_refused(raw) -> None:
    with pytest.raises(BuildError, match=r"different first results of python_inline: wasmtime: \['a'\]; chromium"):
        sb._one_result({"wasmtime": {"a"}, "chromium": {"b"}})
    changed = copy.deepcopy(raw)
    changed["plain"]["reps"][-1]["text"] = '{"outputs":{"out":[]}}'
    with pytest.raises(BuildError, match="different first results"):
        sb.chromium_start(changed, REPS)
    changed = copy.deepcopy(raw)
    changed["preinit"]["first"]["text"] = '{"outputs":{"out":[]}}'
    with pytest.raises(BuildError, match="different first results"):
        sb.chromium_start(changed, REPS)


def test_a_measured_open_that_compiled_or_another_reactor_is_refused(raw) -> None:
    compiled = copy.deepcopy(raw)
    compiled["preinit"]["reps"][0]["compileMs"] = 50.0
    with pytest.raises(BuildError, match=r"Chromium preinit: a measured open compiled the module again \(\[50\.0\] ms"):
        sb.chromium_start(compiled, REPS)
    swapped = copy.deepcopy(raw)
    swapped["plain"] = raw["preinit"]
    with pytest.raises(BuildError, match=r"Chromium plain: the bundle.s reactor \(\w+\) is not .*reactor"):
        sb.chromium_start(swapped, REPS)
    with pytest.raises(BuildError, match=f"Chromium plain: {REPS} measured opens, expected {REPS + 1}"):
        sb.chromium_start(raw, REPS + 1)


# ---------------------------------------------------------------------------
# the report's shape: the one made above, then broken one way at a time


def _report(start: dict, change) -> dict:
    report = {"machine": machine.describe(), "reactor_start": copy.deepcopy(start)}
    change(report)
    return report


def _set(path: list[str], value: object):
    def change(report: dict) -> None:
        node = report["reactor_start"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r["reactor_start"]["chromium"].pop("plain"), "reactor_start: no chromium plain"),
        (lambda r: r["reactor_start"].pop("wasmtime"), "reactor_start: no wasmtime plain"),
        (lambda r: r.pop("machine"), "no machine"),
        (lambda r: r.pop("reactor_start"), "no reactor_start"),
        (_set(["first_result"], None), "reactor_start: no first result"),
        (_set(["reps"], 0), "reactor_start reps 0"),
        (_set(["chromium", "preinit", "open_ms"], float("nan")), "reactor_start chromium preinit: not finite"),
        (_set(["wasmtime", "plain", "first_push_best_ms"], -1.0), "reactor_start wasmtime plain: not finite"),
        (_set(["chromium", "plain", "total_ms"], 0), "reactor_start chromium plain: total_ms 0"),
        (_set(["chromium", "plain", "compile_ms"], 0), "reactor_start chromium plain: not finite and positive"),
        (_set(["chromium", "preinit", "caller_ms"], None), "reactor_start chromium preinit: not finite and positive"),
        (_set(["chromium", "plain", "uncached_total_ms"], float("inf")), "not finite and positive: {'uncached"),
        (_set(["wasmtime", "preinit", "module_bytes"], 0), "reactor_start wasmtime preinit: not finite and positive"),
        (_set(["chromium", "plain", "totals_ms"], [1.0]), "reactor_start chromium plain: totals_ms is not reps"),
        (_set(["wasmtime", "plain", "total_best_ms"], 1e9), "total_best_ms is not the best of totals_ms"),
    ],
)
def test_a_broken_report_is_refused(start, change, problem) -> None:
    report = _report(start, change)
    problems = sb.report_problems(report)
    assert any(problem in p for p in problems), problems
    with pytest.raises(BuildError, match="the sessions bench report is not valid"):
        sb.validate(report)
