"""Packing a spec (``spec.Spec``) into a ``.rmpkg`` bundle: one path for the demo
bundles (``runtime/examples/*.rmpkg.toml``) and for users' projects.

The format itself (reading, verifying, writing) is ``packaging/rmpkg.py``
(standard library only, documented in ``packaging/SPEC.md``). Packing:

1. reads the spec and locks its requirements (``requirements``);
2. gathers the members: the runtime module, the stdlib (``build.wasm.stdlib``, the
   one the tests and parity run too) when a pipeline has a Python node, the
   requirements' ``site-packages``, the project tree (manifests, Python sources and
   data at their place below the project, mounted at ``/app``), models;
3. checks, before anything is written, with the bundled module in wasmtime and the
   bundle's own mounts: every manifest passes the runtime's ``validate``; every file
   a manifest names is in the bundle where the runtime will look for it, and is the
   project's file; every node starts (``validate --load``: Python modules imported
   and classes instantiated in the wasm CPython, models loaded by their node);
4. writes the bundle (reproducible) as a cached step, refuses it if it is larger
   than the spec's ``max_size``, and copies it to its destination atomically.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ...core import fsutil, paths, steps, ui
from ...core.rmpkg import rmpkg
from ...core.ui import BuildError
from ...run import bundles, executor, wasi
from ...run.outcome import Outcome
from .. import native, whisper
from ..wasm import flags, stdlib
from ..wasm import module as wasm_module
from ..wasm import numpy as numpy_build
from . import requirements, spec

BUNDLES_DIR = paths.BUILD_DIR / "bundles"
DEMO_SPECS = "*.rmpkg.toml"  # in runtime/examples: the demo bundles
PROJECT_SOURCE = "app"  # member folder of the project tree (mounted at spec.PROJECT_MOUNT)
SITE_SOURCE = "wasi-deps/site-packages"
STDLIB_SOURCE = "wasi-deps/python"
MODULE_MEMBER = f"runtime/{flags.RUST_BIN}.wasm"
REACTOR_MEMBER = f"runtime/{flags.REACTOR_CRATE}.wasm"
# Ignored when a spec names a folder: caches and VCS data are not part of a project.
IGNORED = {"__pycache__", ".git", ".hg", ".svn", ".DS_Store", ".mypy_cache", ".pytest_cache", ".ruff_cache"}

# Models this toolchain builds, for specs that name one (``product = "..."``).
PRODUCTS: dict[str, Callable[[], Path]] = {
    f"whisper-tiny.en-{kind}": (lambda kind=kind: whisper.models()[kind]) for kind in ("f16", "q8_0", "q5_1")
}


@dataclass
class Assembly:
    """Everything that goes into one bundle, before it is written."""

    spec: spec.Spec
    members: dict[str, Path] = field(default_factory=dict)  # member path -> host file
    mounts: list[dict] = field(default_factory=list)  # wasi_deps (models apart)
    models: list[dict] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    wheels: list[requirements.Wheel] = field(default_factory=list)
    site_packages: Path | None = None
    python: bool = False
    numpy: bool = False  # numpy's Python package beside the stdlib ([python] numpy)

    def add(self, member: str, host: Path, where: str) -> None:
        if member in self.members and not fsutil.same_file(self.members[member], host):
            raise BuildError(f"{self.spec.path}: {where}: {member} is given twice with different contents")
        self.members[member] = host


def _project_files(item: Path) -> list[Path]:
    if item.is_file():
        return [item]
    return sorted(
        p
        for p in item.rglob("*")
        if p.is_file() and not (set(p.relative_to(item).parts) & IGNORED) and p.suffix not in (".pyc", ".pyo")
    )


def _node_types(manifest: Path) -> set[str]:
    try:
        return {n.get("type") for n in json.loads(manifest.read_text()).get("nodes", []) if isinstance(n, dict)}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return set()  # the runtime's validate reports it, with the exact position


NUMPY_IMPORT = re.compile(r"^\s*(import\s+numpy|from\s+numpy[\s.])", re.MULTILINE)


def uses_numpy(s: spec.Spec) -> bool:
    """``[python] numpy``: true or false as given; ``"auto"``: whether a Python source of
    the project or an inline ``source`` in a manifest imports numpy."""
    if s.numpy != "auto":
        return bool(s.numpy)
    texts = []
    for item in s.sources:
        texts += [f.read_text(errors="replace") for f in _project_files(item) if f.suffix == ".py"]
    for p in s.pipelines:
        try:
            nodes = json.loads(p.manifest.read_text()).get("nodes", [])
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            continue
        for n in nodes:
            params = n.get("params") if isinstance(n, dict) else None
            if isinstance(params, dict) and isinstance(params.get("source"), str):
                texts.append(params["source"])
            if isinstance(params, dict) and isinstance(params.get("module_path"), str):
                f = (p.manifest.parent / params["module_path"]).resolve()
                if f.is_file() and f.is_relative_to(s.project):
                    texts.append(f.read_text(errors="replace"))
    return any(NUMPY_IMPORT.search(t) for t in texts)


def assemble(s: spec.Spec, *, frozen: bool = False) -> Assembly:
    """Gather the members of ``s``'s bundle (nothing is checked or written yet)."""
    a = Assembly(s)
    for p in s.pipelines:
        a.add(f"{PROJECT_SOURCE}/{s.rel(p.manifest)}", p.manifest, f"pipeline {p.name!r}")
        a.python |= "Python" in _node_types(p.manifest)
    for item in s.sources:
        for f in _project_files(item):
            a.add(f"{PROJECT_SOURCE}/{s.rel(f)}", f, "[python].sources")
    for i, d in enumerate(s.data):
        base = f"data/{i}" if d.mount else PROJECT_SOURCE
        for f in _project_files(d.path):
            rel = f.relative_to(d.path).as_posix() if d.mount and d.path.is_dir() else s.rel(f)
            if d.mount and d.path.is_file():
                rel = d.path.name
            a.add(f"{base}/{rel}", f, f"[[data]] #{i + 1}")
        if d.mount:
            a.mounts.append({"name": f"data-{i + 1}", "source": base, "mount": d.mount, "description": s.rel(d.path)})
    a.mounts.append(
        {
            "name": "app",
            "source": PROJECT_SOURCE,
            "mount": spec.PROJECT_MOUNT,
            "description": "The project: pipeline manifests, the Python modules and data they name (its own layout)",
        }
    )
    a.env = dict(stdlib.ENV)
    a.numpy = a.python and uses_numpy(s)
    # numpy's C modules only where a Python node imports numpy: 7.8 MB less for the others
    a.add(MODULE_MEMBER, wasm_module.module_path(numpy=a.numpy), "the runtime")
    a.add(REACTOR_MEMBER, wasm_module.reactor_path(numpy=a.numpy), "the runtime (reactor)")
    if a.python:
        a.add(f"{STDLIB_SOURCE}/{stdlib.ZIP_NAME}", stdlib.zip_path(), "the Python stdlib")
        description = f"CPython {flags.PYTHON_VERSION} stdlib, pruned, compiled to .pyc, in a stored {stdlib.ZIP_NAME}"
        if a.numpy:
            a.add(f"{STDLIB_SOURCE}/{numpy_build.ZIP_NAME}", numpy_build.python_zip(), "numpy")
            description += (
                f"; numpy {numpy_build.version()}'s Python package beside it ({numpy_build.ZIP_NAME}, "
                "its C modules are built into the runtime)"
            )
            a.env["PYTHONPATH"] = numpy_build.GUEST_ZIP
        a.mounts.insert(
            0,
            {"name": "python-stdlib", "source": STDLIB_SOURCE, "mount": stdlib.MOUNT, "description": description},
        )
    if s.requirements:
        a.wheels = requirements.locked(list(s.requirements), s.lock_path, frozen=frozen)
        a.site_packages = requirements.site_packages(a.wheels)
        for f in _project_files(a.site_packages):
            a.add(f"{SITE_SOURCE}/{f.relative_to(a.site_packages).as_posix()}", f, "[python].requirements")
        a.mounts.insert(
            1 if a.python else 0,
            {
                "name": "site-packages",
                "source": SITE_SOURCE,
                "mount": requirements.GUEST_SITE_PACKAGES,
                "description": "The pure-Python requirements: " + ", ".join(f"{w.name} {w.version}" for w in a.wheels),
            },
        )
        a.env["PYTHONPATH"] = ":".join(
            [*([numpy_build.GUEST_ZIP] if a.numpy else []), requirements.GUEST_SITE_PACKAGES]
        )
    for m in s.models:
        files = list(m.files) if m.files else [_product(m)]
        for f in files:
            a.add(f"models/{m.name}/{f.name}", f, f"[[model]] {m.name!r}")
        a.models.append({"name": m.name, "source": f"models/{m.name}", "mount": m.mount, "description": m.description})
    return a


