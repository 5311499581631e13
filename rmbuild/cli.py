"""``python -m rmbuild``: one subcommand per nox session, plus the finer steps.

Every subcommand is a thin call into the module that owns the logic. Errors
the user can act on (BuildError) are printed as one line, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import NamedTuple

from . import artifacts, lock, toolchains, ui
from .ui import BuildError


class Phase(NamedTuple):
    """A subcommand that runs one phase: ``module:function(args)``."""

    name: str
    help: str
    target: str
    full: str | None = None  # what --full means; None: no --full
    extra: str | None = None  # what its positional arguments are; None: none


def _lazy(target: str) -> Callable[[argparse.Namespace], object]:
    """Call ``module:function(args)``, importing the module only when its command runs."""
    module_name, func_name = target.split(":")

    def call(args: argparse.Namespace) -> object:
        return getattr(importlib.import_module(f"rmbuild.{module_name}"), func_name)(args)

    return call


def _doctor(args: argparse.Namespace) -> int:
    healthy = toolchains.doctor(install=not args.no_install, phase=args.phase)
    if not healthy:
        ui.warn("some tools are missing (see above)")
    return 0 if healthy or not args.strict else 1


def _fetch(args: argparse.Namespace) -> None:
    names = args.names or list(lock.load())
    for name in names:
        print(artifacts.fetch(name))


def _artifacts(args: argparse.Namespace) -> None:
    for artifact, state in artifacts.status():
        print(f"{artifact.name:<24} {artifact.spec}\n{'':<24} {state}")


# The main job, in order. Each entry is a subcommand below.
MAIN_PHASES = ("native-build", "wasm-build", "whisper-build", "bundle")


def _main_job(args: argparse.Namespace) -> None:
    parser = build_parser()
    for command in MAIN_PHASES:
        ui.step(f"main: {command}")
        sub_args = parser.parse_args([command])
        sub_args.func(sub_args)
    ui.ok("main: " + ", ".join(MAIN_PHASES) + " done")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rmbuild",
        description="Build, bundle, test and benchmark the RemoteMedia pipeline runtime for native and wasm32-wasi. "
        "Usually run through nox (`nox -l` lists the sessions).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="report every tool with version and origin; install what is missing")
    p.add_argument("--no-install", action="store_true", help="only report, install nothing")
    p.add_argument("--phase", choices=toolchains.PHASES, help="only the tools of one phase")
    p.add_argument("--strict", action="store_true", help="exit 1 if anything is missing")
    p.set_defaults(func=_doctor)

    p = sub.add_parser("fetch", help="download, verify and extract locked artifacts into the cache")
    p.add_argument("names", nargs="*", help="artifact names from artifacts.lock.toml (default: all)")
    p.set_defaults(func=_fetch)

    p = sub.add_parser("artifacts", help="list locked artifacts and their cache state")
    p.set_defaults(func=_artifacts)

    p = sub.add_parser("main", help="the main job: " + ", ".join(MAIN_PHASES))
    p.set_defaults(func=_main_job)

    p = sub.add_parser("bundle-verify", help="verify .rmpkg bundles: every member against rmpkg.json")
    p.add_argument("bundles", nargs="+", metavar="BUNDLE")
    p.add_argument("--sha256", help="also require this sha256 of the whole file")
    p.set_defaults(func=_lazy("bundle:verify"))

    p = sub.add_parser("bundle-inspect", help="verify a .rmpkg bundle, then describe it")
    p.add_argument("bundle", metavar="BUNDLE")
    p.add_argument("--sha256", help="also require this sha256 of the whole file")
    p.add_argument("--json", action="store_true", help="print its rmpkg.json")
    p.set_defaults(func=_lazy("bundle:inspect"))

    phases = [
        Phase("native-build", "build the native runtime (pipeline_executor)", "native:build"),
        Phase(
            "wasm-build", "build pipeline_executor_wasm with CPython inside; smoke-test it in wasmtime", "wasm:build"
        ),
        Phase(
            "wasm-bench",
            "benchmark the wasm runtime against native (JSON report)",
            "wasm_bench:run",
            full="more repetitions and items",
        ),
        Phase(
            "parity",
            "run the manifest corpus natively and in wasm; compare outputs byte for byte",
            "parity:run",
            full="1,200 generated manifests instead of 150",
            extra="seed=N: another seed for the generated manifests",
        ),
        Phase("whisper-build", "build whisper.cpp natively and for wasm32-wasi; convert the model", "whisper:build"),
        Phase(
            "whisper-bench",
            "transcribe with native and wasm whisper; JSON report and chart",
            "whisper_bench:run",
            full="3 runs per measurement, fastest kept",
        ),
        Phase(
            "bundle",
            "assemble .rmpkg bundles for the demo pipelines",
            "bundle:build_all",
            extra="bundle names (default: all)",
        ),
        Phase("browser", "test the demo in real Chromium, both backends", "browser:test", extra="pytest arguments"),
        Phase(
            "demo",
            "serve the browser demo on 127.0.0.1",
            "browser:serve",
            extra="plain: without COOP/COEP headers (like GitHub Pages); build: only build the site",
        ),
        Phase(
            "wheels",
            "build the Python wheel with maturin and test it in a fresh venv",
            "wheels:build_and_test",
            full="the full parity corpus",
            extra="pytest arguments",
        ),
        Phase("lint", "ruff, cargo fmt/clippy, TypeScript check, actionlint", "lint:run"),
        Phase(
            "test",
            "build what the tests need, then run cargo test and pytest",
            "testing:run",
            extra="pytest arguments",
        ),
    ]
    for phase in phases:
        p = sub.add_parser(phase.name, help=phase.help, description=phase.help)
        p.set_defaults(func=_lazy(phase.target), full=False, extra=[])
        if phase.full:
            p.add_argument("--full", action="store_true", help=phase.full)
        if phase.extra:
            p.add_argument("extra", nargs="*", metavar="ARG", help=phase.extra)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0
