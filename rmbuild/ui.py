"""Messages, progress and subprocesses: how the build talks to a person."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class BuildError(Exception):
    """A failure the user can act on. The CLI prints its message without a traceback."""


def _emit(prefix: str, message: str) -> None:
    print(f"{prefix} {message}", file=sys.stderr, flush=True)


def step(message: str) -> None:
    _emit("==>", message)


def info(message: str) -> None:
    _emit("   ", message)


def ok(message: str) -> None:
    _emit(" ok", message)


def warn(message: str) -> None:
    _emit("  !", message)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Progress of a long transfer or extraction.

    On a terminal it redraws one line; elsewhere (CI logs) it prints a line every
    few seconds so a log shows the build is alive without flooding it.
    """

    def __init__(self, label: str, total: int | None, unit: str = "bytes") -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = sys.stderr.isatty()

    def _fmt(self, n: float) -> str:
        return human_bytes(n) if self.unit == "bytes" else f"{n:.0f} {self.unit}"

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= (0.2 if self._tty else 5.0):
            self._last = now
            self._draw(final=False)

    def _draw(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        if self.total:
            pct = 100.0 * self.done / self.total
            text = f"{self.label}: {self._fmt(self.done)} / {self._fmt(self.total)} ({pct:.0f}%)"
        else:
            text = f"{self.label}: {self._fmt(self.done)}"
        if self.unit == "bytes":
            text += f", {human_bytes(rate)}/s"
        if self._tty:
            end = "\n" if final else ""
            print(f"\r    {text}\x1b[K", end=end, file=sys.stderr, flush=True)
        else:
            print(f"    {text}", file=sys.stderr, flush=True)

    def finish(self) -> None:
        self._draw(final=True)


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, echoing it; raise BuildError (not a traceback) if it fails.

    ``env`` is added to the current environment. With ``capture`` stdout is
    returned as text (stderr still streams to the terminal).
    """
    argv = [str(c) for c in cmd]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    info("$ " + shlex.join(argv) + (f"   (in {cwd})" if cwd else ""))
    try:
        result = subprocess.run(
            argv,
            cwd=cwd,
            env=full_env,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BuildError(f"{argv[0]} is not installed (run `nox -s doctor`)") from exc
    if result.returncode != 0:
        label = what or Path(argv[0]).name
        raise BuildError(f"{label} failed with exit code {result.returncode}: {shlex.join(argv)}")
    return result
