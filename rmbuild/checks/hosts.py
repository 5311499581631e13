"""The packed ``@remotemedia/wasm-runner`` on the server-side JavaScript hosts.

``npm pack`` the runner and install the tarball into a fresh project (``npm_package``),
then run, with ``PipelineRunner`` from there, the parity examples (``parity.example_cases``:
each manifest runs in the python-node bundle in place of its pipeline's manifest, which
holds the stdlib and the examples' Python sources at their relative place) and every
pipeline of every demo bundle (on ``bundle.sample_inputs`` where it gives some) on:

- Node 20 (the machine's ``node``), Node 22, Deno 2 and Bun: one adapter script each
  (``browser-demo/hosts/{node,deno,bun}.mjs``) runs a job file of cases in one process;
- workerd: two processes (``Workerd``), the Worker ``browser-demo/hosts/workerd.mjs``
  running a bundle per request, fetched from a URL, and the same script as the gateway
  in front of it that holds the CPU limit (workerd enforces none); V8 holds the memory
  limit (``--wasm-max-mem-pages``).

Every output must equal the native runtime's byte for byte. The host binaries are the npm
packages pinned in artifacts.lock.toml. Where a host has ``node:wasi`` with WASI preview1
(probed by its adapter), the examples also run through the project's node:wasi path
(``rmbuild/run/node_wasi_runner.mjs``); where it lacks it, that path is refused naming the
host and what is missing. ``reports/hosts.json`` has, per host, its version, start-up time
and each pipeline's time and verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..build import native
from ..build.pack import bundle
from ..build.wasm import module as wasm_module
from ..core import artifacts, fsutil, lock, machine, paths, ui
from ..core.rmpkg import rmpkg
from ..core.ui import BuildError
from ..run import executor, wasi
from ..run.outcome import Outcome
from . import browser, npm_package, parity

ADAPTERS = paths.BROWSER_DEMO_DIR / "hosts"
HOSTS = ("node20", "node22", "deno", "bun", "workerd")
EXAMPLES_BUNDLE = ("python-node", "python_node")  # the examples run in its place
REPORT_JSON = "hosts.json"
REPORT_TEXT = "hosts.md"
RUN_TIMEOUT = 600.0  # one adapter process: every case of a host
MEMORY_LIMIT_MIB = 1024  # workerd's wasm memory limit in the matrix
CPU_LIMIT_MS = 120_000  # and its CPU limit per request
RESTART_LINE = "rmhosts: restart the runner"  # the gateway's word to the supervisor (workerd.mjs)
WORKERD_COMPATIBILITY_DATE = "2026-01-01"


def _require_linux_x64() -> None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise BuildError(
            f"the hosts check pins linux-x64 host binaries; this is {platform.system()} {platform.machine()}"
        )


# ---------------------------------------------------------------------------
# the project: the packed runner installed, the adapters beside it


@dataclass(frozen=True)
class Project:
    root: Path  # package.json, node_modules/@remotemedia/wasm-runner, the adapters
    tarball: str
    tarball_size: int

    @property
    def runner_module(self) -> Path:
        return self.root / "node_modules" / browser.RUNNER_PACKAGE / "dist" / "index.js"


def install(dest: Path) -> Project:
    """Pack the runner, install the tarball into ``dest/project`` offline, copy the adapters there."""
    packed = npm_package.pack(dest / "pack")
    project = dest / "project"
    npm_package.install(packed.tarball, project)
    for adapter in sorted(ADAPTERS.glob("*.mjs")):
        shutil.copy(adapter, project / adapter.name)
    return Project(project, packed.tarball.name, packed.size)


# ---------------------------------------------------------------------------
# the cases and what native prints for them


@dataclass(frozen=True)
class Case:
    key: str  # example/NAME or BUNDLE/PIPELINE
    kind: str  # example | bundle
    bundle: str  # the demo bundle it runs in
    pipeline: str
    expected: str  # the native runtime's stdout
    expected_stderr: str  # and stderr (its exit code is 0)
    manifest: str | None = None  # an example's text, run in place of the pipeline's manifest
    inputs: list | None = None
    source: Path | None = None  # an example's file (the node:wasi path runs it)
    root: Path | None = None  # the folder its relative paths reach

    def job(self, bundle_ref: str, sha256: str) -> dict:
        job = {"key": self.key, "bundle": bundle_ref, "sha256": sha256, "pipeline": self.pipeline}
        if self.manifest is not None:
            job["manifest"] = self.manifest
        if self.inputs is not None:
            job["inputs"] = self.inputs
        return job


def example_cases() -> list[Case]:
    host = native.host()
    name, pipeline = EXAMPLES_BUNDLE
    cases = []
    for example in parity.example_cases():
        assert example.source is not None
        ref = host.run(executor.run_args(example.source), timeout=parity.RUN_TIMEOUT).check(example.name)
        manifest, source, root = example.manifest, example.source, example.root
        cases.append(
            Case(example.name, "example", name, pipeline, ref.text, ref.error_text, manifest, None, source, root)
        )
    return cases


def bundle_cases(index: dict) -> list[Case]:
    cases = []
    for entry in index["bundles"]:
        for pipeline in entry["pipelines"]:
            inputs = bundle.sample_inputs(bundle.pipeline_spec(entry["name"], pipeline))
            key = f"{entry['name']}/{pipeline}"
            ref = bundle.native_run(bundle.demo_spec(entry["name"]), pipeline, inputs).check(f"native {key}")
            cases.append(Case(key, "bundle", entry["name"], pipeline, ref.text, ref.error_text, inputs=inputs))
    return cases


@dataclass
class Bundles:
    """The demo bundles (``build/bundles``) and their index entries."""

    index_path: Path

    @property
    def entries(self) -> dict[str, dict]:
        return {b["name"]: b for b in json.loads(self.index_path.read_text())["bundles"]}

    def path(self, name: str) -> Path:
        return self.index_path.parent / self.entries[name]["file"]

    def sha256(self, name: str) -> str:
        return self.entries[name]["sha256"]

    def modules(self) -> dict[str, bytes]:
        """Every distinct runtime module of the bundles, by its sha256 (verified by rmpkg.read)."""
        found: dict[str, bytes] = {}
        for name in self.entries:
            b = rmpkg.read(self.path(name))
            module = b.metadata["runtime"]["module"]
            member = next(m for m in b.metadata["members"] if m["path"] == module)
            found[member["sha256"]] = b.files[module]
        return found


class _Files(SimpleHTTPRequestHandler):
    extensions_map = {".rmpkg": "application/octet-stream", ".html": "text/html"}  # noqa: RUF012

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A runner refusing a text/html answer hangs up before the body is sent: not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving_bundles(bundles: Bundles, dest: Path) -> Iterator[str]:
    """Serve the bundles on 127.0.0.1 (``NAME.rmpkg``), and each again as ``wrong-type/NAME.html``
    (the same bytes with Content-Type text/html). Yields the base URL."""
    root = dest / "served"
    (root / "wrong-type").mkdir(parents=True, exist_ok=True)
    for name in bundles.entries:
        for link in (root / f"{name}.rmpkg", root / "wrong-type" / f"{name}.html"):
            link.unlink(missing_ok=True)
            link.symlink_to(bundles.path(name).resolve())
    server = _Server(("127.0.0.1", 0), functools.partial(_Files, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------
# the command-line hosts: Node 20, Node 22, Deno, Bun


@dataclass(frozen=True)
class CliHost:
    name: str
    title: str  # "Node 22"
    argv: tuple[str, ...]  # what comes before the script
    adapter: str  # in browser-demo/hosts/
    source: str  # where the binary comes from
    env: tuple[tuple[str, str], ...] = ()
    write_flag: str = ""  # Deno: node:wasi wants write access to every preopen (--allow-write=DIRS)

    def command(self, script: Path | str, *args: object) -> list[str]:
        return [*self.argv, str(script), *(str(a) for a in args)]

    def run(self, project: Project, *args: object, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
        cmd = self.command(project.root / self.adapter, *args)
        try:
            return subprocess.run(
                cmd, cwd=project.root, env={**os.environ, **dict(self.env)}, capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"{self.title}: {' '.join(cmd)} did not finish within {timeout:g} s") from exc


def _npm_binary(artifact: str, name: str) -> Path:
    binary = artifacts.fetch(artifact) / name
    if not os.access(binary, os.X_OK):
        raise BuildError(f"{binary} (from the locked npm package {artifact}) is not executable")
    return binary


def cli_host(name: str) -> CliHost:
    """A command-line host; its binary from the lock (fetched and verified), Node 20 from PATH."""
    if name == "node20":
        node = shutil.which("node")
        if node is None:
            raise BuildError("node is missing (the machine's Node 20: `./nox -s doctor`)")
        major = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
        title = f"Node {major.split('.')[0]}"  # 20 here; whatever the machine has elsewhere
        return CliHost(name, title, (node, "--no-warnings"), "node.mjs", f"the machine's ({node})")
    if name == "node22":
        binary = _npm_binary("node-22", "node")
        return CliHost(name, "Node 22", (str(binary), "--no-warnings"), "node.mjs", _npm_source("node-22"))
    if name == "deno":
        binary = _npm_binary("deno", "deno")
        argv = (str(binary), "run", "--no-lock", "--allow-read", "--allow-net=127.0.0.1")
        # Deno's node:wasi prints an ExperimentalWarning unless told as Node is.
        env = (("NODE_OPTIONS", "--no-warnings"), ("DENO_NO_UPDATE_CHECK", "1"))
        return CliHost(name, "Deno 2", argv, "deno.mjs", _npm_source("deno"), env, "--allow-write=")
    if name == "bun":
        return CliHost(name, "Bun", (str(_npm_binary("bun", "bun")),), "bun.mjs", _npm_source("bun"))
    raise BuildError(f"unknown host {name!r} (known: {', '.join(HOSTS)})")


def _npm_source(artifact: str) -> str:
    a = lock.get(artifact)
    return f"npm {a.package}@{a.version}"


def _answer(host: str, proc: subprocess.CompletedProcess) -> dict:
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip()[-3000:]
        raise BuildError(f"{host}: the adapter failed (exit {proc.returncode}):\n{tail}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise BuildError(f"{host}: the adapter printed no JSON: {proc.stdout[:500]!r}") from exc


def probe(host: CliHost, project: Project) -> dict:
    """What the host offers (the adapter's --probe), with the best of 3 start-up times (ms):
    the process started, the runner package imported, the answer printed."""
    best = None
    answer: dict = {}
    for _ in range(3):
        started = time.perf_counter()
        answer = _answer(host.title, host.run(project, "--probe", timeout=60))
        elapsed = (time.perf_counter() - started) * 1e3
        best = elapsed if best is None else min(best, elapsed)
    return {**answer, "startup_ms": round(best or 0.0, 1)}


def run_jobs(host: CliHost, project: Project, jobs: list[dict]) -> dict:
    """Every job in one adapter process; its answer ({host, version, worker, results})."""
    job_file = project.root / f"job-{host.name}.json"
    job_file.write_text(json.dumps({"cases": jobs}))
    return _answer(host.title, host.run(project, job_file))


def require_node_wasi(title: str, version: str, probed: dict) -> None:
    """BuildError naming the host and what it lacks unless its probe found node:wasi with WASI preview1."""
    if probed["nodeWasi"] != "ok":
        raise BuildError(
            f"{title} {version} lacks WASI preview1 through node:wasi ({probed['nodeWasi']}): the node:wasi "
            "path (rmbuild/run/node_wasi_runner.mjs) cannot run there; PipelineRunner's shim backend can"
        )


def node_wasi_run(host: CliHost, probed: dict, case: Case, layout: wasi.Layout) -> Outcome:
    """An example through the project's node:wasi path on ``host``, as ``wasi.run_node`` runs it on
    Node; refused, naming the host and what it lacks, where the probe found no WASI preview1."""
    require_node_wasi(host.title, probed["version"], probed)
    assert case.source is not None
    folders = [(case.root or case.source.parent).resolve()]
    preopens = {**layout.preopens, **executor.same_path_preopens(*folders)}
    args = [a for guest, where in preopens.items() for a in ("--dir", f"{where}::{guest}")]
    args += [a for key, value in layout.env.items() for a in ("--env", f"{key}={value}")]
    args += ["--argv0", layout.program, layout.module, "--", *executor.run_args(case.source)]
    grant = [host.write_flag + ",".join(str(p) for p in preopens.values())] if host.write_flag else []
    cmd = [*host.argv, *grant, str(wasi.NODE_RUNNER), *map(str, args)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **dict(host.env)}, capture_output=True, timeout=parity.RUN_TIMEOUT)
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started, host=host.name)


# ---------------------------------------------------------------------------
# workerd: the runner Worker, the gateway in front, a supervisor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _capnp_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a Cap'n Proto text literal here (ASCII, \" and \\)


RUNNER_CONFIG = """using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "runner", worker = .runner), (name = "loopback", network = (allow = ["local"]))],
  sockets = [(name = "http", address = "127.0.0.1:{runner_port}", http = (), service = "runner")],
  v8Flags = ["--wasm-max-mem-pages={pages}"],
);
const runner :Workerd.Worker = (
  modules = [{modules}],
  compatibilityDate = "{date}",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
  bindings = [(name = "MODULES", json = {names}), (name = "MEMORY_LIMIT_MIB", text = "{memory_mib}")],
);
"""
GATEWAY_CONFIG = """using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    (name = "runner", external = (address = "127.0.0.1:{runner_port}", http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "gateway")],
);
const gateway :Workerd.Worker = (
  modules = [{modules}],
  compatibilityDate = "{date}",
  bindings = [(name = "RUNNER", service = "runner"), (name = "CPU_LIMIT_MS", text = "{cpu_ms}")],
);
"""


class Workerd:
    """workerd serving ``workerd.mjs``: the runner process (one bundle per request; V8 holds its
    wasm memory to ``memory_mib``) behind the gateway process (answers 503 when the runner has not
    answered within ``cpu_ms``, and logs RESTART_LINE, on which this supervisor replaces the runner
    process). ``precompiled=False``: the Worker is given no module (as a Worker that forgot it)."""

    def __init__(
        self,
        project: Project,
        modules: dict[str, bytes],
        *,
        memory_mib: int = MEMORY_LIMIT_MIB,
        cpu_ms: int = CPU_LIMIT_MS,
        precompiled: bool = True,
    ) -> None:
        self.project = project
        self.binary = _npm_binary("workerd", "workerd")
        self.version = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout.split()[-1]
        self.source = _npm_source("workerd")
        self.memory_mib, self.cpu_ms = memory_mib, cpu_ms
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopping = False
        tag = f"{os.getpid()}-{_free_port()}"
        self.dir = project.root / f"workerd-{tag}"
        self.dir.mkdir()
        self.runner_port, self.port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        names = {}
        if precompiled:
            for sha, data in modules.items():
                names[sha] = f"runtime-{sha[:16]}.wasm"
                (self.dir / names[sha]).write_bytes(data)
        self._write_configs(names)
        self._runner: subprocess.Popen | None = None
        self._gateway: subprocess.Popen | None = None

    def _write_configs(self, modules: dict[str, str]) -> None:
        def embed(path: Path) -> str:
            return _capnp_string(os.path.relpath(path, self.dir))

        common = (
            f'(name = "worker", esModule = embed {embed(self.project.root / "workerd.mjs")}), '
            f'(name = "common.mjs", esModule = embed {embed(self.project.root / "common.mjs")}), '
            f'(name = "{browser.RUNNER_PACKAGE}", esModule = embed {embed(self.project.runner_module)})'
        )
        wasm = "".join(f', (name = "{n}", wasm = embed "{n}")' for n in modules.values())
        fields = {"date": WORKERD_COMPATIBILITY_DATE, "runner_port": self.runner_port, "port": self.port}
        (self.dir / "runner.capnp").write_text(
            RUNNER_CONFIG.format(
                **fields,
                modules=common + wasm,
                pages=self.memory_mib * 16,  # 64 KiB pages
                names=_capnp_string(json.dumps(modules)),
                memory_mib=self.memory_mib,
            )
        )
        (self.dir / "gateway.capnp").write_text(GATEWAY_CONFIG.format(**fields, modules=common, cpu_ms=self.cpu_ms))

    def _spawn(self, config: str, stdout) -> subprocess.Popen:
        with (self.dir / f"{config}.log").open("ab") as log:
            return subprocess.Popen(
                [self.binary, "serve", config], cwd=self.dir, stdout=stdout or log, stderr=log, start_new_session=True
            )

    def _start_runner(self) -> None:
        self._runner = self._spawn("runner.capnp", None)

    def _kill(self, proc: subprocess.Popen | None) -> None:
        # A workerd busy in a wasm loop does not act on SIGTERM: SIGKILL, then reap.
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def _supervise(self) -> None:
        assert self._gateway is not None and self._gateway.stdout is not None
        with (self.dir / "gateway.capnp.log").open("ab") as log:
            for line in self._gateway.stdout:
                log.write(line)
                log.flush()
                if RESTART_LINE.encode() in line and not self._stopping:
                    with self._lock:
                        self._kill(self._runner)
                        self._start_runner()
                        self.restarts += 1

    def __enter__(self) -> Workerd:
        started = time.perf_counter()
        self._start_runner()
        self._gateway = self._spawn("gateway.capnp", subprocess.PIPE)
        threading.Thread(target=self._supervise, daemon=True).start()
        try:
            self.wait_ready(30.0)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.startup_ms = round((time.perf_counter() - started) * 1e3, 1)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Until the runner answers /health through the gateway."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:  # not while the supervisor replaces the runner
                for proc, name in ((self._runner, "runner"), (self._gateway, "gateway")):
                    if proc is not None and proc.poll() is not None:
                        log = (self.dir / f"{name}.capnp.log").read_text(errors="replace")[-3000:]
                        raise BuildError(f"workerd ({name}) exited with {proc.returncode}:\n{log}")
            with contextlib.suppress(OSError, BuildError):
                if self.request("GET", "/health", timeout=5)[0] == 200:
                    return
            if time.monotonic() > deadline:
                raise BuildError(f"workerd did not answer {self.url}/health within {timeout:g} s")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        with self._lock:
            self._kill(self._runner)
        self._kill(self._gateway)

    def request(
        self, method: str, path: str, body: object = None, timeout: float | None = None
    ) -> tuple[int, dict, float]:
        """(HTTP status, JSON body, seconds). A request never hangs: the gateway answers within its
        CPU limit; ``timeout`` (default: the limit plus 30 s) turns a hang into a BuildError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        limit = timeout if timeout is not None else self.cpu_ms / 1e3 + 30
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=limit) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except TimeoutError as exc:
            raise BuildError(f"workerd: {method} {path} hung for {limit:g} s without an answer") from exc
        elapsed = time.perf_counter() - started
        try:
            return status, json.loads(raw), elapsed
        except json.JSONDecodeError:
            return status, {"error": {"name": "NotJson", "message": raw.decode(errors="replace")[:500]}}, elapsed

    def run(self, job: dict) -> tuple[int, dict, float]:
        return self.request("POST", "/run", job)

    def probe(self) -> dict:
        return self.request("GET", "/probe")[1]

    def require_node_wasi(self) -> None:
        """The node:wasi path on workerd: refused unless its probe finds node:wasi with WASI preview1."""
        require_node_wasi("workerd", self.version, self.probe())