def _product(m: spec.Model) -> Path:
    if m.product not in PRODUCTS:
        raise BuildError(f"[[model]] {m.name!r}: unknown product {m.product!r} (known: {', '.join(sorted(PRODUCTS))})")
    return PRODUCTS[m.product]()


def _exit_codes(layout: wasi.Layout) -> dict[str, dict[str, str]]:
    """The module's own exit-code table (``exit-codes --json``), keyed by code."""
    table = executor.Wasmtime(layout).run(["exit-codes", "--json"]).check("exit-codes --json").json()
    return {str(row["code"]): {"kind": row["kind"], "meaning": row["meaning"]} for row in table}


def metadata(a: Assembly, layout: wasi.Layout) -> dict:
    s = a.spec
    meta: dict[str, object] = {
        "name": s.name,
        "version": s.version,
        **({"title": s.title} if s.title else {}),
        **({"description": s.description} if s.description else {}),
        "runtime_target": rmpkg.RUNTIME_TARGET,
        "runtime": {
            "module": MODULE_MEMBER,
            "reactor": REACTOR_MEMBER,
            "program": executor.PROGRAM,
            "argv": [executor.PROGRAM, *executor.run_args("{manifest}")],
            "env": a.env,
            "output": "json-stdout",
            "exit_codes": _exit_codes(layout),
        },
        "wasi_deps": a.mounts,
        "models": a.models,
        "pipelines": [
            {
                "name": p.name,
                **({"title": p.title} if p.title else {}),
                **({"description": p.description} if p.description else {}),
                "manifest": f"{PROJECT_SOURCE}/{s.rel(p.manifest)}",
                "input_kind": p.input_kind,
            }
            for p in s.pipelines
        ],
        "default_pipeline": s.default_pipeline or s.pipelines[0].name,
        "provenance": {
            "builder": "rmbuild pack (python -m rmbuild pack)",
            "runtime_module_sha256": fsutil.sha256_file(a.members[MODULE_MEMBER]),
            "runtime_reactor_sha256": fsutil.sha256_file(a.members[REACTOR_MEMBER]),
            **({"python_stdlib": stdlib.provenance()} if a.python else {}),
            **({"numpy": numpy_build.describe()} if a.numpy else {}),
        },
    }
    if a.wheels:
        meta["requirements"] = [
            {"name": w.name, "version": w.version, "file": w.file, "sha256": w.sha256} for w in a.wheels
        ]
    return meta


