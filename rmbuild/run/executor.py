"""The pipeline executor's command line, and the hosts that run it.

``pipeline_executor`` (native) and ``pipeline_executor_wasm`` (wasm32-wasip1) take the
same arguments and must print the same bytes. This module is the one place that
spells those arguments (``run_args``, ``validate_args``) and the one way every check
runs them: ``Native`` (the binary), ``Wasmtime`` and ``Node`` (the module, with a
``wasi.Layout``), each returning an ``Outcome``.

Host folders named in ``dirs`` are preopened at their own absolute path in wasm,
so paths, and so every message, read the same as natively. ``cwd`` is the working
directory natively and ``PWD`` (a preopened folder) in wasm. In wasm every run also
gets a writable scratch folder at ``/tmp`` (``wasi.SCRATCH_GUEST``: empty at the start,
deleted at the end; the runtime sets ``TMPDIR`` to it); everything else is read-only.
Natively Python uses the real ``TMPDIR``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from ..core.ui import BuildError
from . import wasi
from .outcome import Outcome

DEFAULT_TIMEOUT = 600.0
# What the runtime calls itself in its messages, whatever argv[0] says.
PROGRAM = "pipeline_executor"


def run_args(manifest: str | os.PathLike[str], inputs: str | os.PathLike[str] | None = None, *, compact: bool = True):
    """``run MANIFEST [--input INPUTS] [--compact]``: ``-`` reads from stdin."""
    args = ["run", str(manifest)]
    if inputs is not None:
        args += ["--input", str(inputs)]
    return [*args, "--compact"] if compact else args


def validate_args(manifest: str | os.PathLike[str]) -> list[str]:
    return ["validate", str(manifest)]


def same_path_preopens(*host_dirs: Path) -> dict[str, Path]:
    """Preopen host folders at their own absolute path, so paths (and messages) match native."""
    return {str(Path(d).resolve()): Path(d).resolve() for d in host_dirs}


class Host(Protocol):
    name: ClassVar[str]

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: bytes = b"",
        dirs: Sequence[Path] = (),
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        inherit_stdio: bool = False,
    ) -> Outcome: ...


@dataclass(frozen=True)
class Native:
    """The native ``pipeline_executor`` binary (``dirs`` need no preopening)."""

    binary: Path
    name: ClassVar[str] = "native"

    def run(self, args, *, stdin=b"", dirs=(), cwd=None, env=None, timeout=DEFAULT_TIMEOUT, inherit_stdio=False):
        full_env = {**os.environ, **(env or {})}
        streams = {} if inherit_stdio else {"input": stdin, "capture_output": True}
        started = time.perf_counter()
        try:
            proc = subprocess.run([str(self.binary), *args], cwd=cwd, env=full_env, timeout=timeout, **streams)
        except subprocess.TimeoutExpired as exc:
            return wasi.timed_out(exc.stdout, exc.stderr, timeout, self.name)
        except FileNotFoundError as exc:
            raise BuildError(f"{self.binary} does not exist (build it with `./nox -s native_build`)") from exc
        elapsed = time.perf_counter() - started
        return Outcome(proc.returncode, proc.stdout or b"", proc.stderr or b"", elapsed, host=self.name)


def _guest_env(layout: wasi.Layout, cwd: Path | None, env: Mapping[str, str] | None) -> dict[str, str]:
    return {**layout.env, **({"PWD": str(Path(cwd).resolve())} if cwd else {}), **(env or {})}


def _guest_preopens(layout: wasi.Layout, dirs: Sequence[Path], cwd: Path | None) -> dict[str, Path]:
    folders = [Path(d).resolve() for d in dirs]
    # The working directory is preopened unless a folder above it is: nested preopens
    # would make `..` out of the inner one fail, where natively it works.
    if cwd is not None and not any(Path(cwd).resolve().is_relative_to(d) for d in folders):
        folders.append(Path(cwd).resolve())
    return {**layout.preopens, **same_path_preopens(*folders)}


@dataclass(frozen=True)
class Wasmtime:
    """The module in wasmtime: in-process with an epoch-interruption time limit, or
    ``plain`` (no epoch checks: faster; a child process killed on timeout)."""

    layout: wasi.Layout
    plain: bool = False
    use_cache: bool = True
    memory_limit: int = wasi.DEFAULT_MEMORY_LIMIT
    scratch: str | None = wasi.SCRATCH_GUEST  # None: no scratch folder
    name: ClassVar[str] = "wasmtime"

    def run(self, args, *, stdin=b"", dirs=(), cwd=None, env=None, timeout=DEFAULT_TIMEOUT, inherit_stdio=False):
        return wasi.run(
            self.layout.module,
            args,
            preopens=_guest_preopens(self.layout, dirs, cwd),
            env=_guest_env(self.layout, cwd, env),
            stdin=stdin,
            timeout=timeout,
            memory_limit=self.memory_limit,
            use_cache=self.use_cache,
            program_name=self.layout.program,
            plain=self.plain,
            inherit_stdio=inherit_stdio,
            scratch=self.scratch,
        )


@dataclass(frozen=True)
class Node:
    """The module in Node's ``node:wasi`` (a process per run, compiling the module)."""

    layout: wasi.Layout
    node: str = "node"
    scratch: str | None = wasi.SCRATCH_GUEST  # None: no scratch folder
    name: ClassVar[str] = "node"

    def run(self, args, *, stdin=b"", dirs=(), cwd=None, env=None, timeout=DEFAULT_TIMEOUT, inherit_stdio=False):
        return wasi.run_node(
            self.layout.module,
            args,
            preopens=_guest_preopens(self.layout, dirs, cwd),
            env=_guest_env(self.layout, cwd, env),
            stdin=stdin,
            timeout=timeout,
            program_name=self.layout.program,
            node=self.node,
            inherit_stdio=inherit_stdio,
            scratch=self.scratch,
        )