# ---------------------------------------------------------------------------
# faults (tests/test_hosts.py)

# A Python node that never returns, and one that allocates more than a small memory limit.
SPIN_MANIFEST = {
    "version": 1,
    "nodes": [
        {
            "id": "spin",
            "type": "Python",
            "params": {
                "class": "Spin",
                "source": "class Spin:\n    def process(self, x):\n        while True:\n            x += 1\n",
            },
        },
        {"id": "out", "type": "Output"},
    ],
    "connections": [{"from": "spin", "to": "out"}],
    "inputs": [1],
}
ALLOCATE_MANIFEST = {
    "version": 1,
    "nodes": [
        {
            "id": "allocate",
            "type": "Python",
            "params": {
                "class": "Allocate",
                "source": "class Allocate:\n    def process(self, mib):\n        return len(bytearray(mib << 20))\n",
            },
        },
        {"id": "out", "type": "Output"},
    ],
    "connections": [{"from": "allocate", "to": "out"}],
    "inputs": [1],
}


def url_jobs(base: str, bundles: Bundles) -> list[dict]:
    """A bundle by URL: right (the control), missing (HTTP 404), no server there, served as text/html."""
    name, pipeline = "multiply-add", "multiply_add"
    closed = f"http://127.0.0.1:{_free_port()}/{name}.rmpkg"
    refs = {"good": f"{base}{name}.rmpkg", "missing": f"{base}no-such.rmpkg", "refused": closed}
    refs["wrong-type"] = f"{base}wrong-type/{name}.html"
    return [
        {"key": key, "bundle": ref, "sha256": bundles.sha256(name), "pipeline": pipeline} for key, ref in refs.items()
    ]


