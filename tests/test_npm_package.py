"""The npm package @remotemedia/wasm-runner as a user gets it: ``npm pack``, the tarball
installed offline into a fresh project outside the repository, then used by name from Node
and from a page in Debian Chromium (bundled by esbuild, and without a bundler); outputs
equal the native runtime's. Through rmbuild.checks.npm_package, as `nox -s browser` runs it."""

from __future__ import annotations

import json

import pytest

from rmbuild.build.pack import bundle
from rmbuild.checks import browser, npm_package
from rmbuild.core import paths, toolchains

INDEX = bundle.BUNDLES_DIR / "index.json"


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    toolchains.ensure("browser")
    bundle.build_selected()
    return json.loads(browser.expected_native(INDEX).read_text())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wasm-runner-user")
    packed = npm_package.pack(tmp / "pack")
    package = npm_package.install(packed.tarball, tmp / "project")
    return packed, tmp / "project", package


def test_tarball_is_publish_ready(installed) -> None:
    packed, project, package = installed
    assert not project.resolve().is_relative_to(paths.REPO)
    assert set(packed.files) >= {"package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/worker.js"}
    assert all(f in ("package.json", "README.md") or f.startswith("dist/") for f in packed.files), packed.files
    assert not [f for f in packed.files if f.endswith(".map") or (f.endswith(".ts") and not f.endswith(".d.ts"))]
    meta = json.loads((package / "package.json").read_text())
    assert meta["name"] == "@remotemedia/wasm-runner" and not meta.get("private")
    assert meta["type"] == "module" and meta["license"] == "MIT OR Apache-2.0"
    assert meta["exports"]["."] == {"types": "./dist/index.d.ts", "default": "./dist/index.js"}
    assert "dependencies" not in meta  # the shim is bundled in: it installs offline
    assert meta["peerDependenciesMeta"]["@wasmer/sdk"] == {"optional": True}
    index_js = (package / "dist" / "index.js").read_text()
    assert 'from "@bjorn3' not in index_js and 'import("@wasmer/sdk")' not in index_js


def test_node_runs_every_pipeline_like_native(installed, expected) -> None:
    _packed, project, _package = installed
    results = npm_package.node_run(project, INDEX, expected)
    assert {r["key"]: r["stdout"] for r in results} == expected
    assert {r["backend"] for r in results} == {"shim"}


def test_types_check_for_a_user(installed) -> None:
    """The user's TypeScript (strict, no @types/node, no @wasmer/sdk) compiles against the installed declarations."""
    _packed, project, _package = installed
    npm_package.typecheck(project)


def test_page_in_chromium_runs_through_the_inline_worker(installed, expected) -> None:
    _packed, project, _package = installed
    report = npm_package.browser_run(project, INDEX)
    assert npm_package.page_failures(report, expected) == []
    names = {p["name"] for p in report["pages"]}
    for key in npm_package.PAGE_PIPELINES:
        assert {f"bundled: {key}", f"unbundled: {key}"} <= names
    assert any(name.startswith("worker file: ") for name in names)
    assert report["outside"] == []