# ---------------------------------------------------------------------------
# checks, on the assembled bundle, before anything is written


def _stage(a: Assembly, root: Path) -> wasi.Layout:
    """The members laid out as the bundle's mounts: hard links to the host files where
    the file system allows, copies elsewhere (WASI does not follow a symlink out of a
    preopen)."""
    for member, host in a.members.items():
        target = root / member
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(host.resolve(), target)
        except OSError:
            shutil.copyfile(host, target)
    preopens = {m["mount"]: root / m["source"] for m in [*a.mounts, *a.models]}
    return wasi.Layout(root / MODULE_MEMBER, preopens, a.env, executor.PROGRAM)


def _guest_of(a: Assembly, member: str) -> str:
    for m in [*a.mounts, *a.models]:
        if member.startswith(m["source"] + "/"):
            return m["mount"] + "/" + member[len(m["source"]) + 1 :]
    raise AssertionError(member)


def _member_at(a: Assembly, guest: str) -> str | None:
    for m in [*a.mounts, *a.models]:
        if guest.startswith(m["mount"] + "/"):
            member = m["source"] + guest[len(m["mount"]) :]
            return member if member in a.members else None
    return None


def check(a: Assembly, layout: wasi.Layout) -> None:
    """The runtime's validate, every named file, every node started: in the bundled module."""
    s = a.spec
    host = executor.Wasmtime(layout)
    for p in s.pipelines:
        where = s.rel(p.manifest)
        guest = _guest_of(a, f"{PROJECT_SOURCE}/{where}")
        ui.info(f"checking {where} (validate in wasmtime, with the bundle's mounts)")
        out = host.run([*executor.validate_args(guest), "--json"])
        if out.exit_code != 0:
            raise BuildError(f"{p.manifest}: the runtime refuses this manifest:\n{out.error_text.strip()}")
        for f in out.json()["files"]:
            _check_file(a, p, f)
        out = host.run([*executor.validate_args(guest), "--load"])
        if out.exit_code != 0:
            raise BuildError(
                f"{p.manifest}: a node does not start in the wasm runtime (exit {out.exit_code}):\n"
                + out.error_text.strip()
            )


