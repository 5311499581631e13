"""Running a ``.rmpkg`` bundle the way a browser would, on a WASI host of this machine:
verified, extracted, mounted exactly as its metadata says.

``python -m rmbuild run BUNDLE`` prints exactly the stdout and stderr, and exits with
exactly the code, that the native ``pipeline_executor run`` gives on the source tree.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core import paths
from ..core.rmpkg import rmpkg
from ..core.ui import BuildError
from . import executor, wasi

HOSTS = ("wasmtime", "node")
STREAM_TIMEOUT = 24 * 3600.0  # a live stream ends when its input does


@dataclass
class Opened:
    """A verified bundle, extracted into ``root``."""

    bundle: object  # rmpkg.Bundle
    root: Path

    @property
    def metadata(self) -> dict:
        return self.bundle.metadata  # type: ignore[attr-defined]

    def layout(self) -> wasi.Layout:
        runtime = self.metadata["runtime"]
        preopens = {m["mount"]: self.root / m["source"] for m in self.bundle.mounts()}  # type: ignore[attr-defined]
        return wasi.Layout(self.root / runtime["module"], preopens, dict(runtime["env"]), runtime["argv"][0])

    def manifest_path(self, pipeline: str | None) -> str:
        return self.bundle.manifest_path(pipeline)  # type: ignore[attr-defined]

    def shadow_manifest(self, pipeline: str | None, text: str) -> None:
        """Run ``text`` instead of the shipped manifest (at its place: relative paths hold)."""
        member = self.bundle.pipeline(pipeline)["manifest"]  # type: ignore[attr-defined]
        (self.root / member).write_text(text)

    def run_args(self, pipeline: str | None, *, inputs: str | None = None, compact: bool = True) -> list[str]:
        return executor.run_args(self.manifest_path(pipeline), inputs, compact=compact)


@contextlib.contextmanager
def opened(path: Path, sha256: str | None = None) -> Iterator[Opened]:
    """Read and verify ``path`` (BuildError naming the problem), extract it, yield it."""
    try:
        bundle = rmpkg.read(Path(path), sha256)
    except rmpkg.BundleError as exc:
        raise BuildError(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="rmpkg-run-") as tmp:
        root = Path(tmp)
        bundle.extract(root)
        yield Opened(bundle, root)


def host_for(name: str, layout: wasi.Layout) -> executor.Host:
    if name == "wasmtime":
        return executor.Wasmtime(layout)
    if name == "node":
        return executor.Node(layout)
    raise BuildError(f"unknown host {name!r} (one of {', '.join(HOSTS)})")


def run_command(args: argparse.Namespace) -> int:
    """The run phase: one pipeline of a bundle, stdin/stdout/stderr/exit code passed through."""
    if len(args.extra) != 1:
        raise BuildError("run takes one bundle: python -m rmbuild run BUNDLE.rmpkg [--pipeline P] [--input F|-]")
    with opened(paths.user_path(args.extra[0])) as b:
        if args.stream:
            if args.input:
                raise BuildError("--stream reads its items from stdin, one JSON value per line: drop --input")
            run_args = ["stream", b.manifest_path(args.pipeline)]
        else:
            run_args = b.run_args(args.pipeline, inputs=args.input or None, compact=args.compact)
        # An --input file: the user's folder is the guest's working directory (at its own
        # path), so the path resolves and reads in messages exactly as natively.
        cwd = paths.user_path(".") if args.input and args.input != "-" else None
        # stdin, stdout and stderr are this process's: results come as the runtime writes them
        timeout = float(args.timeout) if args.timeout else (STREAM_TIMEOUT if args.stream else executor.DEFAULT_TIMEOUT)
        outcome = host_for(args.host, b.layout()).run(run_args, cwd=cwd, inherit_stdio=True, timeout=timeout)
    return outcome.exit_code
