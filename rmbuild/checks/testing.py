"""The test command: Rust tests, then pytest (which drives the cached builds it
needs, including a seeded parity subset)."""

from __future__ import annotations

import argparse
import sys

from ..build import cargo, native
from ..core import paths, toolchains, ui


def rust_tests(args: argparse.Namespace | None = None) -> None:
    toolchains.ensure("native")
    env = native.cargo_env()
    # the shared target folder, held, with this checkout's sources newer than any other's
    # build in it: else cargo could run tests another checkout compiled (cargo.py)
    with cargo.target("native"):
        _cargo_tests(env)


def _cargo_tests(env: dict[str, str]) -> None:
    ui.step("cargo test (runtime, native)")
    ui.run(["cargo", "test", "--locked"], cwd=paths.RUNTIME_DIR, env=env, what="cargo test")
    # the reactor's C ABI, called directly (`cargo test` alone runs the root package only)
    ui.step("cargo test (pipeline_reactor, native)")
    ui.run(["cargo", "test", "--locked", "-p", "pipeline_reactor"], cwd=paths.RUNTIME_DIR, env=env, what="cargo test")
    ui.step("cargo test (runtime, native, Whisper node unit tests)")
    ui.run(
        ["cargo", "test", "--locked", "--features", "whisper", "--lib", "nodes::whisper"],
        cwd=paths.RUNTIME_DIR,
        env=env,
        what="cargo test --features whisper",
    )


def python_tests(args: argparse.Namespace) -> None:
    ui.step("pytest")
    ui.run([sys.executable, "-m", "pytest", *args.extra], cwd=paths.REPO, what="pytest")


def run(args: argparse.Namespace) -> None:
    rust_tests(args)
    python_tests(args)