def _check_file(a: Assembly, p: spec.Pipeline, f: dict) -> None:
    """A file a manifest names must be in the bundle where the runtime looks: a relative
    path at the same place below the project (and the project's own file), an absolute
    one inside a mount."""
    s = a.spec
    where = f"{p.manifest}: nodes {f['node']!r} ({f['type']}) {f['param']} {f['path']!r}"
    if PurePosixPath(f["path"]).is_absolute():
        if _member_at(a, f["path"]) is None:
            mounts = ", ".join(m["mount"] for m in [*a.mounts, *a.models])
            raise BuildError(f"{where}: no such file in the bundle (its mounts: {mounts})")
        return
    source = (p.manifest.parent / f["path"]).resolve()
    if not source.is_relative_to(s.project):
        raise BuildError(f"{where}: points outside the project folder {s.project}")
    member = f"{PROJECT_SOURCE}/{s.rel(source)}"
    if member not in a.members:
        hint = "[python] sources" if f["param"] == "module_path" else "[[data]]"
        raise BuildError(f"{where}: {s.rel(source)} is not in the bundle (add it to {hint} in {s.path.name})")


# ---------------------------------------------------------------------------
# building and packing


def _inputs(a: Assembly) -> list[Path]:
    """What the bundle is made of, hashed by content: every member, also those outside the
    project. A cached step's output path is no content key: a step can be built again under
    the same key with other bytes (Wizer's snapshot differs in padding bytes from run to run,
    README "Start-up by pre-initialisation"), and its dependents must then be packed again."""
    found = [a.spec.path, *([a.spec.lock_path] if a.spec.lock_path.exists() else [])]
    found += [Path(__file__), paths.PACKAGING_DIR / "rmpkg.py", paths.PACKAGING_DIR / "rmpkg.schema.json"]
    return found + sorted(set(a.members.values()))


