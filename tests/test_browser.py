"""The PipelineRunner under Node and the demo in every browser engine (Debian Chromium through
playwright-core, Firefox ESR through geckodriver, WebKitGTK through WebKitWebDriver under Xvfb),
with the same checks in each: what the engine can do and the paths the runner takes, every
pipeline on each WASI backend the engine runs, bundles from the built-in list, the file picker and
the URL field, bad input refused on the page, sessions in the worker, live captions, the site as
GitHub Pages serves it, and offline after the first visit; through the same code as `nox -s
browser`. Node, npm, the browsers, WebKitWebDriver and Xvfb are installed by the toolchain check
(apt, as root), geckodriver is built from its locked crate; else the tests fail saying what to
install. The packed npm package: tests/test_npm_package.py."""

from __future__ import annotations

import json

import pytest

from rmbuild.build.pack import bundle
from rmbuild.checks import browser
from rmbuild.core import paths, toolchains

REFUSED = (
    "tampered",
    "truncated",
    "not a bundle",
    "HTTP 404",
    "an HTML page",
    "a bundle served as text/html",
    "a text file served as text/plain",
    "a server that is not there",
    "another origin without CORS",
)
FAULTS = (
    "a malformed item (exit 4), the session goes on",
    "push after close (exit 1)",
    "a Python exception on item 2 (traceback), earlier results kept, later pushes fail",
    "a model that fails at open (exit 3)",
    "runner.close() rejects the pushes it had not answered (WorkerError)",
    "a terminated worker rejects the pending push and later ones (WorkerError)",
)
SCREENSHOTS = ("features-isolated", "features-plain", "error-manifest", "open-file", "refused-tampered", "refused-HTTP-404")


@pytest.fixture(scope="module")
def site_and_expected():
    toolchains.ensure("browser")
    root = browser.site()
    expected = browser.expected_native(bundle.BUNDLES_DIR / "index.json")
    return root, expected


@pytest.fixture(scope="module")
def reports(site_and_expected):
    """Every engine's report; the run's failure (if any) is kept for the per-engine tests."""
    root, expected = site_and_expected
    try:
        browser.browser_tests(root, expected, browser.ENGINES)
    except browser.BuildError:
        pass  # each engine's test below names its failed checks
    return json.loads((paths.REPORTS_DIR / "browser.json").read_text())["engines"]


def test_node_unit_tests(site_and_expected) -> None:
    _root, expected = site_and_expected
    browser.node_tests(bundle.BUNDLES_DIR / "index.json", expected)


def _names(report: dict) -> dict[str, dict]:
    return {r["name"]: r for r in report["results"]}


@pytest.mark.parametrize("engine", browser.ENGINES)
def test_engine_end_to_end(site_and_expected, reports, engine: str) -> None:
    _root, expected = site_and_expected
    report = reports[engine]
    assert report["outside"] == [], report["outside"]
    assert all(r["ok"] for r in report["results"]), [r for r in report["results"] if not r["ok"]]
    names = _names(report)
    keys = list(json.loads(expected.read_text()))
    # What the engine can do, and the path taken for each feature, are in the report.
    features = report["features"]["isolated"]
    for feature in ("simd128", "relaxedSimd", "crossOriginIsolated", "sharedMemory", "serviceWorker", "audioWorklet"):
        assert isinstance(features[feature], bool), feature
    assert features["worker"]["simd128"] is True
    assert report["features"]["plain"]["crossOriginIsolated"] is False
    for path in ("auto backend (COOP/COEP)", "auto backend (plain, as GitHub Pages)", "wasmer", "simd", "live", "offline"):
        assert report["paths"][path], path
    assert report["paths"]["auto backend (plain, as GitHub Pages)"].startswith("shim: auto fell back to the shim")
    # The same checks in every engine; a backend or feature the engine lacks is skipped, with why.
    for key in keys:
        for backend in ("shim", "wasmer"):
            assert f"{backend}: {key}" in names or f"{backend}: {key}: live captions have the words" in names, (backend, key)
        assert f"session in the worker: {key} merged equals native" in names
    if features["wasmerUnavailable"]:
        assert "wasmer unavailable: the page says why" in names
        assert all(names[f"wasmer: {k}"].get("skipped") for k in keys if not k.endswith("/live"))
    else:
        assert not any(r.get("skipped") for n, r in names.items() if n.startswith("wasmer: "))
    for opened in ("file picker: python-node/python_node", "URL field: multiply-add/multiply_add"):
        assert f"{opened} equals native" in names
    for refused in REFUSED:
        assert f"refused on the page ({refused})" in names
    for fault in FAULTS:
        assert f"session fault: {fault}" in names
    for check in (
        "pages (plain): crossOriginIsolated is false and the page says wasmer is unavailable",
        "no isolation: auto runs on the shim",
        "no isolation: wasmer refuses clearly",
    ):
        assert check in names
    live = [k for k in keys if k.endswith("/live")]
    assert live, "the whisper bundle has a live pipeline"
    if features["audioWorklet"]:
        for key in live:
            assert f"shim: {key}: live captions have the words" in names
            assert f"shim: {key}: the first caption arrives before the audio has finished playing" in names
        assert report["live"] and report["live"][0]["captions"] and report["live"][0]["wer"] <= 0.25
    for label in ("plain", "isolated"):
        if features["serviceWorker"]:
            assert f"offline ({label}): the service worker cached every bundle opened" in names
            for key in keys:
                assert f"offline ({label}): {key}" in names
        else:
            assert names[f"offline ({label})"]["skipped"]
    shots = paths.REPORTS_DIR / "screenshots" / engine
    for shot in SCREENSHOTS:
        assert (shots / f"{shot}.png").exists(), shot
    if features["serviceWorker"]:
        assert (shots / "offline-plain.png").exists()


def test_chromium_runs_everything(reports) -> None:
    """Chromium, the reference engine, lacks none of the features: nothing is skipped there."""
    report = reports["chromium"]
    assert not [r for r in report["results"] if r.get("skipped")]
    assert report["paths"]["auto backend (COOP/COEP)"].startswith("wasmer")