# ---------------------------------------------------------------------------
# the matrix


@dataclass
class Verdict:
    key: str
    kind: str
    path: str  # runner | node:wasi
    identical: bool
    run_ms: float  # the run (CLI hosts: bundle loaded; workerd: the whole request)
    load_ms: float = 0.0  # reading and verifying the bundle (CLI hosts, first case of a bundle)
    error: str = ""


@dataclass
class HostReport:
    host: str
    title: str
    version: str
    source: str
    startup_ms: float
    worker: str  # where PipelineRunner ran
    node_wasi: str  # ok, or what is missing
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def identical(self) -> int:
        return sum(v.identical for v in self.verdicts)


def _verdict(case: Case, result: dict, path: str = "runner") -> Verdict:
    if not result.get("ok"):
        error = result.get("error") or {}
        message = f"{error.get('name')}: {error.get('message')}"
        return Verdict(case.key, case.kind, path, False, round(result.get("runMs", 0.0), 1), error=message)
    same = (result["stdout"], result["stderr"]) == (case.expected, case.expected_stderr)
    error = ""
    if not same:
        got, want = (result["stdout"], result["stderr"]), (case.expected, case.expected_stderr)
        error = f"(stdout, stderr) {json.dumps(got)[:300]} != native {json.dumps(want)[:300]}"
    return Verdict(
        case.key, case.kind, path, same, round(result["runMs"], 1), round(result.get("loadMs", 0.0), 1), error
    )