def build(s: spec.Spec, *, frozen: bool = False) -> Path:
    """The checked ``.rmpkg`` of ``s`` (a cached step: nothing changed, no work)."""
    ui.step(f"pack {s.name}: gathering {len(s.pipelines)} pipeline(s) from {s.project}")
    a = assemble(s, frozen=frozen)
    facts = {
        "members": sorted(a.members),
        # where each member outside the project comes from (the module, stdlib, wheels, models;
        # their bytes are inputs)
        "outside": sorted((m, str(h)) for m, h in a.members.items() if not m.startswith(PROJECT_SOURCE + "/")),
        "env": a.env,
        "mounts": [a.mounts, a.models],
        "spec": [s.name, s.version, s.title, s.description, s.default_pipeline, [p.__dict__ for p in s.pipelines]],
    }

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="rmbuild-pack-") as tmp:
            layout = _stage(a, Path(tmp))
            check(a, layout)
            meta = metadata(a, layout)
        target = out / f"{s.name}.rmpkg"
        ui.info(f"writing {target.name} ({len(a.members)} members)")
        rmpkg.write(target, meta, {member: host.read_bytes() for member, host in a.members.items()})
        rmpkg.read(target)  # read back: what we ship must verify

    return steps.cached(
        f"rmpkg-{s.name}", _inputs(a), {k: json.dumps(v, default=str) for k, v in facts.items()}, make
    ) / (f"{s.name}.rmpkg")


def check_size(path: Path, limit: int | None, where: str) -> None:
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise BuildError(
            f"{where}: the bundle is {ui.human_bytes(size)} ({size} bytes), over the size limit of "
            f"{ui.human_bytes(limit)} ({limit} bytes); nothing was written"
        )


def pack(args: argparse.Namespace) -> int:
    """``pack SPEC -o OUT.rmpkg``: a project's bundle, checked, then written atomically."""
    if len(args.extra) != 1:
        raise BuildError("pack takes one spec: python -m rmbuild pack path/to/rmpkg.toml [-o OUT.rmpkg]")
    s = spec.load(paths.user_path(args.extra[0]))
    limit = s.max_size
    if args.max_size:
        try:
            limit = spec.parse_size(args.max_size)
        except ValueError as exc:
            raise BuildError(f"--max-size: {exc}") from exc
    built = build(s, frozen=args.locked)
    out = paths.user_path(args.output) if args.output else paths.user_path(f"{s.name}.rmpkg")
    check_size(built, limit, str(s.path))
    fsutil.write_atomic(out, built.read_bytes())
    bundle = rmpkg.read(out)
    ui.ok(f"{out}: {ui.human_bytes(bundle.size)}, sha256 {bundle.sha256}")
    print(rmpkg.describe(bundle))
    return 0


# ---------------------------------------------------------------------------
# the demo bundles


def demo_specs() -> dict[str, Path]:
    return {p.name.removesuffix(".rmpkg.toml"): p for p in sorted(paths.EXAMPLES_DIR.glob(DEMO_SPECS))}


def demo_spec(name: str) -> spec.Spec:
    specs = demo_specs()
    if name not in specs:
        raise BuildError(f"unknown bundle {name!r} (known: {', '.join(specs)})")
    return spec.load(specs[name])


def publish(built: dict[str, Path], dest: Path = BUNDLES_DIR) -> Path:
    """Copy bundles to ``dest`` with an index.json (what the demo and tests load)."""
    dest.mkdir(parents=True, exist_ok=True)
    index: dict[str, list] = {"bundles": []}
    for name, path in built.items():
        target = dest / f"{name}.rmpkg"
        if not fsutil.same_file(path, target):
            fsutil.write_atomic(target, path.read_bytes())
        bundle = rmpkg.read(target)
        meta = bundle.metadata
        index["bundles"].append(
            {
                "name": name,
                "file": target.name,
                "title": meta.get("title", name),
                "description": meta.get("description", ""),
                "size": bundle.size,
                "sha256": bundle.sha256,
                "unpacked_size": sum(m["size"] for m in meta["members"]),
                "pipelines": [p["name"] for p in meta["pipelines"]],
            }
        )
    for stale in dest.glob("*.rmpkg"):
        if stale.stem not in built:
            stale.unlink()
    return fsutil.write_atomic(dest / "index.json", json.dumps(index, indent=1) + "\n")


