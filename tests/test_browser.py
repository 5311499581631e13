"""The PipelineRunner under Node and the demo in every browser engine (Debian Chromium through
playwright-core, Firefox ESR through geckodriver, WebKitGTK through WebKitWebDriver under Xvfb),
with the same checks in each: what the engine can do and the paths the runner takes, every
pipeline on each WASI backend the engine runs, bundles from the built-in list, the file picker and
the URL field, bad input refused on the page, sessions in the worker, live captions, the site as
GitHub Pages serves it, and offline after the first visit; through the same code as `nox -s
browser`. Node, npm, the browsers, WebKitWebDriver and Xvfb are installed by the toolchain check
(apt, as root), geckodriver is built from its locked crate; else the tests fail saying what to
install. One engine's tests run that engine only (`-k firefox`). The packed npm package:
tests/test_npm_package.py."""

from __future__ import annotations

import contextlib
import json
import re
import urllib.request

import pytest
import wasmtime

from rmbuild.build.pack import bundle
from rmbuild.checks import browser
from rmbuild.core import paths, toolchains

REFUSED = {
    # what: the reason the page must show in #bundle-error
    # (the report keeps the first 240 characters; the e2e run matched the whole message)
    "tampered": r"member '\S+' has sha256 [0-9a-f]{64}, rmpkg.json says [0-9a-f]{64}: the bundle is corrupted",
    "truncated": r"truncated|damaged",
    "not a bundle": r"no gzip header",
    "HTTP 404": r"cannot fetch bundle \S+missing.rmpkg: HTTP 404",
    "an HTML page": r"is an HTML page \(Content-Type text/html",
    "a bundle served as text/html": r"as-html/multiply-add.rmpkg is an HTML page \(Content-Type text/html",
    "a text file served as text/plain": r"no gzip header",
    "a server that is not there": (
        r"cannot fetch bundle http://127\.0\.0\.1:\d+/bundles/multiply-add.rmpkg: .*network error"
    ),
    "another origin without CORS": r"cannot fetch bundle \S+: .*(network error|cross-origin)",
}
FAULTS = (
    "a malformed item (exit 4), the session goes on",
    "push after close (exit 1)",
    "pushMany with a malformed item (exit 4, named) pushes none, the session goes on",
    "a Python exception on item 2 (traceback), earlier results kept, later pushes fail",
    "a model that fails at open (exit 3)",
    "runner.close() rejects the pushes it had not answered (WorkerError)",
    "a terminated worker rejects the pending push and later ones (WorkerError)",
)
STUCK_TAB = "webdriver: a tab the driver is stuck on is replaced, and the page loads in a new one"
DEAD_BROWSER = "webdriver: a browser that ended is replaced (a new driver and browser), and its section runs again"
SCREENSHOTS = (
    "features-isolated",
    "features-plain",
    "error-manifest",
    "open-file",
    "refused-tampered",
    "refused-HTTP-404",
    "refused-a-bundle-served-as-text-html",
    "refused-a-server-that-is-not-there",
    "plain-auto-shim",
    "plain-wasmer-refused",
)

# What each Debian engine offers a cross-origin isolated page on http://127.0.0.1, as its makers
# document it (not as the runner finds it: the tests compare the two). WebKitGTK 2.50 (Debian's
# libwebkit2gtk-4.1) keeps SharedArrayBuffer off even when the page is cross-origin isolated, and its
# JavaScriptCore has no relaxed SIMD: there wasmer is unavailable and `auto` runs the shim.
_EVERYTHING = {"simd128": True, "relaxedSimd": True, "sharedMemory": True, "serviceWorker": True, "audioWorklet": True}
DOCUMENTED = {
    "chromium": _EVERYTHING,
    "firefox": _EVERYTHING,
    "webkit": {**_EVERYTHING, "relaxedSimd": False, "sharedMemory": False},
}
WASMER_NEEDS_SHARED_MEMORY = (
    "the wasmer backend needs SharedArrayBuffer and shared WebAssembly memory, which this browser does not "
    "offer here (use the shim backend)"
)
WASMER_NEEDS_ISOLATION = "the wasmer backend needs a cross-origin isolated page"

