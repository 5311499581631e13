"""The reactor module pre-initialised at build time: CPython already started.

Wizer (``toolchains.wizer()``, the locked crate) instantiates the plain reactor
(``module.reactor_path(preinit=False)``) with the stdlib preopened at ``stdlib.MOUNT``
and the layout's environment (``stdlib.ENV``), calls ``_initialize`` and then the
reactor's ``wizer.initialize`` (``runtime/reactor/src/preinit.rs``: CPython started as
the first Python node starts it), and writes a module whose memory and globals are
the ones at the end of that call, without ``_initialize``. A host instantiates it and
opens sessions at once; its first Python node costs only the node's own work.

A cached step keyed on the plain reactor's and the stdlib zip's bytes, Wizer's
version and its arguments: a change to any of them builds the snapshot again.

What the guest checks on its first open (the host's environment against the one the
interpreter started with, the stdlib zip), and what it refuses, is documented in
``preinit.rs``; hosts that need another hash seed use the plain module.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ...core import lock, steps, toolchains, ui
from ...core.ui import BuildError
from . import stdlib, wasmbin

NAME = "pipeline_reactor.preinit.wasm"
INIT_FUNC = "wizer.initialize"
# Bump when the step changes in a way the facts do not show.
FORMAT = 1
# Wizer's defaults (wasmparser's WASM2 set) plus what the reactor uses.
WIZER_ARGS = (
    "--allow-wasi",
    "--inherit-stdio=true",
    "--inherit-env=true",
    "--wasm-bulk-memory=true",
    "--wasm-simd=true",
    f"--init-func={INIT_FUNC}",
)


def guest_env() -> dict[str, str]:
    """The environment the interpreter starts with: the layout's (``stdlib.ENV``), so a
    host giving the layout's environment finds the snapshot's. It is all of Wizer's
    process environment (``--inherit-env``): wasmtime finds its cache folder without
    ``HOME`` (the password database)."""
    return dict(stdlib.ENV)


def build(plain_reactor: Path) -> Path:
    """The folder holding ``NAME`` (a cached step over its inputs)."""
    zip_dir = stdlib.build()
    wizer_bin = toolchains.wizer()
    facts = {
        "format": FORMAT,
        "wizer": lock.get(toolchains.WIZER_ARTIFACT).sha256,
        "args": WIZER_ARGS,
        "mount": stdlib.MOUNT,
        "env": guest_env(),
    }
    inputs = [plain_reactor, zip_dir / stdlib.ZIP_NAME]

    def make(out: Path) -> None:
        target = out / NAME
        cmd = [str(wizer_bin), *WIZER_ARGS, f"--mapdir={stdlib.MOUNT}::{zip_dir}"]
        cmd += [str(plain_reactor), "-o", str(target)]
        ui.info("$ " + " ".join(cmd))
        result = subprocess.run(
            cmd, env=guest_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BuildError(f"wizer failed (exit {result.returncode}):\n{(result.stderr or result.stdout)[-4000:]}")
        target.write_bytes(wasmbin.strip_custom_sections(target.read_bytes()))
        sizes = {"plain_bytes": plain_reactor.stat().st_size, **wasmbin.sizes(target)}
        (out / "sizes.json").write_text(json.dumps(sizes, indent=1) + "\n")
        ui.info(f"{NAME}: {ui.human_bytes(target.stat().st_size)} (plain {ui.human_bytes(sizes['plain_bytes'])})")

    return steps.cached("wasm-reactor-preinit", inputs, facts, make)


def path(plain_reactor: Path) -> Path:
    return build(plain_reactor) / NAME
