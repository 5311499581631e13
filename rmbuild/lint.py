"""Every linter the project keeps clean, in one command."""

from __future__ import annotations

import argparse
import shutil
import sys

from . import native, paths, toolchains, ui


def ruff() -> None:
    ui.run([sys.executable, "-m", "ruff", "check", "."], cwd=paths.REPO, what="ruff check")
    ui.run([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=paths.REPO, what="ruff format")


def rust() -> None:
    env = native.cargo_env()
    ui.run(["cargo", "fmt", "--all", "--check"], cwd=paths.RUNTIME_DIR, what="cargo fmt")
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


def typescript() -> None:
    if not (paths.BROWSER_DEMO_DIR / "tsconfig.json").exists():
        ui.warn("browser-demo has no tsconfig.json yet: TypeScript check skipped")
        return
    npm = shutil.which("npm") or "npm"
    ui.run([npm, "ci", "--no-audit", "--no-fund"], cwd=paths.BROWSER_DEMO_DIR, what="npm ci")
    ui.run([npm, "exec", "--", "tsc", "--noEmit"], cwd=paths.BROWSER_DEMO_DIR, what="tsc")


def workflows() -> None:
    files = sorted((paths.REPO / ".github" / "workflows").glob("*.yml"))
    ui.run([toolchains.actionlint(), *files], cwd=paths.REPO, what="actionlint")


def run(args: argparse.Namespace) -> None:
    for check in (ruff, rust, typescript, workflows):
        ui.step(f"lint: {check.__name__}")
        check()
    ui.ok("lint clean")
