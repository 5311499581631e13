"""Run a WASI command module in wasmtime (PyPI ``wasmtime``) or Node's ``node:wasi``,
the way the build, tests, parity and benchmarks all do it.

- only the folders given as ``preopens`` are visible to the guest, read-only
  unless their guest path is listed in ``writable``;
- ``scratch="/tmp"``: a writable scratch folder at that guest path, a fresh empty
  host folder for each run (each reactor instance), deleted afterwards (the runtime
  points ``TMPDIR`` at it: Python's ``tempfile``);
- a wall-clock limit (epoch interruption) and a memory limit stop runaways;
  ``run(plain=True)`` has no epoch interruption (it puts a check on every loop back-edge,
  measured 2x slower on whisper's encoder): it runs the module in a child process
  that is killed when the time limit expires (benchmarks use it);
- compiled modules are cached on disk (keyed by module hash, wasmtime version
  and engine settings), so the second start skips compilation.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

from ..core import fsutil, paths
from ..core.ui import BuildError
from .outcome import Outcome

EPOCH_TICK_SECONDS = 0.05
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_MEMORY_LIMIT = 4 << 30  # the wasm32 maximum: 4 GiB
TRAP_EXIT_CODE = 134  # what a shell reports for an abort: a trap is an abnormal end
# Where the runtime's hosts put the writable scratch folder (runtime/src/wasi_host.rs
# sets TMPDIR to it when it is there).
SCRATCH_GUEST = "/tmp"
SCRATCH_PREFIX = "rmbuild-scratch-"


class Layout(NamedTuple):
    """What a host needs to run a WASI module: the module, its preopens (guest folder ->
    host folder), its environment and the program name it sees as argv[0]."""

    module: Path
    preopens: dict[str, Path]
    env: dict[str, str]
    program: str


def _wasmtime():
    try:
        import wasmtime
    except ImportError as exc:
        raise BuildError("the wasmtime Python package is missing: run through nox (group 'build')") from exc
    return wasmtime


def _engine(wasmtime, epoch: bool = True):
    config = wasmtime.Config()
    config.epoch_interruption = epoch
    config.wasm_simd = True
    config.cranelift_opt_level = "speed"
    return wasmtime.Engine(config)


def compiled_cache_dir() -> Path:
    return paths.cache_root() / "compiled-wasm"


def compiled_path(module_path: Path, epoch: bool = True) -> Path:
    """Where the compiled module for an engine with (or without) epoch interruption is cached."""
    import importlib.metadata

    version = importlib.metadata.version("wasmtime")
    settings = f"|wasmtime {version}|simd|speed|{'epoch' if epoch else 'plain'}"
    key = hashlib.sha256(f"{fsutil.sha256_file(module_path)}{settings}".encode()).hexdigest()[:32]
    return compiled_cache_dir() / f"{key}.cwasm"


def load_module(engine, module_path: Path, use_cache: bool = True, epoch: bool = True):
    """Return (module, from_cache). Compiles and stores the artifact on a miss.
    ``epoch`` must say how ``engine`` was configured (it is part of the cache key)."""
    wasmtime = _wasmtime()
    data = module_path.read_bytes()
    cached = compiled_path(module_path, epoch)
    if use_cache and cached.exists():
        try:
            module = wasmtime.Module.deserialize_file(engine, str(cached))
            os.utime(cached)  # recently used: kept by pruning (atime may not be updated)
            return module, True
        except wasmtime.WasmtimeError:
            cached.unlink(missing_ok=True)  # written by another version or damaged
    try:
        module = wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as exc:
        raise BuildError(f"{module_path} is not a valid wasm module: {exc}") from exc
    if use_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fsutil.write_atomic(cached, module.serialize())
        _prune_compiled(keep=cached)
    return module, False


KEEP_COMPILED = 12  # compiled modules kept (each rebuild of a module adds one)


def _prune_compiled(keep: Path) -> None:
    """Drop the least recently used compiled modules beyond ``KEEP_COMPILED``."""

    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # pruned by a concurrent run
            return 0.0

    entries = sorted((p for p in compiled_cache_dir().glob("*.cwasm") if p != keep), key=mtime, reverse=True)
    for old in entries[KEEP_COMPILED - 1 :]:
        old.unlink(missing_ok=True)


def _describe_trap(text: str, timeout: float) -> str:
    if "interrupt" in text:
        return f"time limit of {timeout:g} s exceeded"
    # wasmtime puts the backtrace first and the reason ("wasm trap: ...") last.
    reasons = [line.strip() for line in text.splitlines() if "trap" in line.lower() or "error" in line.lower()]
    return reasons[-1] if reasons else text.strip().splitlines()[-1]


def run(
    module_path: Path,
    args: Sequence[str] = (),
    *,
    preopens: Mapping[str, Path] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    use_cache: bool = True,
    program_name: str | None = None,
    writable: Collection[str] = (),
    plain: bool = False,
    inherit_stdio: bool = False,
    scratch: str | None = None,
) -> Outcome:
    """Run ``module_path`` as a WASI command. ``preopens`` maps guest path -> host folder;
    those whose guest path is in ``writable`` can be written, the others are read-only.

    ``scratch``: a guest path (``SCRATCH_GUEST``) where a new, empty, writable host folder
    is preopened for this run only; it is deleted when the run ends (unless ``preopens``
    already maps that guest path).

    ``inherit_stdio``: the module reads this process's stdin and writes its stdout and
    stderr as it goes (``stdin`` is ignored; the Outcome's streams are empty).

    ``plain``: on an engine without epoch interruption, in a child process killed after
    ``timeout`` seconds (same result; ``compile_seconds`` is the child's compile or load)."""
    options = {
        "preopens": {guest: str(host) for guest, host in (preopens or {}).items()},
        "env": dict(env or {}),
        "memory_limit": memory_limit,
        "use_cache": use_cache,
        "program_name": program_name,
        "writable": list(writable),
        "inherit_stdio": inherit_stdio,
        "scratch": scratch,
    }
    if plain:
        if inherit_stdio:
            raise AssertionError("plain runs exchange their streams with a child process: no inherit_stdio")
        return _run_in_child(Path(module_path).resolve(), list(args), stdin, timeout, options)
    return _run_in_process(Path(module_path), args, stdin=stdin, epoch_timeout=timeout, **options)


def _run_in_process(
    module_path: Path,
    args: Sequence[str],
    *,
    preopens: Mapping[str, str | Path],
    env: Mapping[str, str],
    stdin: bytes,
    epoch_timeout: float | None,
    memory_limit: int,
    use_cache: bool,
    program_name: str | None,
    writable: Collection[str],
    inherit_stdio: bool = False,
    scratch: str | None = None,
) -> Outcome:
    """``run``'s work; ``epoch_timeout=None``: an engine without epoch interruption."""
    wasmtime = _wasmtime()
    epoch = epoch_timeout is not None
    engine = _engine(wasmtime, epoch)
    started = time.perf_counter()
    module, from_cache = load_module(engine, module_path, use_cache, epoch)
    compile_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="rmbuild-wasi-") as tmpdir:
        out_path, err_path, in_path = (Path(tmpdir, n) for n in ("stdout", "stderr", "stdin"))
        in_path.write_bytes(stdin)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [program_name or module_path.stem, *args]
        if env:
            wasi.env = list(env.items())
        if inherit_stdio:
            wasi.inherit_stdin()
            wasi.inherit_stdout()
            wasi.inherit_stderr()
        else:
            wasi.stdin_file = str(in_path)
            wasi.stdout_file = str(out_path)
            wasi.stderr_file = str(err_path)
        for guest, host in preopens.items():
            if not Path(host).is_dir():
                raise BuildError(f"preopen {guest} -> {host}: not a folder")
            wasi.preopen_dir(str(host), guest, guest in writable)
        if scratch and scratch not in preopens:
            # inside this run's temporary folder: empty now, deleted with it
            scratch_host = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=tmpdir))
            wasi.preopen_dir(str(scratch_host), scratch, True)

        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        store.set_limits(memory_size=memory_limit)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()

        stop = threading.Event()
        ticker = None
        if epoch_timeout is not None:
            store.set_epoch_deadline(max(1, int(epoch_timeout / EPOCH_TICK_SECONDS)))

            def tick() -> None:
                while not stop.wait(EPOCH_TICK_SECONDS):
                    engine.increment_epoch()

            ticker = threading.Thread(target=tick, daemon=True)
            ticker.start()
        exit_code, trap = 0, None
        run_started = time.perf_counter()
        try:
            instance = linker.instantiate(store, module)
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as exc:
            exit_code = exc.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            exit_code, trap = TRAP_EXIT_CODE, _describe_trap(str(exc), epoch_timeout or 0.0)
        finally:
            run_seconds = time.perf_counter() - run_started
            stop.set()
            if ticker:
                ticker.join()
        stdout = b"" if inherit_stdio else out_path.read_bytes()
        stderr = b"" if inherit_stdio else err_path.read_bytes()
        if trap:
            message = f"error: the wasm module trapped: {trap}\n".encode()
            if inherit_stdio:
                sys.stderr.buffer.write(message)
                sys.stderr.buffer.flush()
            else:
                stderr += message
        return Outcome(exit_code, stdout, stderr, run_seconds, compile_seconds, from_cache, trap, "wasmtime")


