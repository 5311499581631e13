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
  reactor module), the demo driven in each browser engine (``ENGINES``: Debian
  Chromium through playwright-core, Firefox ESR through geckodriver and WebKitGTK
  through WebKitWebDriver, under Xvfb) through the same checks,
  ``browser-demo/e2e/browser.mjs`` (what the engine can do and the paths the
  runner takes; every example pipeline on each backend the engine runs prints
  exactly what the native runtime prints; a bundle opened from a file or a URL;
  refused bundles explained on the page; sessions in the worker merged equal
  native, and their faults; live captions from a fake microphone playing jfk.wav;
  offline after the first visit through the service worker, with and without
  COOP/COEP; no request leaves 127.0.0.1; screenshots in
  ``reports/screenshots/<engine>/``, ``reports/browser.json`` per engine), then the
  packed package as a user installs it (``npm_package``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
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


class Network:
    """What the test servers share: whether the network is cut (every connection is dropped
    unanswered, as a cut cable would), and what the browser asked the recording proxy for."""

    def __init__(self) -> None:
        self.offline = threading.Event()
        self.outside: list[str] = []
        self.lock = threading.Lock()

    def note(self, what: str) -> None:
        with self.lock:
            self.outside.append(what)


# Test-only routes of the test servers (never in build/site): a real bundle served as text/html, a
# text file named .rmpkg served as text/plain, files the tests play (``extra_files``), and a page
# whose first load never ends (the WebDriver page object's stuck-tab recovery, webdriver.mjs).
TEST_PREFIX = "/__test__/"
STUCK_PAGE_HOLD_S = 240.0  # how long the first load of a first-load-never-ends/<name> page is held open


class _Handler(SimpleHTTPRequestHandler):
    isolated = True
    network: Network | None = None
    extra_files: dict[str, Path] = {}  # noqa: RUF012 (set per server by serving())
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

    def _cut(self) -> bool:
        return self.network is not None and self.network.offline.is_set()

    def handle_one_request(self) -> None:
        if self._cut():
            self.close_connection = True  # no answer at all: the browser sees a network error
            return
        super().handle_one_request()

    def parse_request(self) -> bool:
        # Also a request on a connection kept alive from before the cut gets no answer.
        if not super().parse_request():
            return False
        if self._cut():
            self.close_connection = True
            return False
        return True

    def do_GET(self) -> None:
        if self.path.startswith(TEST_PREFIX) and self._test_route():
            return
        super().do_GET()

    def _test_route(self) -> bool:
        rest = self.path[len(TEST_PREFIX) :].split("?", 1)[0]
        kind, _, name = rest.partition("/")
        if kind == "first-load-never-ends":
            self._first_load_never_ends(name)
            return True
        if kind == "as-html" and name.endswith(".rmpkg"):
            body, ctype = (Path(self.directory) / "bundles" / Path(name).name).read_bytes(), "text/html; charset=utf-8"
        elif kind == "as-text":
            body, ctype = b"just some notes\n" * 8, "text/plain; charset=utf-8"
        elif kind == "files" and name in self.extra_files:
            body = self.extra_files[name].read_bytes()
            ctype = "audio/wav" if name.endswith(".wav") else "application/octet-stream"
        else:
            return False
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    _stuck_seen: set[str] = set()  # noqa: RUF012 (shared by every handler: one first load per name)
    _stuck_lock = threading.Lock()

    def _first_load_never_ends(self, name: str) -> None:
        """The first request for ``name``: the start of a page, then nothing for STUCK_PAGE_HOLD_S (a
        load that does not end). Every later one: the whole page, which marks itself loaded."""
        with self._stuck_lock:
            first = name not in self._stuck_seen
            self._stuck_seen.add(name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<!doctype html><title>stuck tab</title><p>loading")
        self.wfile.flush()
        if first:
            time.sleep(STUCK_PAGE_HOLD_S)
        with contextlib.suppress(ConnectionError):
            self.wfile.write(b"<script>document.body.dataset.loads = '1'</script>")
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A browser that drops a connection mid-answer (a cancelled fetch, a page navigated away)
        # is normal here, not a server error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving(
    root: Path,
    isolated: bool = True,
    port: int = 0,
    network: Network | None = None,
    extra_files: dict[str, Path] | None = None,
) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 in a thread; yields the base URL. With ``network``, cutting it
    drops every connection; ``extra_files`` are served under ``/__test__/files/``."""
    attrs = {"isolated": isolated, "network": network, "extra_files": dict(extra_files or {})}
    handler = type("Handler", (_Handler,), attrs)
    server = _Server(("127.0.0.1", port), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _Control(BaseHTTPRequestHandler):
    """The tests' control server, and the recording proxy of the WebDriver engines: a request for
    another host (an absolute URL, or CONNECT) is noted and refused; ``POST /offline?on=1|0``
    cuts or restores the network of the site servers; ``GET /outside`` lists what was refused."""

    network: Network

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _refuse(self) -> None:
        self.network.note(self.path if self.command != "CONNECT" else f"CONNECT {self.path}")
        self.send_error(403, "the browser tests reach 127.0.0.1 only")

    def do_CONNECT(self) -> None:
        self._refuse()

    def _answer(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if not self.path.startswith("/"):
            return self._refuse()
        if self.path == "/outside":
            with self.network.lock:
                return self._answer(list(self.network.outside))
        self.send_error(404)

    def do_POST(self) -> None:
        if not self.path.startswith("/"):
            return self._refuse()
        if self.path.startswith("/offline?on="):
            on = self.path.endswith("=1")
            (self.network.offline.set if on else self.network.offline.clear)()
            return self._answer({"offline": on})
        self.send_error(404)

    do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _refuse


@contextlib.contextmanager
def control_server(network: Network) -> Iterator[str]:
    handler = type("Control", (_Control,), {"network": network})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def unused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A virtual display for engines that need one (WebKitGTK): the first free :N from :90. Its
    messages go to ``reports/xvfb.log`` (a pipe nobody reads would fill up and stop the server)."""
    log_path = paths.REPORTS_DIR / "xvfb.log"
    for number in range(90, 140):
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        display = f":{number}"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(toolchains.XVFB), display, "-screen", "0", "1400x1100x24", "-nolisten", "tcp", "-noreset"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        if proc.poll() is not None:
            continue  # taken meanwhile: the next one
        try:
            yield display
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    raise BuildError(f"no free X display between :90 and :139 for Xvfb (see {log_path})")


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


# The engines the demo is tested in, each with both WASI backends where it can run them.
ENGINES = ("chromium", "firefox", "webkit")
ENGINES_ENV = "RMBUILD_BROWSER_ENGINES"  # e.g. "firefox webkit": only those (a developer's shortcut)


def selected_engines() -> tuple[str, ...]:
    wanted = os.environ.get(ENGINES_ENV, "").replace(",", " ").split()
    unknown = sorted(set(wanted) - set(ENGINES))
    if unknown:
        raise BuildError(f"{ENGINES_ENV}: unknown engine(s) {', '.join(unknown)} (known: {', '.join(ENGINES)})")
    return tuple(e for e in ENGINES if e in wanted) if wanted else ENGINES


def _engine_binaries(engine: str) -> dict[str, str]:
    if engine == "chromium":
        if not CHROMIUM.exists():
            raise BuildError(f"{CHROMIUM} is missing: apt-get install -y chromium")
        return {"chromium": str(CHROMIUM)}
    if engine == "firefox":
        return {"firefox": str(toolchains.FIREFOX), "geckodriver": str(toolchains.geckodriver())}
    return {"webkitDriver": str(toolchains.WEBKIT_DRIVER), "minibrowser": str(toolchains.MINIBROWSER)}


LIVE_WAV = "jfk.wav"


def browser_tests(root: Path, expected: Path, engines: tuple[str, ...] | None = None) -> dict:
    """Run the e2e checks in every engine (one after the other); ``reports/browser.json`` holds
    each engine's report (version, features, paths taken, results). Fails after all ran if any failed."""
    toolchains.ensure("browser")
    engines = engines or selected_engines()
    report_path = paths.REPORTS_DIR / "browser.json"
    reports: dict[str, dict] = {}
    failed: list[str] = []
    network = Network()
    files = {LIVE_WAV: whisper.jfk_wav()}
    samples_file = expected.parent / SAMPLES_NAME
    base_config = {
        "expected": json.loads(expected.read_text()),
        "samples": json.loads(samples_file.read_text()) if samples_file.exists() else {},
        "audio": audio_samples(expected.parent / "index.json"),
        "live": live_samples(expected.parent / "index.json"),
        "liveWav": str(whisper.jfk_wav()),
        "bundlesDir": str(root / "bundles"),
    }
    with (
        control_server(network) as control_url,
        serving(root, isolated=True, network=network, extra_files=files) as isolated_url,
        serving(root, isolated=False, network=network, extra_files=files) as plain_url,
    ):
        for engine in engines:
            shots = SCREENSHOTS_DIR / engine
            if shots.exists():
                shutil.rmtree(shots)
            shots.mkdir(parents=True)
            engine_report = paths.REPORTS_DIR / f"browser-{engine}.json"
            engine_report.unlink(missing_ok=True)
            with network.lock:
                network.outside.clear()
            network.offline.clear()
            config = {
                **base_config,
                "engine": engine,
                "isolatedUrl": isolated_url,
                "plainUrl": plain_url,
                "controlUrl": control_url,
                "deadUrl": unused_url(),
                "liveWavUrl": f"{TEST_PREFIX}files/{LIVE_WAV}",
                "screenshots": str(shots),
                "report": str(engine_report),
                **_engine_binaries(engine),
            }
            with contextlib.ExitStack() as stack:
                if engine == "webkit":
                    config["display"] = stack.enter_context(xvfb())
                config_path = paths.REPORTS_DIR / f"browser-config-{engine}.json"
                config_path.write_text(json.dumps(config, indent=1))
                ui.step(
                    f"{engine}: every pipeline on each backend it runs, bundles from files and URLs, bad input, "
                    f"sessions, live, the site as Pages serves it, offline ({isolated_url} isolated, {plain_url} plain)"
                )
                try:
                    ui.run(["node", "e2e/browser.mjs", config_path], cwd=paths.BROWSER_DEMO_DIR, what=f"{engine} tests")
                except BuildError as exc:
                    failed.append(engine)
                    ui.warn(str(exc))
            if engine_report.exists():
                reports[engine] = json.loads(engine_report.read_text())
                engine_report.unlink()
            else:
                reports[engine] = {"engine": engine, "results": [], "error": "the e2e run wrote no report"}
    previous = json.loads(report_path.read_text()) if report_path.exists() else {}
    merged = {**previous.get("engines", {}), **reports} if isinstance(previous, dict) else reports
    report_path.write_text(json.dumps({"engines": merged}, indent=1) + "\n")
    ui.ok(f"screenshots in {SCREENSHOTS_DIR}/<engine>/, report {report_path}")
    for engine in engines:
        r = reports[engine]
        done = [x for x in r["results"] if not x.get("skipped")]
        ui.info(
            f"{engine} ({r.get('version', '?')}): {sum(x['ok'] for x in done)} passed, "
            f"{sum(not x['ok'] for x in done)} failed, {len(r['results']) - len(done)} skipped; "
            f"paths: {json.dumps(r.get('paths', {}))}"
        )
        recoveries = r.get("driverRecoveries") or []
        browsers = [x for x in recoveries if "endedSession" in x]
        if tabs := len(recoveries) - len(browsers):
            ui.info(f"{engine}: the driver stayed stuck on a tab {tabs}x, reopened in a new tab")
        for x in browsers:  # the e2e flow ran that section again with a new driver and browser
            ui.warn(f"{engine}: {x['why']}")
    if failed:
        raise BuildError(f"browser tests failed in {', '.join(failed)} (see {report_path})")
    return {"engines": reports}


def test(args: argparse.Namespace) -> int:
    from . import npm_package  # it builds on this module

    root = site()
    index = bundle.BUNDLES_DIR / "index.json"
    expected = expected_native(index)
    node_tests(index, expected)
    browser_tests(root, expected)
    npm_package.test(index, expected)
    return 0
