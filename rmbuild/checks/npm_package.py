"""The npm package ``@remotemedia/wasm-runner`` as a user gets it.

``npm pack`` the runner, install the tarball offline (it has no dependencies) into a
fresh project outside the repository, then use it from there by name:

- ``typecheck``: a user's strict TypeScript against the installed declarations;
- ``node_run``: an ESM script in Node runs bundles given as bytes (``worker: false``);
- ``browser_run``: a page bundled by esbuild from the installed package, and the same
  page without a bundler (an import map onto ``dist/index.js``), in Debian Chromium on
  127.0.0.1, through the inline worker and through ``dist/worker.js``.

Both must print exactly what the native runtime prints (``browser.expected_native``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core import paths, toolchains, ui
from ..core.ui import BuildError
from . import browser

FIXTURES = paths.BROWSER_DEMO_DIR / "e2e" / "package"
PAGE_PIPELINES = ("multiply-add/multiply_add", "python-node/python_node")  # through the browser


@dataclass(frozen=True)
class Packed:
    tarball: Path
    files: list[str]  # paths inside the package
    size: int  # bytes of the tarball
    unpacked: int  # bytes of its files


def pack(dest: Path) -> Packed:
    """Build the package and ``npm pack`` it into ``dest``."""
    browser.build_runner()
    dest.mkdir(parents=True, exist_ok=True)
    out = ui.run(
        [browser.npm(), "pack", "--json", "--ignore-scripts", "--pack-destination", dest],
        cwd=browser.RUNNER_DIR,
        capture=True,
        what="npm pack",
    )
    info = json.loads(out.stdout)[0]
    files = sorted(f["path"] for f in info["files"])
    return Packed(dest / info["filename"], files, info["size"], info["unpackedSize"])


def install(tarball: Path, project: Path) -> Path:
    """A fresh project in ``project`` with only the tarball installed, offline; returns the package folder."""
    project.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "wasm-runner-user", "version": "1.0.0", "private": True, "type": "module"}
    (project / "package.json").write_text(json.dumps(manifest, indent=1) + "\n")
    ui.step(f"npm install {tarball.name} into {project} (offline)")
    ui.run(
        [browser.npm(), "install", "--offline", "--no-audit", "--no-fund", tarball],
        cwd=project,
        what="npm install (the packed package)",
    )
    installed = sorted(p.name for p in (project / "node_modules").iterdir() if not p.name.startswith("."))
    if installed != ["@remotemedia"]:
        raise BuildError(f"installing the package brought in other packages: {installed}")
    return project / "node_modules" / "@remotemedia" / "wasm-runner"


def _cases(index_path: Path, keys: list[str]) -> list[dict]:
    index = {b["name"]: b for b in json.loads(index_path.read_text())["bundles"]}
    samples_file = index_path.parent / browser.SAMPLES_NAME
    samples = json.loads(samples_file.read_text()) if samples_file.exists() else {}
    cases = []
    for key in keys:
        name, pipeline = key.split("/")
        entry = index[name]
        case = {"key": key, "bundle": str(index_path.parent / entry["file"]), "sha256": entry["sha256"]}
        cases.append({**case, "pipeline": pipeline, "inputs": samples.get(key)})
    return cases


def node_run(project: Path, index_path: Path, expected: dict[str, str]) -> list[dict]:
    """Every pipeline of every bundle, from Node through the installed package."""
    shutil.copy(FIXTURES / "node.mjs", project / "node.mjs")
    cases_file = project / "cases.json"
    cases_file.write_text(json.dumps(_cases(index_path, sorted(expected))))
    ui.step("Node: every pipeline through the installed package")
    out = ui.run(["node", "node.mjs", cases_file], cwd=project, capture=True, what="node (installed package)")
    return json.loads(out.stdout)


def typecheck(project: Path) -> None:
    """A user's TypeScript, strict, against the installed declarations (tsc from the workspace)."""
    for name in ("types-check.ts", "tsconfig.json"):
        shutil.copy(FIXTURES / name, project / name)
    tsc = paths.BROWSER_DEMO_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    ui.run(["node", tsc, "-p", project], cwd=project, what="tsc (a user's code)")