def cli_matrix(name: str, project: Project, bundles: Bundles, cases: list[Case], layout: wasi.Layout) -> HostReport:
    host = cli_host(name)
    probed = probe(host, project)
    jobs = [c.job(str(bundles.path(c.bundle)), bundles.sha256(c.bundle)) for c in cases]
    ui.step(f"{host.title} {probed['version']}: {len(jobs)} pipelines with PipelineRunner")
    answer = run_jobs(host, project, jobs)
    report = HostReport(
        name,
        host.title,
        answer["version"],
        host.source,
        probed["startup_ms"],
        "inline Web Worker" if answer["worker"] else "in-thread",
        probed["nodeWasi"],
        [_verdict(c, r) for c, r in zip(cases, answer["results"], strict=True)],
    )
    if probed["nodeWasi"] == "ok":
        ui.step(f"{host.title}: the examples through node:wasi")
        for case in (c for c in cases if c.kind == "example"):
            outcome = node_wasi_run(host, probed, case, layout)
            reference = Outcome(0, case.expected.encode(), case.expected_stderr.encode(), 0.0, host="native")
            same = outcome.streams == reference.streams
            error = "" if same else json.dumps(parity.describe_difference(reference, outcome), default=str)[:600]
            report.verdicts.append(
                Verdict(case.key, case.kind, "node:wasi", same, round(outcome.run_seconds * 1e3, 1), error=error)
            )
    return report


