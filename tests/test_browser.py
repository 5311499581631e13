"""The PipelineRunner under Node and the demo in Debian Chromium (both WASI
backends; bundles from the built-in list, the file picker and the URL field; refused
bundles explained on the page), through the same code as `nox -s browser`. Node, npm
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
    for shot in ("error-manifest", "open-file", "refused-tampered", "refused-HTTP-404"):
        assert (paths.REPORTS_DIR / "screenshots" / f"{shot}.png").exists()
