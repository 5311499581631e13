"""The browser side: the npm package, the demo site built on it, tests in real Chromium.

``browser-demo/`` is an npm workspace: ``runner/`` is the package
``@remotemedia/wasm-runner``, ``demo/`` the page that uses it by name.

- ``site()``: the bundles (``build.pack.bundle``), ``npm ci`` when the lock
  changed, the package then the demo (a cached step), assembled in
  ``build/site/``: ``index.html``, ``app.js`` (the page, the runner and its
  inline worker), ``style.css``, ``vendor/wasmer-sdk/``, ``bundles/``;
- ``serve``: a static server on 127.0.0.1 that sends COOP/COEP (the wasmer
  backend needs a cross-origin isolated page) or, with ``isolated=False``,
  plain headers (as GitHub Pages does);
- ``test``: the Node unit tests (real module, both backends; sessions on the
  reactor module), the demo driven in Debian Chromium through
  ``browser-demo/e2e/browser.mjs`` (every example pipeline on each backend prints
  exactly what the native runtime prints; a bundle opened from a file or a URL;
  refused bundles explained on the page; sessions in the worker merged equal
  native, and their faults; live captions from a fake microphone playing jfk.wav;
  offline after the first visit through the service worker, with and without
  COOP/COEP; no request leaves 127.0.0.1; screenshots in
  ``reports/screenshots/``), then the packed package as a user installs it
  (``npm_package``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import shutil
import struct
import threading
import time
import wave
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..build import whisper
from ..build.pack import bundle
from ..core import fsutil, paths, steps, toolchains, ui
from ..core.rmpkg import rmpkg
from ..core.ui import BuildError

SITE_DIR = paths.BUILD_DIR / "site"
SCREENSHOTS_DIR = paths.REPORTS_DIR / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
DEMO_PORT = 8765
EXPECTED_NAME = "expected-native.json"
SAMPLES_NAME = "sample-inputs.json"  # input items of the audio pipelines (tests only)


def npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is missing (install Node.js 20 or newer; `nox -s doctor` checks it)")
    return npm


RUNNER_DIR = paths.BROWSER_DEMO_DIR / "runner"
DEMO_DIR = paths.BROWSER_DEMO_DIR / "demo"
RUNNER_PACKAGE = "@remotemedia/wasm-runner"
DEMO_PACKAGE = "@remotemedia/wasm-runner-demo"


def npm_ci() -> None:
    """``npm ci`` of the workspace unless node_modules already matches package-lock.json."""
    root = paths.BROWSER_DEMO_DIR
    lock = root / "package-lock.json"
    marker = root / "node_modules" / ".rmbuild-lock-sha256"
    digest = fsutil.sha256_file(lock)
    if marker.exists() and marker.read_text().strip() == digest:
        return
    ui.step("browser-demo: npm ci (exact versions from package-lock.json)")
    ui.run([npm(), "ci", "--no-audit", "--no-fund"], cwd=root, what="npm ci")
    marker.write_text(digest + "\n")


def build_runner() -> Path:
    """Build the package into ``runner/dist/`` (esbuild and tsc: a few seconds)."""
    npm_ci()
    ui.run([npm(), "run", "build", "-w", RUNNER_PACKAGE], cwd=paths.BROWSER_DEMO_DIR, what="build (runner)")
    return RUNNER_DIR / "dist"


def _sources() -> list[Path]:
    root = paths.BROWSER_DEMO_DIR
    files = ["package.json", "package-lock.json", "tsconfig.base.json"]
    runner = ["src", "scripts", "package.json", "tsconfig.json", "tsconfig.build.json"]
    demo = ["src", "static", "scripts", "package.json", "tsconfig.json"]
    return [
        *(root / f for f in files),
        *(RUNNER_DIR / f for f in runner),
        *(DEMO_DIR / f for f in demo),
        paths.PACKAGING_DIR / "rmpkg.schema.json",
    ]


def build_demo() -> Path:
    """The built demo (``demo/dist/``), a cached step over the package's and the page's sources."""
    npm_ci()
    facts = {"node": toolchains.tool_version("node", "--version")}

    def build(out: Path) -> None:
        build_runner()
        ui.run([npm(), "run", "build", "-w", DEMO_PACKAGE], cwd=paths.BROWSER_DEMO_DIR, what="build (demo)")
        shutil.copytree(DEMO_DIR / "dist", out / "dist")

    return steps.cached("browser-demo", _sources(), facts, build) / "dist"


def site(bundle_names: list[str] | None = None) -> Path:
    """Assemble ``build/site``: the demo plus ``bundles/`` (index.json and the .rmpkg files)."""
    index = bundle.build_selected(bundle_names)
    dist = build_demo()
    ui.step(f"assembling the site in {SITE_DIR}")
    if SITE_DIR.exists():
        shutil.rmtree(SITE_DIR)
    shutil.copytree(dist, SITE_DIR, ignore=shutil.ignore_patterns("*.map"))
    shutil.copytree(index.parent, SITE_DIR / "bundles", ignore=shutil.ignore_patterns(EXPECTED_NAME, SAMPLES_NAME))
    return SITE_DIR


# ---------------------------------------------------------------------------
# the server


class _Handler(SimpleHTTPRequestHandler):
    isolated = True
    extensions_map = {  # noqa: RUF012 (the stdlib's own class attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".rmpkg": "application/octet-stream",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        if self.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(root: Path, isolated: bool = True, port: int = 0) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 in a thread; yields the base URL."""
    handler = type("Handler", (_Handler,), {"isolated": isolated})
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def serve(args: argparse.Namespace) -> int:
    """``nox -s demo``: build and serve the demo; ``nox -s demo -- build`` only builds ``build/site``."""
    extra = list(args.extra)
    root = site()
    if "build" in extra:
        ui.ok(f"site built in {root}")
        return 0
    plain = "plain" in extra
    with serving(root, isolated=not plain, port=DEMO_PORT) as url:
        headers = "without COOP/COEP (like GitHub Pages)" if plain else "with COOP/COEP (wasmer backend available)"
        ui.ok(f"demo at {url} {headers}; Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


# ---------------------------------------------------------------------------
# expected results and tests


def expected_native(index_path: Path) -> Path:
    """Run every bundled pipeline's manifest with the native runtime; write what it prints.

    Audio pipelines run on their sample (jfk.wav as a ``$audio`` item), live ones on jfk.wav in
    0.5 s chunks (their reference is the bundle in wasmtime, see ``_expected_live``); the items go to
    ``SAMPLES_NAME`` beside it (the Node tests feed the same items), and ``audio_samples()``
    names the WAV files the Chromium test uploads."""
    index = json.loads(index_path.read_text())
    expected: dict[str, str] = {}
    samples: dict[str, list] = {}
    for entry in index["bundles"]:
        meta = rmpkg.read(index_path.parent / entry["file"]).metadata
        for pipeline in meta["pipelines"]:
            key = f"{entry['name']}/{pipeline['name']}"
            if pipeline.get("input_kind") == "audio-stream":
                expected[key] = _expected_live(index_path.parent / entry["file"], entry["name"], pipeline["name"])
                samples[key] = stream_chunks(whisper.jfk_wav())
                continue
            expected[key] = bundle.run_native(entry["name"], pipeline["name"]).decode()
            inputs = bundle.sample_inputs(bundle.pipeline_spec(entry["name"], pipeline["name"]))
            if inputs is not None:
                samples[key] = inputs
    (index_path.parent / SAMPLES_NAME).write_text(json.dumps(samples) + "\n")
    out = index_path.parent / EXPECTED_NAME
    out.write_text(json.dumps(expected, indent=1) + "\n")
    return out


STREAM_CHUNK_SECONDS = 0.5


def _texts(stdout: bytes) -> list[str]:
    return [whisper.normalise(v["text"]) for values in json.loads(stdout)["outputs"].values() for v in values]


def _expected_live(bundle_path: Path, bundle_name: str, pipeline: str) -> str:
    """A live pipeline's result for jfk.wav in chunks (one-shot run of the same items), from the
    bundle in wasmtime: its quantized model rounds differently natively (README, Whisper), so the
    reference for the wasm hosts' bytes is the wasm module's; the native runtime must give the same
    words, window by window."""
    chunks = stream_chunks(whisper.jfk_wav())
    wasm = bundle.run_in_wasmtime(bundle_path, pipeline, inputs=chunks).check(f"wasmtime {bundle_name}/{pipeline}")
    native = bundle.native_run(bundle.demo_spec(bundle_name), pipeline, chunks).check(
        f"native {bundle_name}/{pipeline}"
    )
    words, native_words = _texts(wasm.stdout), _texts(native.stdout)
    if words != native_words:
        raise BuildError(f"{bundle_name}/{pipeline}: native and wasm captions differ: {native_words} vs {words}")
    return wasm.stdout.decode()


def stream_chunks(wav_path: Path, seconds: float = STREAM_CHUNK_SECONDS, loops: int = 1) -> list:
    """A 16-bit PCM WAV (looped ``loops`` times) as ``$audio`` items of ``seconds`` each (the
    last one shorter): the chunks a live pipeline's session is fed, as a microphone would."""
    with wave.open(str(wav_path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise BuildError(f"{wav_path}: 16-bit PCM expected")
        rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.readframes(wav.getnframes())
    frames *= loops
    step = round(seconds * rate) * channels * 2
    items = []
    for start in range(0, len(frames), step):
        part = frames[start : start + step]
        ints = struct.unpack(f"<{len(part) // 2}h", part)
        data = struct.pack(f"<{len(ints)}f", *(v / 32768.0 for v in ints))
        audio = {"sample_rate": rate, "channels": channels, "data_b64": base64.b64encode(data).decode()}
        items.append({"$audio": audio})
    return items


def audio_samples(index_path: Path) -> dict[str, dict[str, str]]:
    """``{"bundle/pipeline": {"file": WAV, "text": expected transcript}}`` for audio pipelines."""
    out = {}
    for entry in json.loads(index_path.read_text())["bundles"]:
        for name in entry["pipelines"]:
            wav = bundle.sample_audio(bundle.pipeline_spec(entry["name"], name))
            if wav is not None:
                out[f"{entry['name']}/{name}"] = {"file": str(wav), "text": whisper.normalise(whisper.JFK_TEXT)}
    return out


def live_samples(index_path: Path) -> dict[str, dict]:
    """``{"bundle/pipeline": {"file", "text", "seconds"}}`` for live (``audio-stream``) pipelines: the
    WAV Chromium's fake microphone plays in a loop, the words its captions must have, its length."""
    out = {}
    for entry in json.loads(index_path.read_text())["bundles"]:
        meta = rmpkg.read(index_path.parent / entry["file"]).metadata
        for pipeline in meta["pipelines"]:
            if pipeline.get("input_kind") == "audio-stream":
                wav = whisper.jfk_wav()
                text = whisper.normalise(whisper.JFK_TEXT)
                out[f"{entry['name']}/{pipeline['name']}"] = {"file": str(wav), "text": text, "seconds": _seconds(wav)}
    return out


def _seconds(wav_path: Path) -> float:
    with wave.open(str(wav_path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def node_tests(index_path: Path, expected: Path) -> None:
    npm_ci()
    ui.step("PipelineRunner unit tests under Node (real module, shim and wasmer backends)")
    ui.run(["node", "scripts/build.mjs", "--tests"], cwd=RUNNER_DIR, what="esbuild (tests)")
    env = {
        "RMPKG_BUNDLES_DIR": str(index_path.parent),
        "RMPKG_EXPECTED": str(expected),
        "RMPKG_SAMPLES": str(index_path.parent / SAMPLES_NAME),
    }
    ui.run(["node", "--test", "--test-reporter=spec", "dist-test/"], cwd=RUNNER_DIR, env=env, what="node --test")


def browser_tests(root: Path, expected: Path) -> dict:
    toolchains.ensure("browser")
    if not CHROMIUM.exists():
        raise BuildError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    report = paths.REPORTS_DIR / "browser.json"
    with serving(root, isolated=True) as isolated_url, serving(root, isolated=False) as plain_url:
        samples_file = expected.parent / SAMPLES_NAME
        config = {
            "isolatedUrl": isolated_url,
            "plainUrl": plain_url,
            "expected": json.loads(expected.read_text()),
            "samples": json.loads(samples_file.read_text()) if samples_file.exists() else {},
            "audio": audio_samples(expected.parent / "index.json"),
            "live": live_samples(expected.parent / "index.json"),
            "liveWav": str(whisper.jfk_wav()),
            "bundlesDir": str(root / "bundles"),
            "screenshots": str(SCREENSHOTS_DIR),
            "chromium": str(CHROMIUM),
            "report": str(report),
        }
        config_path = paths.REPORTS_DIR / "browser-config.json"
        config_path.write_text(json.dumps(config, indent=1))
        urls = f"{isolated_url} isolated, {plain_url} plain"
        ui.step(
            f"Chromium: every pipeline on both backends, bundles from files and URLs, sessions, live, offline ({urls})"
        )
        ui.run(["node", "e2e/browser.mjs", config_path], cwd=paths.BROWSER_DEMO_DIR, what="browser tests")
    ui.ok(f"screenshots in {SCREENSHOTS_DIR}, report {report}")
    return json.loads(report.read_text())


def test(args: argparse.Namespace) -> int:
    from . import npm_package  # it builds on this module

    root = site()
    index = bundle.BUNDLES_DIR / "index.json"
    expected = expected_native(index)
    node_tests(index, expected)
    browser_tests(root, expected)
    npm_package.test(index, expected)
    return 0