def workerd_matrix(project: Project, bundles: Bundles, cases: list[Case], base: str) -> HostReport:
    with Workerd(project, bundles.modules()) as server:
        probed = server.probe()
        ui.step(f"workerd {server.version}: {len(cases)} pipelines, one request each")
        report = HostReport(
            "workerd",
            "workerd",
            server.version,
            server.source,
            server.startup_ms,
            "in-thread (a request)",
            probed["nodeWasi"],
        )
        for case in cases:
            status, body, seconds = server.run(case.job(f"{base}{case.bundle}.rmpkg", bundles.sha256(case.bundle)))
            result = {**body, "ok": status == 200, "runMs": seconds * 1e3}
            if status != 200:
                error = body.get("error") or {}
                result["error"] = {**error, "name": f"HTTP {status} {error.get('name')}"}
            report.verdicts.append(_verdict(case, result))
    return report


def prepare(dest: Path) -> tuple[Project, Bundles, list[Case]]:
    """Bundles built, the runner packed and installed in ``dest``, the cases with native's outputs."""
    _require_linux_x64()
    index_path = bundle.build_selected()
    bundles = Bundles(index_path)
    project = install(dest)
    ui.step("the native runtime's outputs (the reference)")
    cases = example_cases() + bundle_cases(json.loads(index_path.read_text()))
    return project, bundles, cases