def bundle_page(project: Path) -> None:
    """The test page next to the installed package, and its esbuild bundle (esbuild from the workspace)."""
    for name in ("page.js", "bundled.html", "unbundled.html"):
        shutil.copy(FIXTURES / name, project / name)
    esbuild = paths.BROWSER_DEMO_DIR / "node_modules" / "esbuild" / "bin" / "esbuild"
    argv = [esbuild, "page.js", "--bundle", "--format=esm", "--minify", "--outfile=page.bundle.js"]
    ui.run(argv, cwd=project, what="esbuild (a user's page)")


def browser_run(project: Path, index_path: Path) -> dict:
    """The pages in Chromium: bundled (inline worker), unbundled (inline worker and dist/worker.js)."""
    toolchains.ensure("browser")
    bundle_page(project)
    cases = _cases(index_path, list(PAGE_PIPELINES))
    (project / "bundles").mkdir(exist_ok=True)
    for case in cases:
        shutil.copy(case["bundle"], project / "bundles")
    report = project / "page-report.json"
    with browser.serving(project, isolated=False) as base:
        pages = []
        for case in cases:
            query = f"bundle=bundles/{Path(case['bundle']).name}&sha256={case['sha256']}&pipeline={case['pipeline']}"
            for kind in ("bundled", "unbundled"):
                pages.append(
                    {"name": f"{kind}: {case['key']}", "key": case["key"], "url": f"{base}{kind}.html?{query}"}
                )
        file_worker = {**pages[1], "name": f"worker file: {cases[0]['key']}", "url": pages[1]["url"] + "&worker=file"}
        pages.append(file_worker)
        config = {"chromium": str(browser.CHROMIUM), "report": str(report), "pages": pages}
        config_path = project / "page-config.json"
        config_path.write_text(json.dumps(config, indent=1))
        ui.step("Chromium: a page using the installed package, bundled and not")
        ui.run(["node", "e2e/package-page.mjs", config_path], cwd=paths.BROWSER_DEMO_DIR, what="package pages")
    return json.loads(report.read_text())


def page_failures(report: dict, expected: dict[str, str]) -> list[str]:
    """What went wrong in ``browser_run``'s report: a page's output differs from native, the
    default worker was not the inline one (a blob: URL), a request left 127.0.0.1."""
    failures = []
    for page in report["pages"]:
        if page["state"] != "done" or page["text"] != expected[page["key"]]:
            failures.append(f"{page['name']}: {page['state']} {page['text'][:300]}")
        want = "/dist/worker.js" if page["name"].startswith("worker file") else "blob:"
        if not page["workers"] or not all(want in w for w in page["workers"]):
            failures.append(f"{page['name']}: workers {page['workers']}, expected {want}")
    if report["outside"]:
        failures.append(f"requests left 127.0.0.1: {report['outside']}")
    return failures


def test(index_path: Path, expected_path: Path) -> None:
    """Pack, install, run from Node and from Chromium; every output must equal native's."""
    expected = json.loads(expected_path.read_text())
    with tempfile.TemporaryDirectory(prefix="wasm-runner-user-") as tmp:
        project = Path(tmp) / "project"
        packed = pack(Path(tmp) / "pack")
        install(packed.tarball, project)
        typecheck(project)
        failures = [
            f"node: {r['key']}" for r in node_run(project, index_path, expected) if r["stdout"] != expected[r["key"]]
        ]
        failures += page_failures(browser_run(project, index_path), expected)
    if failures:
        raise BuildError("the packed package failed:\n  " + "\n  ".join(failures))
    ui.ok(f"{packed.tarball.name} ({packed.size} bytes, {len(packed.files)} files) works from Node and Chromium")
