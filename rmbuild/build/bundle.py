"""``.rmpkg`` bundles of the demo pipelines.

The format itself (reading, verifying, writing) lives in ``packaging/rmpkg.py``
(standard library only, documented in ``packaging/SPEC.md``). This module
assembles the bundles:

- per bundle: the runtime module, the stdlib (``build.wasm.stdlib``: the one the
  tests and parity run too), the pipeline tree (``runtime/examples`` layout, so
  relative ``module_path`` values resolve the same as natively), models;
- everything as content-hash keyed steps: a re-run with nothing changed does no
  work. Outputs are copied to ``build/bundles/`` with an ``index.json``;
  sizes go to ``reports/bundles.json``.

The list of bundles is data (``BUNDLES``): adding one is one entry.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import struct
import sys
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core import fsutil, paths, steps, ui
from ..core.rmpkg import rmpkg
from ..core.ui import BuildError
from ..run import executor, wasi
from ..run.outcome import Outcome
from . import native, whisper
from .wasm import module as wasm_module
from .wasm import stdlib

BUNDLES_DIR = paths.BUILD_DIR / "bundles"
BUNDLE_VERSION = "0.1.0"


# ---------------------------------------------------------------------------
# runtime modules


@dataclass(frozen=True)
class RuntimeModule:
    """A WASI command and how to call it."""

    path: Path
    member: str  # where it goes in the bundle
    argv: tuple[str, ...]
    env: dict[str, str]
    facts: dict[str, str] = field(default_factory=dict)


def exit_codes(runtime: RuntimeModule) -> dict[str, dict[str, str]]:
    """The module's own exit-code table (``exit-codes --json``), keyed by code."""
    layout = wasi.Layout(runtime.path, {}, runtime.env, runtime.argv[0])
    table = executor.Wasmtime(layout).run(["exit-codes", "--json"]).check("exit-codes --json").json()
    return {str(row["code"]): {"kind": row["kind"], "meaning": row["meaning"]} for row in table}


def pipeline_runtime() -> RuntimeModule:
    """``pipeline_executor_wasm`` from the wasm build."""
    module = wasm_module.module_path()
    return RuntimeModule(
        path=module,
        member="runtime/pipeline_executor_wasm.wasm",
        argv=(executor.PROGRAM, *executor.run_args("{manifest}")),
        env=dict(stdlib.ENV),
        facts={"module_sha256": fsutil.sha256_file(module)},
    )


# ---------------------------------------------------------------------------
# bundle specifications

WHISPER_MODEL_KIND = "q5_1"  # the smallest of the built models (~32 MB, 29 MB gzipped)
WHISPER_MODEL_FILE = f"ggml-tiny.en-{WHISPER_MODEL_KIND}.bin"
WHISPER_MODEL_MOUNT = "/models/whisper"  # transcribe_audio.json names the model there


def _whisper_model() -> Path:
    return whisper.models()[WHISPER_MODEL_KIND]


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    manifest: str  # file name in runtime/examples/<folder>
    title: str
    description: str = ""
    input_kind: str = "json"  # "audio": items are $audio values (the demo records or uploads them)
    folder: str = "manifests"  # below runtime/examples
    sample: str = ""  # "jfk": tests run it with jfk.wav as a $audio item (see sample_inputs)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    files: Callable[[], dict[str, Path]]  # member name below models/<name>/ -> host file
    mount: str
    description: str = ""


@dataclass(frozen=True)
class BundleSpec:
    name: str
    title: str
    description: str
    pipelines: tuple[PipelineSpec, ...]
    python_modules: tuple[str, ...] = ()  # files in runtime/examples/python
    stdlib: bool = True
    models: tuple[ModelSpec, ...] = ()
    runtime: Callable[[], RuntimeModule] = pipeline_runtime


BUNDLES: tuple[BundleSpec, ...] = (
    BundleSpec(
        name="multiply-add",
        title="Multiply -> Add",
        description="Two Rust nodes: y = 2x + 1 for every item, and a fan-out/fan-in graph.",
        pipelines=(
            PipelineSpec("multiply_add", "multiply_add.json", "Multiply -> Add", "y = 2 * x + 1 for every input item"),
            PipelineSpec("fan_out_fan_in", "fan_out_fan_in.json", "Fan-out / fan-in", "One item, two branches, joined"),
        ),
        stdlib=False,  # no Python node: the interpreter is never started
    ),
    BundleSpec(
        name="python-node",
        title="Python nodes",
        description="Python classes run by CPython 3.11 inside the wasm runtime (PyO3).",
        pipelines=(
            PipelineSpec(
                "python_node", "python_node.json", "Python node (module file)", "scale.py: x3, drop negatives"
            ),
            PipelineSpec("python_inline", "python_inline.json", "Python node (inline source)", "A running total"),
        ),
        python_modules=("scale.py",),
    ),
    BundleSpec(
        name="whisper",
        title="Whisper speech to text",
        description="whisper.cpp (tiny.en q5_1) in the wasm runtime: audio -> 16 kHz -> text with timestamps.",
        pipelines=(
            PipelineSpec(
                "transcribe",
                "transcribe_audio.json",
                "Resample -> Whisper",
                "Record or upload audio: it is transcribed (tiny.en q5_1, greedy, 1 thread)",
                input_kind="audio",
                folder="whisper",
                sample="jfk",
            ),
        ),
        stdlib=False,  # no Python node
        models=(
            ModelSpec(
                "whisper",
                lambda: {WHISPER_MODEL_FILE: _whisper_model()},
                WHISPER_MODEL_MOUNT,
                "whisper.cpp ggml model: tiny.en converted from CTranslate2, quantized to q5_1",
            ),
        ),
    ),
)