def report_sizes(index_path: Path) -> None:
    index = json.loads(index_path.read_text())
    rows = []
    for entry in index["bundles"]:
        bundle = rmpkg.read(index_path.parent / entry["file"])
        parts: dict[str, int] = {}
        for m in bundle.metadata["members"]:
            top = "/".join(m["path"].split("/")[:2])
            parts[top] = parts.get(top, 0) + m["size"]
        rows.append({**entry, "members_by_folder": parts})
        ui.info(
            f"{entry['name']:<16} {ui.human_bytes(entry['size']):>10} "
            f"(unpacked {ui.human_bytes(entry['unpacked_size'])}) sha256 {entry['sha256'][:16]}…"
        )
    fsutil.write_atomic(paths.REPORTS_DIR / "bundles.json", json.dumps({"bundles": rows}, indent=1) + "\n")


def build_selected(names: list[str] | None = None) -> Path:
    """Pack the demo bundles (all, or those named) and publish them; returns index.json."""
    specs = demo_specs()
    unknown = set(names or ()) - set(specs)
    if unknown:
        raise BuildError(f"unknown bundle(s): {', '.join(sorted(unknown))} (known: {', '.join(specs)})")
    chosen = [n for n in specs if not names or n in names]
    built = {}
    for i, name in enumerate(chosen, 1):
        ui.step(f"bundle {i}/{len(chosen)}: {name}")
        built[name] = build(spec.load(specs[name]))
    return publish(built)


def build_all(args: argparse.Namespace) -> None:
    """The bundle phase: every demo spec packed, published to build/bundles."""
    index = build_selected(list(args.extra) or None)
    ui.step("bundle sizes")
    report_sizes(index)
    ui.ok(f"bundles in {index.parent} (index.json, sizes in {paths.REPORTS_DIR / 'bundles.json'})")


def verify(args: argparse.Namespace) -> int:
    """``bundle-verify BUNDLE...``: check every member of each bundle."""
    failed = 0
    for name in args.bundles:
        try:
            bundle = rmpkg.read(paths.user_path(name), args.sha256)
        except rmpkg.BundleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        ui.ok(f"{name}: valid .rmpkg ({len(bundle.metadata['members'])} members verified, sha256 {bundle.sha256})")
    return 1 if failed else 0


def inspect(args: argparse.Namespace) -> int:
    """``bundle-inspect BUNDLE...``: verify, then describe (``--json``: the metadata)."""
    for name in args.bundles:
        try:
            bundle = rmpkg.read(paths.user_path(name), args.sha256)
        except rmpkg.BundleError as exc:
            raise BuildError(str(exc)) from exc
        print(json.dumps(bundle.metadata, indent=1) if args.json else rmpkg.describe(bundle))
    return 0


# ---------------------------------------------------------------------------
# reference runs (tests, the browser checks)


def run_in_wasmtime(
    bundle_path: Path, pipeline: str | None = None, manifest: str | None = None, inputs: list | None = None
) -> Outcome:
    """Verify ``bundle_path``, mount it as its metadata says and run one pipeline
    (with ``inputs`` as its input items, if given)."""
    with bundles.opened(bundle_path) as opened:
        if manifest is not None:
            opened.shadow_manifest(pipeline, manifest)
        stdin = json.dumps(inputs).encode() if inputs is not None else b""
        args = opened.run_args(pipeline, inputs="-" if inputs is not None else None)
        return executor.Wasmtime(opened.layout()).run(args, stdin=stdin)


