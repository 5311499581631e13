"""The PipelineRunner under Node and the demo in Debian Chromium (both WASI
backends), through the same code as `nox -s browser`. Node, npm and Chromium are
installed by the toolchain check (apt, as root) or the tests fail saying what to install."""

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
    assert (paths.REPORTS_DIR / "screenshots" / "error-manifest.png").exists()