def _pipeline_files(spec: BundleSpec) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in spec.pipelines:
        src = paths.EXAMPLES_DIR / p.folder / p.manifest
        if not src.is_file():
            raise BuildError(f"bundle {spec.name}: pipeline manifest {src} does not exist")
        files[f"pipelines/manifests/{p.manifest}"] = src
    for module in spec.python_modules:
        src = paths.EXAMPLES_DIR / "python" / module
        if not src.is_file():
            raise BuildError(f"bundle {spec.name}: Python module {src} does not exist")
        files[f"pipelines/python/{module}"] = src
    return files


def _metadata(spec: BundleSpec, runtime: RuntimeModule, provenance: dict[str, str]) -> dict:
    wasi_deps = [
        {
            "name": "pipelines",
            "source": "pipelines",
            "mount": "/pipelines",
            "description": "The pipeline manifests and the Python modules they name (runtime/examples layout)",
        }
    ]
    if spec.stdlib:
        wasi_deps.insert(
            0,
            {
                "name": "python-stdlib",
                "source": "wasi-deps/python",
                "mount": stdlib.MOUNT,
                "description": f"CPython 3.11 stdlib, pruned, compiled to .pyc, in a stored {stdlib.ZIP_NAME}",
            },
        )
    return {
        "name": spec.name,
        "version": BUNDLE_VERSION,
        "title": spec.title,
        "description": spec.description,
        "runtime_target": rmpkg.RUNTIME_TARGET,
        "runtime": {
            "module": runtime.member,
            "program": runtime.argv[0],
            "argv": list(runtime.argv),
            "env": runtime.env,
            "output": "json-stdout",
            "exit_codes": exit_codes(runtime),
        },
        "wasi_deps": wasi_deps,
        "models": [
            {"name": m.name, "source": f"models/{m.name}", "mount": m.mount, "description": m.description}
            for m in spec.models
        ],
        "pipelines": [
            {
                "name": p.name,
                "title": p.title,
                "description": p.description,
                "manifest": f"pipelines/manifests/{p.manifest}",
                "input_kind": p.input_kind,
            }
            for p in spec.pipelines
        ],
        "default_pipeline": spec.pipelines[0].name,
        "provenance": provenance,
    }


def build_bundle(spec: BundleSpec) -> Path:
    """Assemble one bundle (cached step); returns the .rmpkg path in the cache."""
    runtime = spec.runtime()
    sources: dict[str, Path] = {runtime.member: runtime.path, **_pipeline_files(spec)}
    if spec.stdlib:
        sources[f"wasi-deps/python/{stdlib.ZIP_NAME}"] = stdlib.zip_path()
    for model in spec.models:
        for rel, host in model.files().items():
            sources[f"models/{model.name}/{rel}"] = host
    provenance = {
        "builder": "rmbuild bundle (python -m rmbuild bundle)",
        "python_stdlib": stdlib.provenance(),
        **{f"runtime_{k}": v for k, v in runtime.facts.items()},
    }
    facts = {
        "spec": repr(spec.pipelines) + repr(spec.python_modules) + repr(spec.stdlib) + spec.title + spec.description,
        "models": [m.name for m in spec.models],
        "members": sorted(sources),
        "provenance": provenance,
        "runtime": [runtime.member, runtime.argv, runtime.env],
    }
    inputs = [Path(__file__), paths.PACKAGING_DIR / "rmpkg.py", paths.PACKAGING_DIR / "rmpkg.schema.json"]
    inputs += sorted(set(sources.values()))

    def build(out: Path) -> None:
        files = {member: host.read_bytes() for member, host in sources.items()}
        target = out / f"{spec.name}.rmpkg"
        rmpkg.write(target, _metadata(spec, runtime, provenance), files)
        rmpkg.read(target)  # read back: what we ship must verify

    return steps.cached(f"rmpkg-{spec.name}", inputs, facts, build) / f"{spec.name}.rmpkg"