def matrix(hosts: list[str], dest: Path, prepared: tuple[Project, Bundles, list[Case]] | None = None) -> dict:
    """Every case on every host in ``hosts`` (``prepared``: ``prepare``'s answer, else it is called);
    the report (``write_report`` saves it)."""
    unknown = set(hosts) - set(HOSTS)
    if unknown:
        raise BuildError(f"unknown host(s) {', '.join(sorted(unknown))} (known: {', '.join(HOSTS)})")
    project, bundles, cases = prepared or prepare(dest)
    layout = wasm_module.layout()
    reports = []
    with serving_bundles(bundles, dest) as base:
        for name in hosts:
            if name == "workerd":
                reports.append(workerd_matrix(project, bundles, cases, base))
            else:
                reports.append(cli_matrix(name, project, bundles, cases, layout))
    return {
        "machine": machine.describe(),
        "cpu": machine.summary(),
        "runner": {"tarball": project.tarball, "size": project.tarball_size},
        "workerd_limits": {"memory_mib": MEMORY_LIMIT_MIB, "cpu_ms": CPU_LIMIT_MS},
        "cases": [{"key": c.key, "kind": c.kind, "bundle": c.bundle, "pipeline": c.pipeline} for c in cases],
        "hosts": [{**asdict(r), "identical": r.identical, "total": len(r.verdicts)} for r in reports],
    }