def native_run(
    s: spec.Spec, pipeline: str, inputs: list | None = None, host: executor.Native | None = None, compact: bool = True
) -> Outcome:
    """The native runtime on the source tree: the reference a bundle must equal. Model
    mounts named by absolute guest paths are pointed at the host files; requirements
    come from the same locked site-packages."""
    p = next((x for x in s.pipelines if x.name == pipeline), None)
    if p is None:
        raise BuildError(f"{s.path}: no pipeline {pipeline!r}")
    env: dict[str, str] = {}
    site = []
    if uses_numpy(s):  # the host's numpy, at the version the wasm build has
        np_env = numpy_build.native_env()
        site.append(np_env.pop("PYTHONPATH"))
        env.update(np_env)
    if s.requirements:
        site.append(str(requirements.site_packages(requirements.locked(list(s.requirements), s.lock_path))))
    if site:
        env["PYTHONPATH"] = os.pathsep.join(site)
    stdin = json.dumps(inputs).encode() if inputs is not None else b""
    with tempfile.TemporaryDirectory(prefix="rmpkg-native-") as tmp:
        manifest = p.manifest
        text = manifest.read_text()
        mounted = [m for m in s.models if f'"{m.mount}/' in text]
        if mounted:  # such manifests name their models by guest path (and nothing relative): host copies
            for m in mounted:
                host_dir = Path(tmp, "models", m.name)
                host_dir.mkdir(parents=True)
                for f in list(m.files) or [_product(m)]:
                    (host_dir / f.name).symlink_to(f)
                text = text.replace(f'"{m.mount}/', f'"{host_dir}/')
            manifest = Path(tmp, p.manifest.name)
            manifest.write_text(text)
        args = executor.run_args(manifest, "-" if inputs is not None else None, compact=compact)
        return (host or native.host()).run(args, stdin=stdin, env=env)


@dataclass(frozen=True)
class DemoPipeline:
    bundle: str
    name: str
    sample: str = ""  # "jfk": tests feed it jfk.wav as a $audio item


# The demo pipelines the tests feed a sample (everything else runs on its own inputs).
DEMO_SAMPLES = {("whisper", "transcribe"): "jfk"}


def pipeline_spec(bundle_name: str, pipeline: str) -> DemoPipeline:
    s = demo_spec(bundle_name)
    if pipeline not in [p.name for p in s.pipelines]:
        raise BuildError(f"no pipeline {pipeline!r} in bundle {bundle_name!r}")
    return DemoPipeline(bundle_name, pipeline, DEMO_SAMPLES.get((bundle_name, pipeline), ""))


def sample_audio(pipeline: DemoPipeline) -> Path | None:
    """The WAV file a pipeline's tests feed it (``sample``), or None."""
    if not pipeline.sample:
        return None
    if pipeline.sample != "jfk":
        raise BuildError(f"unknown sample {pipeline.sample!r}")
    return whisper.jfk_wav()


def sample_inputs(pipeline: DemoPipeline) -> list | None:
    """Input items for tests: for an audio pipeline its sample as one ``$audio`` value
    (16-bit samples / 32768, as the runtime's MediaReader reads them), else None."""
    wav_path = sample_audio(pipeline)
    if wav_path is None:
        return None
    with wave.open(str(wav_path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise BuildError(f"{wav_path}: 16-bit PCM expected")
        rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.readframes(wav.getnframes())
    count = len(frames) // 2
    ints = struct.unpack(f"<{count}h", frames)
    data = struct.pack(f"<{count}f", *(v / 32768.0 for v in ints))
    return [{"$audio": {"sample_rate": rate, "channels": channels, "data_b64": base64.b64encode(data).decode()}}]


def run_native(bundle_name: str, pipeline: str, host: executor.Native | None = None) -> bytes:
    """What the native runtime prints for a demo pipeline (with its sample inputs, if any)."""
    inputs = sample_inputs(pipeline_spec(bundle_name, pipeline))
    outcome = native_run(demo_spec(bundle_name), pipeline, inputs, host)
    return outcome.check(f"native {bundle_name}/{pipeline}").stdout