def publish(built: dict[str, Path], dest: Path = BUNDLES_DIR) -> Path:
    """Copy bundles to ``dest`` with an index.json (what the demo and tests load)."""
    dest.mkdir(parents=True, exist_ok=True)
    index = {"bundles": []}
    for name, path in built.items():
        target = dest / f"{name}.rmpkg"
        if not fsutil.same_file(path, target):
            shutil.copyfile(path, target)
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
    (dest / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return dest / "index.json"


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
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    (paths.REPORTS_DIR / "bundles.json").write_text(json.dumps({"bundles": rows}, indent=1) + "\n")


def build_selected(names: list[str] | None = None) -> Path:
    """Build the bundles (all, or those named) and publish them; returns index.json."""
    specs = [s for s in BUNDLES if not names or s.name in names]
    unknown = set(names or ()) - {s.name for s in BUNDLES}
    if unknown:
        known = ", ".join(s.name for s in BUNDLES)
        raise BuildError(f"unknown bundle(s): {', '.join(sorted(unknown))} (known: {known})")
    built = {}
    for i, spec in enumerate(specs, 1):
        ui.step(f"bundle {i}/{len(specs)}: {spec.name}")
        built[spec.name] = build_bundle(spec)
    return publish(built)


def build_all(args: argparse.Namespace) -> None:
    index = build_selected(list(args.extra) or None)
    ui.step("bundle sizes")
    report_sizes(index)
    ui.ok(f"bundles in {index.parent} (index.json, sizes in {paths.REPORTS_DIR / 'bundles.json'})")


def verify(args: argparse.Namespace) -> int:
    """``bundle-verify BUNDLE...``: check every member of each bundle."""
    failed = 0
    for name in args.bundles:
        try:
            bundle = rmpkg.read(Path(name), args.sha256)
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
            bundle = rmpkg.read(Path(name), args.sha256)
        except rmpkg.BundleError as exc:
            raise BuildError(str(exc)) from exc
        print(json.dumps(bundle.metadata, indent=1) if args.json else rmpkg.describe(bundle))
    return 0


# ---------------------------------------------------------------------------
# running a bundle in wasmtime (the reference the browser is compared with)


def run_in_wasmtime(
    bundle_path: Path, pipeline: str | None = None, manifest: str | None = None, inputs: list | None = None
) -> Outcome:
    """Verify ``bundle_path``, mount it as its metadata says and run one pipeline
    (with ``inputs`` as its input items, if given)."""
    bundle = rmpkg.read(bundle_path)
    meta = bundle.metadata
    guest_manifest = bundle.manifest_path(pipeline)
    with tempfile.TemporaryDirectory(prefix="rmpkg-run-") as tmp:
        root = Path(tmp)
        bundle.extract(root)
        preopens = {m["mount"]: root / m["source"] for m in bundle.mounts()}
        if manifest is not None:  # shadows the shipped one, at its guest path
            member = bundle.pipeline(pipeline)["manifest"]
            (root / member).write_text(manifest)
        argv = [a.replace("{manifest}", guest_manifest) for a in meta["runtime"]["argv"]]
        stdin = b""
        if inputs is not None:
            argv += ["--input", "-"]
            stdin = json.dumps(inputs).encode()
        layout = wasi.Layout(root / meta["runtime"]["module"], preopens, meta["runtime"]["env"], argv[0])
        return executor.Wasmtime(layout).run(argv[1:], stdin=stdin)


# ---------------------------------------------------------------------------
# native reference runs (tests, the browser checks)


def pipeline_spec(bundle_name: str, pipeline: str) -> PipelineSpec:
    spec = next((b for b in BUNDLES if b.name == bundle_name), None)
    found = next((p for p in spec.pipelines if p.name == pipeline), None) if spec else None
    if found is None:
        raise BuildError(f"no pipeline {pipeline!r} in bundle {bundle_name!r}")
    return found


def sample_audio(pipeline: PipelineSpec) -> Path | None:
    """The WAV file a pipeline's tests feed it (``sample``), or None."""
    if not pipeline.sample:
        return None
    if pipeline.sample != "jfk":
        raise BuildError(f"unknown sample {pipeline.sample!r}")
    return whisper.jfk_wav()


def sample_inputs(pipeline: PipelineSpec) -> list | None:
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
    """What the native runtime prints for a bundled pipeline: the bundle's manifest with
    the model mounts pointed at the host files, and the sample inputs if it has any."""
    spec = next(b for b in BUNDLES if b.name == bundle_name)
    p = pipeline_spec(bundle_name, pipeline)
    src = paths.EXAMPLES_DIR / p.folder / p.manifest
    with tempfile.TemporaryDirectory(prefix="rmpkg-native-") as tmp:
        manifest = src  # as is: relative paths (module_path) resolve from the examples folder
        if spec.models:  # guest model paths -> the host files (such manifests have no relative paths)
            text = src.read_text()
            for model in spec.models:
                host_dir = Path(tmp, "models", model.name)
                host_dir.mkdir(parents=True)
                for rel, file in model.files().items():
                    (host_dir / rel).symlink_to(file)
                text = text.replace(f'"{model.mount}/', f'"{host_dir}/')
            manifest = Path(tmp, src.name)
            manifest.write_text(text)
        inputs = sample_inputs(p)
        stdin = json.dumps(inputs).encode() if inputs is not None else b""
        args = executor.run_args(manifest, "-" if inputs is not None else None)
        outcome = (host or native.host()).run(args, stdin=stdin)
    return outcome.check(f"native {bundle_name}/{pipeline}").stdout