def table(report: dict) -> str:
    """The README table: start-up (best of 3), the load and run times of the small pipelines summed, whisper's."""
    others = sum(not c["key"].startswith("whisper/") for c in report["cases"])
    lines = [
        f"On {report['cpu']}:",
        "",
        "| host | version | binary from | start-up | identical to native "
        f"| {others} other pipelines | whisper | node:wasi |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for h in report["hosts"]:
        runner = [v for v in h["verdicts"] if v["path"] == "runner"]
        whisper = sum(v["run_ms"] + v["load_ms"] for v in runner if v["key"].startswith("whisper/"))
        rest = sum(v["run_ms"] + v["load_ms"] for v in runner if not v["key"].startswith("whisper/"))
        node_wasi = [v for v in h["verdicts"] if v["path"] == "node:wasi"]
        wasi_cell = f"{sum(v['identical'] for v in node_wasi)}/{len(node_wasi)} examples identical"
        if h["node_wasi"] != "ok":
            wasi_cell = f"missing: {h['node_wasi']}"
        same = f"{sum(v['identical'] for v in runner)}/{len(runner)}"
        lines.append(
            f"| {h['title']} | {h['version']} | {h['source'].split(' (')[0]} | {h['startup_ms']:.0f} ms | "
            f"{same} | {rest / 1e3:.1f} s | {whisper / 1e3:.1f} s | {wasi_cell} |"
        )
    for h in report["hosts"]:
        for v in h["verdicts"]:
            if not v["identical"]:
                lines.append(f"\nDIFFERENT on {h['title']} ({v['path']}) {v['key']}: {v['error'][:600]}")
    return "\n".join(lines)


def write_report(report: dict) -> Path:
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    out = fsutil.write_atomic(paths.REPORTS_DIR / REPORT_JSON, json.dumps(report, indent=1) + "\n")
    fsutil.write_atomic(paths.REPORTS_DIR / REPORT_TEXT, f"# The runner on JavaScript hosts\n\n{table(report)}\n")
    return out


def failures(report: dict) -> list[str]:
    return [
        f"{h['title']} ({v['path']}) {v['key']}: {v['error'][:300]}"
        for h in report["hosts"]
        for v in h["verdicts"]
        if not v["identical"]
    ]


def run(args: argparse.Namespace) -> int:
    """The hosts phase: the matrix on every host (or those named), reports/hosts.{json,md}."""
    hosts = list(args.extra) or list(HOSTS)
    with tempfile.TemporaryDirectory(prefix="rmbuild-hosts-") as tmp:
        report = matrix(hosts, Path(tmp))
    out = write_report(report)
    print(table(report))
    ui.ok(f"report: {out}")
    failed = failures(report)
    if failed:
        raise BuildError("outputs differ from the native runtime's:\n  " + "\n  ".join(failed))
    ui.ok(f"every pipeline on {len(hosts)} host(s) printed exactly what the native runtime prints")
    return 0