# The runner's feature probes (browser-demo/runner/src/features.ts) must be these instructions.
PROBES_WAT = {
    "SIMD128_PROBE": "(module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))",
    "RELAXED_SIMD_PROBE": (
        "(module (func (result v128) i32.const 1 i8x16.splat i32.const 2 i8x16.splat i8x16.relaxed_swizzle))"
    ),
}


@pytest.fixture(scope="module")
def site_and_expected():
    toolchains.ensure("browser")
    root = browser.site()
    expected = browser.expected_native(bundle.BUNDLES_DIR / "index.json")
    return root, expected


_runs: dict[str, dict] = {}


@pytest.fixture(scope="module", params=browser.ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def report(site_and_expected, engine: str) -> dict:
    """The engine's e2e report (the engine runs once per test module; a failed check is kept for the tests)."""
    if engine not in _runs:
        root, expected = site_and_expected
        with contextlib.suppress(browser.BuildError):  # the tests below name the failed checks
            browser.browser_tests(root, expected, (engine,))
        _runs[engine] = json.loads((paths.REPORTS_DIR / "browser.json").read_text())["engines"][engine]
    return _runs[engine]


def _names(report: dict) -> dict[str, dict]:
    return {r["name"]: r for r in report["results"]}


def test_node_unit_tests(site_and_expected) -> None:
    _root, expected = site_and_expected
    browser.node_tests(bundle.BUNDLES_DIR / "index.json", expected)


def test_feature_probes_are_the_instructions_they_claim() -> None:
    """The runner's probe modules are the WAT above, and need exactly the feature they probe."""
    source = (paths.BROWSER_DEMO_DIR / "runner" / "src" / "features.ts").read_text()
    for name, wat in PROBES_WAT.items():
        found = re.search(rf"const {name} = \[([\d,\s]+)\]", source)
        assert found, name
        assert bytes(int(b) for b in found.group(1).replace("\n", "").split(",") if b.strip()) == wasmtime.wat2wasm(wat)
    simd, relaxed = (wasmtime.wat2wasm(w) for w in PROBES_WAT.values())
    wasmtime.Module.validate(wasmtime.Engine(), simd)
    wasmtime.Module.validate(wasmtime.Engine(), relaxed)
    off = wasmtime.Config()
    off.wasm_relaxed_simd = False
    without_relaxed = wasmtime.Engine(off)  # an Engine takes its Config
    wasmtime.Module.validate(without_relaxed, simd)
    with pytest.raises(wasmtime.WasmtimeError, match="relaxed SIMD support is not enabled"):
        wasmtime.Module.validate(without_relaxed, relaxed)
    no_simd = wasmtime.Config()
    no_simd.wasm_relaxed_simd = False
    no_simd.wasm_simd = False
    with pytest.raises(wasmtime.WasmtimeError, match="SIMD support is not enabled"):
        wasmtime.Module.validate(wasmtime.Engine(no_simd), simd)


def test_pages_headers_and_service_worker() -> None:
    """The site as GitHub Pages serves it (the `plain` server): no COOP/COEP/CORP, the service worker
    and the bundles with the types Pages gives them; the isolated server adds the three headers."""
    root = browser.site()
    with browser.serving(root, isolated=False) as plain, browser.serving(root, isolated=True) as isolated:
        for base, want in ((plain, None), (isolated, "same-origin")):
            types = (
                ("", "text/html"),
                ("sw.js", "text/javascript"),
                ("bundles/multiply-add.rmpkg", "application/octet"),
            )
            for path, ctype in types:
                with urllib.request.urlopen(base + path) as r:
                    assert r.headers["Content-Type"].startswith(ctype), (path, r.headers["Content-Type"])
                    assert r.headers.get("Cross-Origin-Opener-Policy") == want, path
                    assert r.headers.get("Cross-Origin-Embedder-Policy") == (want and "require-corp"), path
                    assert r.headers.get("Cross-Origin-Resource-Policy") == want, path
        # The service worker's shell (cached on install: one missing file fails the install) is all there.
        shell = re.search(r"const SHELL = \[([^\]]*)\]", (root / "sw.js").read_text())
        assert shell, "sw.js names its shell"
        for name in re.findall(r'"([^"]+)"', shell.group(1)):
            with urllib.request.urlopen(plain + name.removeprefix("./")) as r:
                assert r.status == 200, name


def test_engine_end_to_end(site_and_expected, report: dict, engine: str) -> None:
    _root, expected = site_and_expected
    assert report.get("error") is None, report.get("error")
    assert report["outside"] == [], report["outside"]
    # (offline is test_engine_pages_and_offline's)
    failed = [r for r in report["results"] if not r["ok"] and not r["name"].startswith("offline (")]
    assert not failed, failed
    names = _names(report)
    keys = list(json.loads(expected.read_text()))
    features = report["features"]["isolated"]
    # The same checks in every engine; a backend or feature the engine lacks is skipped, with why.
    for key in keys:
        for backend in ("shim", "wasmer"):
            ran = f"{backend}: {key}" in names or f"{backend}: {key}: live captions have the words" in names
            assert ran, (backend, key)
        assert f"session in the worker: {key} merged equals native" in names
        if not key.startswith("whisper/"):
            assert f"session in the worker: {key} in one pushMany equals native" in names
    assert "session in the worker: python-node/numpy_biquad pushed as Float32Arrays equals native" in names
    for opened in ("file picker: python-node/python_node", "URL field: multiply-add/multiply_add"):
        assert f"{opened} equals native" in names
    for fault in FAULTS:
        assert f"session fault: {fault}" in names
    for check in (
        "manifest error is reported",
        "page recovers after an error",
        "tampered bundle refused (flipped byte)",
        "tampered bundle refused (wrong sha256 pin)",
        "tampered bundle refused (truncated)",
        "the built-in list works after a refusal",
        "no request left 127.0.0.1",
    ):
        assert check in names, check
    live = [k for k in keys if k.endswith("/live")]
    assert live, "the whisper bundle has a live pipeline"
    if features["audioWorklet"]:
        for key in live:
            assert f"shim: {key}: live captions have the words" in names
            assert f"shim: {key}: the first caption arrives before the audio has finished playing" in names
        assert report["live"] and report["live"][0]["captions"] and report["live"][0]["wer"] <= 0.25
    shots = paths.REPORTS_DIR / "screenshots" / engine
    for shot in SCREENSHOTS:
        assert (shots / f"{shot}.png").exists(), shot
    if features["audioWorklet"]:
        assert (shots / "live-captions.png").exists()
    if engine == "webkit":  # its driver's stuck tabs and ended browsers (browser-demo/e2e/webdriver.mjs)
        assert names[STUCK_TAB]["ok"], names[STUCK_TAB]
        assert names[DEAD_BROWSER]["ok"], names[DEAD_BROWSER]


def test_engine_features_and_paths(report: dict, engine: str) -> None:
    """What the runner detects equals what the platform says directly and what the engine is
    documented to offer; each path taken follows from the detected features."""
    assert report.get("error") is None, report.get("error")
    names = _names(report)
    for label in ("isolated", "plain"):
        features, platform = report["features"][label], report["platform"][label]
        assert features["crossOriginIsolated"] is platform["crossOriginIsolated"] is (label == "isolated")
        assert features["serviceWorker"] is platform["serviceWorker"]
        assert features["audioWorklet"] is platform["audioWorklet"]
        assert features["getUserMedia"] is platform["getUserMedia"]
        # Shared memory is SharedArrayBuffer's (engines hide it from a page that is not isolated).
        assert features["sharedMemory"] is platform["sharedArrayBuffer"]
        if label == "plain":
            assert features["sharedMemory"] is False
        # The runner's worker (where the module runs) sees the same WebAssembly features.
        for key in ("simd128", "relaxedSimd", "crossOriginIsolated", "sharedMemory"):
            assert features["worker"][key] is features[key], (label, key)
    isolated = report["features"]["isolated"]
    for key, value in DOCUMENTED[engine].items():
        assert isolated[key] is value, (key, isolated[key])

    paths_taken = report["paths"]
    wasmer_runs = isolated["crossOriginIsolated"] and isolated["sharedMemory"]
    if wasmer_runs:
        assert isolated["wasmerUnavailable"] is None
        auto = paths_taken["auto backend (COOP/COEP)"]
        assert auto == "wasmer: auto: cross-origin isolated with shared memory, wasmer"
        assert paths_taken["wasmer"] == "runs (cross-origin isolated, shared memory)"
        assert not any(r.get("skipped") for n, r in names.items() if n.startswith("wasmer: "))
    else:
        assert isolated["wasmerUnavailable"] == WASMER_NEEDS_SHARED_MEMORY
        auto = paths_taken["auto backend (COOP/COEP)"]
        assert auto == f"shim: auto fell back to the shim: {WASMER_NEEDS_SHARED_MEMORY}"
        assert paths_taken["wasmer"] == f"unavailable: {WASMER_NEEDS_SHARED_MEMORY}"
        wasmer = [r for n, r in names.items() if n.startswith("wasmer: ")]
        why = f"wasmer unavailable in this engine: {WASMER_NEEDS_SHARED_MEMORY}"
        assert wasmer and all(r["skipped"] == why for r in wasmer)
        refused = names["wasmer unavailable: the page says why"]
        assert refused["ok"] and WASMER_NEEDS_SHARED_MEMORY in refused["message"]
    # Without COOP/COEP (GitHub Pages) no engine can run wasmer: auto takes the shim and says why.
    plain = report["features"]["plain"]
    assert plain["wasmerUnavailable"].startswith(WASMER_NEEDS_ISOLATION)
    auto = paths_taken["auto backend (plain, as GitHub Pages)"]
    assert auto == f"shim: auto fell back to the shim: {plain['wasmerUnavailable']}"
    assert paths_taken["simd"] == (
        "simd128 (relaxed SIMD available; the bundle has no relaxed-SIMD build)"
        if isolated["relaxedSimd"]
        else "simd128 (no relaxed SIMD here)"
    )
    live_source = (
        "getUserMedia (fake device playing the WAV)"
        if engine == "chromium"
        else "the WAV decoded and played into the AudioWorklet (?mic=)"
    )
    no_live = "no AudioWorklet: live captions refused"
    assert paths_taken["live"] == (live_source if isolated["audioWorklet"] else no_live)
    if isolated["audioWorklet"]:
        assert report["live"][0]["source"] == live_source
    assert paths_taken["offline"] == (
        "service worker" if isolated["serviceWorker"] else "no service worker on http://127.0.0.1: no offline mode"
    )


def test_engine_pages(site_and_expected, report: dict, engine: str) -> None:
    """The site as GitHub Pages serves it (no COOP/COEP): not isolated, auto runs the shim, wasmer refuses."""
    names = _names(report)
    for check in (
        "pages (plain): crossOriginIsolated is false and the page says wasmer is unavailable",
        "no isolation: auto runs on the shim",
        "no isolation: wasmer refuses clearly",
    ):
        assert names[check]["ok"], (check, names[check])
    assert WASMER_NEEDS_ISOLATION in names["no isolation: wasmer refuses clearly"]["message"]


@pytest.mark.parametrize("site", ["plain", "isolated"])
def test_engine_offline(site_and_expected, report: dict, engine: str, site: str) -> None:
    """Offline after the first visit, without COOP/COEP (as on GitHub Pages) and with, where the engine
    has service workers (every engine here has)."""
    _root, expected = site_and_expected
    names = _names(report)
    keys = list(json.loads(expected.read_text()))
    assert report["features"]["isolated"]["serviceWorker"], "every engine here has service workers"
    ran = f"offline ({site})"  # a failure before the checks below (the first visit) is recorded as this
    assert ran not in names, names[ran]
    cached = names[f"{ran}: the service worker cached every bundle opened"]
    assert cached["ok"], cached
    for key in keys:
        assert names[f"{ran}: {key}"]["ok"], (site, key, names[f"{ran}: {key}"])
    assert (paths.REPORTS_DIR / "screenshots" / engine / f"offline-{site}.png").exists()


def test_engine_bad_input(report: dict, engine: str) -> None:
    """A bundle from a wrong URL, served with the wrong MIME type, tampered, truncated or not a
    bundle at all: refused on the page with the reason, in every engine."""
    names = _names(report)
    for what, reason in REFUSED.items():
        result = names[f"refused on the page ({what})"]
        assert result["ok"], (what, result)
        assert re.search(reason, result["message"]), (what, result["message"])


@pytest.mark.parametrize("engine", ["chromium"], indirect=True)
def test_chromium_runs_everything(report: dict) -> None:
    """Chromium, the reference engine, lacks none of the features: nothing is skipped there."""
    assert not [r for r in report["results"] if r.get("skipped")]
    assert report["paths"]["auto backend (COOP/COEP)"].startswith("wasmer")
