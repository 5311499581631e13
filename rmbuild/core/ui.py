"""Messages, progress and subprocesses: how the build talks to a person."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .rmpkg import rmpkg

# One formatting of sizes for the build and the bundle format alike.
human_bytes = rmpkg.human_bytes
# Lines of a failed quiet command's output that are shown.
QUIET_TAIL_LINES = 40


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


class Progress:
    """Progress of a long transfer, extraction or loop.

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

    def advance(self, n: int = 1) -> None:
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
    quiet: bool = False,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, echoing it; raise BuildError (not a traceback) if it fails.

    ``env`` is added to the current environment. ``capture``: stdout is returned as
    text (stderr still streams). ``quiet``: stdout and stderr are kept back (pages of
    compiler warnings, a line per tensor) and only their last lines are shown, in the
    error, if the command fails.
    """
    argv = [str(c) for c in cmd]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    info("$ " + shlex.join(argv) + (f"   (in {cwd})" if cwd else ""))
    streams: dict[str, object] = {}
    if quiet:
        streams = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    elif capture:
        streams = {"stdout": subprocess.PIPE}
    try:
        result = subprocess.run(argv, cwd=cwd, env=full_env, text=True, check=False, **streams)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise BuildError(f"{argv[0]} is not installed (run `./nox -s doctor`)") from exc
    if result.returncode != 0:
        label = what or Path(argv[0]).name
        tail = ""
        if quiet and result.stdout:
            tail = ":\n" + "\n".join(result.stdout.splitlines()[-QUIET_TAIL_LINES:])
        raise BuildError(f"{label} failed with exit code {result.returncode}: {shlex.join(argv)}{tail}")
    return result
