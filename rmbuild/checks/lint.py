"""Every linter the project keeps clean, in one command."""

from __future__ import annotations

import argparse
import sys

from ..build import cargo, native
from ..core import paths, toolchains, ui
from . import browser


def ruff(args: argparse.Namespace | None = None) -> None:
    ui.run([sys.executable, "-m", "ruff", "check", "."], cwd=paths.REPO, what="ruff check")
    ui.run([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=paths.REPO, what="ruff format")


def rust(args: argparse.Namespace | None = None) -> None:
    env = native.cargo_env()
    ui.run(["cargo", "fmt", "--all", "--check"], cwd=paths.RUNTIME_DIR, what="cargo fmt")
    with cargo.target("native"):  # as rust_tests: clippy judges this checkout's sources
        _clippy(env)


def _clippy(env: dict[str, str]) -> None:
    ui.run(
        ["cargo", "clippy", "--locked", "--workspace", "--all-targets", "--", "-D", "warnings"],
        cwd=paths.RUNTIME_DIR,
        env=env,
        what="cargo clippy",
    )
    # the Whisper node (feature off by default): its build script needs whisper.cpp's archives
    whisper = ["-p", "pipeline_runtime", "--all-targets", "--features", "whisper"]
    ui.run(
        ["cargo", "clippy", "--locked", *whisper, "--", "-D", "warnings"],
        cwd=paths.RUNTIME_DIR,
        env=env,
        what="cargo clippy --features whisper",
    )


def typescript(args: argparse.Namespace | None = None) -> None:
    """tsc --noEmit over every TypeScript project of browser-demo/: the runner (sources and
    tests), then what uses it by name, against its built declarations as a user's code would:
    the demo and the package test's user code."""
    browser.build_runner()
    for project in ("runner", "demo", "e2e/package"):
        ui.run(
            [browser.npm(), "exec", "--", "tsc", "--noEmit", "-p", project],
            cwd=paths.BROWSER_DEMO_DIR,
            what=f"tsc -p {project}",
        )


def workflows(args: argparse.Namespace | None = None) -> None:
    files = sorted((paths.REPO / ".github" / "workflows").glob("*.yml"))
    ui.run([toolchains.actionlint(), *files], cwd=paths.REPO, what="actionlint")


def run(args: argparse.Namespace) -> None:
    for check in (ruff, rust, typescript, workflows):
        ui.step(f"lint: {check.__name__}")
        check(args)
    ui.ok("lint clean")