def timed_out(stdout: bytes | None, stderr: bytes | None, timeout: float, host: str) -> Outcome:
    """A run killed by its time limit (as a process, not by epoch interruption)."""
    reason = f"time limit of {timeout:g} s exceeded"
    stderr = (stderr or b"") + f"error: {reason}\n".encode()
    return Outcome(TRAP_EXIT_CODE, stdout or b"", stderr, timeout, trap=reason, host=host)


PLAIN_CHILD_FLAG = "--plain-child"


def _run_in_child(module_path: Path, args: list[str], stdin: bytes, timeout: float, options: dict) -> Outcome:
    """``run(plain=True)``: ``_run_in_process`` without epoch interruption, in a child
    process (``_plain_child``) that is killed when ``timeout`` expires."""
    request = {"module": str(module_path), "args": args, "stdin": base64.b64encode(stdin).decode(), **options}
    with tempfile.TemporaryDirectory(prefix="rmbuild-wasi-plain-") as tmp:
        result_file = Path(tmp, "result.json")
        cmd = [sys.executable, "-m", "rmbuild.run.wasi", PLAIN_CHILD_FLAG, str(result_file)]
        try:
            proc = subprocess.run(
                cmd, input=json.dumps(request).encode(), capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return timed_out(None, None, timeout, "wasmtime")
        if proc.returncode != 0 or not result_file.exists():
            raise BuildError(f"the wasmtime child process failed ({proc.returncode}):\n{proc.stderr.decode()[-2000:]}")
        result = json.loads(result_file.read_text())
    for stream in ("stdout", "stderr"):
        result[stream] = base64.b64decode(result[stream])
    return Outcome(**result)


def _plain_child(result_file: str) -> int:
    """In ``_run_in_child``'s child: the request on stdin, the Outcome as JSON into ``result_file``."""
    request = json.loads(sys.stdin.buffer.read())
    module, args = Path(request.pop("module")), request.pop("args")
    stdin = base64.b64decode(request.pop("stdin"))
    try:
        result = _run_in_process(module, args, stdin=stdin, epoch_timeout=None, **request)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    body = asdict(result)
    for stream in ("stdout", "stderr"):
        body[stream] = base64.b64encode(body[stream]).decode()
    Path(result_file).write_text(json.dumps(body))
    return 0


NODE_RUNNER = Path(__file__).with_name("node_wasi_runner.mjs")


def run_node(
    module_path: Path,
    args: Sequence[str] = (),
    *,
    preopens: Mapping[str, Path] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    program_name: str | None = None,
    node: str = "node",
    inherit_stdio: bool = False,
    scratch: str | None = None,
) -> Outcome:
    """Run ``module_path`` with Node's ``node:wasi`` (``node_wasi_runner.mjs``), same contract as ``run``
    (``scratch``: the runner's ``--tmp``, a fresh folder in Node's ``os.tmpdir()`` removed at the end).

    Node has no compiled-module cache here: ``compile_seconds`` is 0 and
    ``run_seconds`` is the whole process (start, compile, run).
    """
    cmd = [node, "--no-warnings", str(NODE_RUNNER)]
    for guest, host in (preopens or {}).items():
        if not Path(host).is_dir():
            raise BuildError(f"preopen {guest} -> {host}: not a folder")
        cmd += ["--dir", f"{host}::{guest}"]
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    if scratch and scratch not in (preopens or {}):
        cmd += ["--tmp", scratch]
    cmd += ["--argv0", program_name or Path(module_path).stem, str(module_path), "--", *args]
    started = time.perf_counter()
    streams = {} if inherit_stdio else {"input": stdin, "capture_output": True}
    try:
        proc = subprocess.run(cmd, timeout=timeout, check=False, **streams)
    except FileNotFoundError as exc:
        raise BuildError(f"{node} is not installed (Node.js 20 or newer runs the module with node:wasi)") from exc
    except subprocess.TimeoutExpired as exc:
        return timed_out(exc.stdout, exc.stderr, timeout, "node")
    stdout, stderr = proc.stdout or b"", proc.stderr or b""
    trap = None
    if proc.returncode == TRAP_EXIT_CODE and b"the wasm module trapped" in stderr:
        trap = stderr.decode(errors="replace").strip().splitlines()[-1]
    return Outcome(proc.returncode, stdout, stderr, time.perf_counter() - started, trap=trap, host="node")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rmbuild.run.wasi", description="Run a WASI command module in wasmtime with preopens."
    )
    parser.add_argument("module", type=Path)
    parser.add_argument(
        "--dir", action="append", default=[], metavar="HOST::GUEST", help="preopen a host folder, read-only"
    )
    parser.add_argument("--dir-rw", action="append", default=[], metavar="HOST::GUEST", help="preopen it writable")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--tmp", metavar="GUEST", help=f"a fresh writable scratch folder at GUEST for this run (e.g. {SCRATCH_GUEST})"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    parser.add_argument("--no-cache", action="store_true", help="do not use the compiled-module cache")
    parser.add_argument("--node", action="store_true", help="run with Node's node:wasi instead of wasmtime")
    parser.add_argument(
        "--plain", action="store_true", help="no epoch interruption (faster; the time limit kills a child process)"
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the module (options go before MODULE)")
    ns = parser.parse_args(argv)
    preopens: dict[str, Path] = {}
    writable = []
    for spec in [*ns.dir, *ns.dir_rw]:
        host, sep, guest = spec.partition("::")
        preopens[guest if sep else host] = Path(host)
        if spec in ns.dir_rw:
            writable.append(guest if sep else host)
    env = dict(item.split("=", 1) for item in ns.env)
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    stdin = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
    try:
        if ns.node:
            result = run_node(
                ns.module, args, preopens=preopens, env=env, stdin=stdin, timeout=ns.timeout, scratch=ns.tmp
            )
        else:
            result = run(
                ns.module,
                args,
                preopens=preopens,
                env=env,
                stdin=stdin,
                timeout=ns.timeout,
                use_cache=not ns.no_cache,
                writable=writable,
                plain=ns.plain,
                scratch=ns.tmp,
            )
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(result.stdout)
    sys.stderr.buffer.write(result.stderr)
    return result.exit_code


if __name__ == "__main__":
    if sys.argv[1:2] == [PLAIN_CHILD_FLAG]:
        sys.exit(_plain_child(sys.argv[2]))
    sys.exit(main())
