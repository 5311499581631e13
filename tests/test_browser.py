"""The PipelineRunner under Node and the demo in Debian Chromium (both WASI
backends; bundles from the built-in list, the file picker and the URL field; refused
bundles explained on the page; sessions in the worker; live captions from a fake
microphone; offline after the first visit), through the same code as `nox -s browser`. Node, npm
and Chromium are installed by the toolchain check (apt, as root) or the tests fail
saying what to install. The packed npm package: tests/test_npm_package.py."""

from __future__ import annotations

import json

import pytest

from rmbuild.build.pack import bundle
from rmbuild.checks import browser
from rmbuild.core import paths, toolchains


@pytest.fixture(scope="module")
def site_and_expected():
    toolchains.ensure("browser")
    root = browser.site()
    expected = browser.expected_native(bundle.BUNDLES_DIR / "index.json")
    return root, expected


def test_node_unit_tests(site_and_expected) -> None:
    _root, expected = site_and_expected
    browser.node_tests(bundle.BUNDLES_DIR / "index.json", expected)


def test_chromium_end_to_end(site_and_expected) -> None:
    root, expected = site_and_expected
    report = browser.browser_tests(root, expected)
    assert report["outside"] == []
    assert all(r["ok"] for r in report["results"]), [r for r in report["results"] if not r["ok"]]
    names = {r["name"] for r in report["results"]}
    for key in json.loads(expected.read_text()):
        for backend in ("shim", "wasmer"):
            assert f"{backend}: {key}" in names
    for opened in ("file picker: python-node/python_node", "URL field: multiply-add/multiply_add"):
        assert f"{opened} equals native" in names
    for refused in ("tampered", "truncated", "not a bundle", "HTTP 404", "an HTML page"):
        assert f"refused on the page ({refused})" in names
    keys = list(json.loads(expected.read_text()))
    for key in keys:
        assert f"session in the worker: {key} merged equals native" in names
        for label in ("plain", "isolated"):
            assert f"offline ({label}): {key}" in names
    for label in ("plain", "isolated"):
        assert f"offline ({label}): the service worker cached every bundle opened" in names
    for fault in (
        "a malformed item (exit 4), the session goes on",
        "push after close (exit 1)",
        "a Python exception on item 2 (traceback), earlier results kept, later pushes fail",
        "a model that fails at open (exit 3)",
        "runner.close() rejects the pushes it had not answered (WorkerError)",
        "a terminated worker rejects the pending push and later ones (WorkerError)",
    ):
        assert f"session fault: {fault}" in names
    live = [k for k in keys if k.endswith("/live")]
    assert live, "the whisper bundle has a live pipeline"
    for key in live:
        assert f"shim: {key}: live captions have the words" in names
        assert report["live"][0]["wer"] <= 0.25
        assert f"shim: {key}: the first caption arrives before the audio has finished playing" in names
    assert report["live"] and report["live"][0]["captions"]
    for shot in (
        "error-manifest",
        "open-file",
        "refused-tampered",
        "refused-HTTP-404",
        "live-captions",
        "offline-plain",
    ):
        assert (paths.REPORTS_DIR / "screenshots" / f"{shot}.png").exists()
