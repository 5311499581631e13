"""What the test-suite phases share (``stdlib_tests``: CPython's suite, ``numpy_tests``:
numpy's): some or all of a suite's modules run natively and in wasm, the report written
again after each module (an interrupted run keeps what it did), and a run of only some
modules keeps the other modules' rows of the last report."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core import paths, ui
from ..core.ui import BuildError


@dataclass(frozen=True)
class Suite:
    name: str  # "stdlib tests": messages and progress
    what: str  # "modules of CPython's test suite"
    modules: tuple[str, ...]  # every module, in report order
    module_pattern: str  # what a module name given on the command line must match
    kind: str  # for the error: "not <kind>: x (e.g. <example>)"
    example: str
    report_json: str  # under reports/
    report_text: str
    run_modules: Callable[..., list[dict]]  # (modules, progress=, each=) -> rows
    write_report: Callable[[list[dict], float], Path]  # (rows, seconds) -> report path


def earlier_rows(suite: Suite, modules: Sequence[str]) -> list[dict]:
    """Rows of the last report for the suite's modules not run now."""
    try:
        rows = json.loads((paths.REPORTS_DIR / suite.report_json).read_text())["modules"]
    except (OSError, ValueError, KeyError):
        return []
    return [r for r in rows if r.get("module") not in modules and r.get("module") in suite.modules]


def run(suite: Suite, given: Sequence[str]) -> int:
    """Run ``given`` (or every module), report, print the text report."""
    modules = list(given) or list(suite.modules)
    bad = [m for m in modules if not re.fullmatch(suite.module_pattern, m)]
    if bad:
        raise BuildError(f"not {suite.kind}: {', '.join(bad)} (e.g. {suite.example})")
    ui.step(f"{suite.name}: {len(modules)} {suite.what}, natively and in wasm")
    progress = ui.Progress(suite.name, len(modules), unit="modules")
    started = time.perf_counter()
    kept = earlier_rows(suite, modules) if given else []
    order = {m: i for i, m in enumerate(suite.modules)}

    def ordered(rows: list[dict]) -> list[dict]:
        return sorted([*kept, *rows], key=lambda r: order.get(r["module"], len(order)))

    rows = suite.run_modules(
        modules,
        progress=progress.advance,
        each=lambda done: suite.write_report(ordered(done), time.perf_counter() - started),
    )
    progress.finish()
    report = suite.write_report(ordered(rows), time.perf_counter() - started)
    print((paths.REPORTS_DIR / suite.report_text).read_text())
    ui.ok(f"report: {report}")
    return 0
