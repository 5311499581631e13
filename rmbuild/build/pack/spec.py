"""The pack spec: a small TOML file kept in a pipeline project (``rmpkg.toml``) that
says what goes into the project's ``.rmpkg``. Every path in it is relative to the
spec's folder (the project) and must stay inside it.

    [bundle]
    name = "starter"                 # [a-z0-9][a-z0-9._-]{0,63}
    version = "0.1.0"
    title = "Starter"                # optional, like description
    max_size = "20 MiB"              # optional: refuse a bigger bundle
    default_pipeline = "greet"       # optional (default: the first)

    [[pipeline]]                     # one or more
    name = "greet"
    manifest = "pipelines/greet.json"
    input_kind = "json"              # or "audio", "audio-stream"; optional, like title

    [python]                         # optional
    sources = ["nodes"]              # Python files or folders the manifests' nodes use
    requirements = ["humanize==4.9.0"]   # pure-Python wheels from PyPI
    numpy = "auto"                   # optional: true, false or "auto" (the default:
                                     # numpy's Python package goes in when a node's
                                     # code imports numpy; its C modules are built in)

    [[data]]                         # optional: more files the pipelines read
    path = "assets"                  # kept at the same place below the project
    mount = "/data"                  # optional: or mounted at a guest folder of its own

    [[model]]                        # optional: models, mounted at a guest folder
    name = "whisper"
    mount = "/models/whisper"
    files = ["models/ggml-tiny.en-q5_1.bin"]   # or: product = "whisper-tiny.en-q5_1"

Manifests, Python sources and data without a mount keep their place below the
project in the bundle (mounted at ``/app``), so relative paths in a manifest
(``module_path``, a model, a MediaReader file) resolve in the bundle exactly as they
do in the source tree.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ...core.ui import BuildError

SPEC_NAME = "rmpkg.toml"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PIPELINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
GUEST_PATH = re.compile(r"^(/[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*)+$")
INPUT_KINDS = ("json", "audio", "audio-stream")
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$")
SIZE_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 10**3, "MB": 10**6, "GB": 10**9}
# The guest folder of the project tree, and folders the runtime itself uses.
PROJECT_MOUNT = "/app"
RESERVED_MOUNTS = ("/usr/local/lib", "/site-packages", "/tmp")

TABLES = {
    "bundle": {"name", "version", "title", "description", "max_size", "default_pipeline"},
    "pipeline": {"name", "manifest", "title", "description", "input_kind"},
    "python": {"sources", "requirements", "numpy"},
    "data": {"path", "mount"},
    "model": {"name", "mount", "files", "product", "description"},
}


@dataclass(frozen=True)
class Pipeline:
    name: str
    manifest: Path  # absolute, inside the project
    title: str = ""
    description: str = ""
    input_kind: str = "json"


@dataclass(frozen=True)
class Data:
    path: Path  # absolute, inside the project: a file or a folder
    mount: str | None = None


@dataclass(frozen=True)
class Model:
    name: str
    mount: str
    files: tuple[Path, ...] = ()  # absolute, inside the project
    product: str | None = None  # a model this toolchain builds (see bundle.PRODUCTS)
    description: str = ""


@dataclass(frozen=True)
class Spec:
    path: Path  # the spec file
    name: str
    version: str
    pipelines: tuple[Pipeline, ...]
    title: str = ""
    description: str = ""
    max_size: int | None = None
    default_pipeline: str | None = None
    sources: tuple[Path, ...] = ()
    requirements: tuple[str, ...] = ()
    numpy: bool | str = "auto"  # True, False or "auto" ([python] numpy)
    data: tuple[Data, ...] = ()
    models: tuple[Model, ...] = ()
    lock_path: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lock_path", self.path.with_name("rmpkg.lock"))

    @property
    def project(self) -> Path:
        return self.path.parent

    def rel(self, path: Path) -> str:
        """A project path as written in the bundle (``/``-separated, relative)."""
        return path.relative_to(self.project).as_posix()


class _Reader:
    """Reads one spec, naming the file and the field in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.project = path.parent.resolve()

    def fail(self, where: str, message: str) -> BuildError:
        return BuildError(f"{self.path}: {where}: {message}")

    def table(self, data: dict, key: str, where: str) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a table, not {type(value).__name__}")
        self.known(value, TABLES[key], where)
        return value

    def tables(self, data: dict, key: str) -> list[tuple[str, dict]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"[[{key}]]", "must be an array of tables ([[" + key + "]] sections)")
        out = []
        for i, item in enumerate(value, 1):
            where = f"[[{key}]] #{i}"
            self.known(item, TABLES[key], where)
            out.append((where, item))
        return out

    def known(self, table: dict, fields: set[str], where: str) -> None:
        unknown = sorted(set(table) - fields)
        if unknown:
            raise self.fail(where, f"unknown field {unknown[0]!r} (known: {', '.join(sorted(fields))})")

    def string(self, table: dict, key: str, where: str, required: bool = False, pattern=None) -> str:
        if key not in table:
            if required:
                raise self.fail(where, f"{key} is missing")
            return ""
        value = table[key]
        if not isinstance(value, str) or (required and not value):
            raise self.fail(f"{where}.{key}", f"must be a non-empty string, not {value!r}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(f"{where}.{key}", f"{value!r} does not match {pattern.pattern}")
        return value

    def strings(self, table: dict, key: str, where: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{where}.{key}", "must be an array of non-empty strings")
        return value

    def project_path(self, text: str, where: str, must_exist: str = "") -> Path:
        """``text`` resolved against the project; it must stay inside (no ``..`` out, no
        absolute path, no link leading out)."""
        if Path(text).is_absolute():
            raise self.fail(where, f"{text!r} is absolute: paths are relative to the project folder")
        resolved = (self.project / text).resolve()
        if not resolved.is_relative_to(self.project):
            raise self.fail(where, f"{text!r} points outside the project folder {self.project}")
        if must_exist == "file" and not resolved.is_file():
            raise self.fail(where, f"{text!r}: no such file")
        if must_exist == "any" and not resolved.exists():
            raise self.fail(where, f"{text!r}: no such file or folder")
        return resolved

    def guest(self, table: dict, where: str) -> str:
        mount = self.string(table, "mount", where, required=True, pattern=GUEST_PATH)
        for reserved in (PROJECT_MOUNT, *RESERVED_MOUNTS):
            if mount == reserved or mount.startswith(reserved + "/") or reserved.startswith(mount + "/"):
                raise self.fail(f"{where}.mount", f"{mount!r} overlaps {reserved}, which the runtime uses")
        return mount


def parse_size(text: str) -> int:
    match = SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (e.g. 20 MiB, 500 KB, 1048576)")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2)])


def load(path: Path) -> Spec:
    """Read and check a spec; a BuildError names the file and the field of any problem."""
    path = Path(path)
    if path.is_dir():
        path = path / SPEC_NAME
    if not path.is_file():
        raise BuildError(f"{path}: no such pack spec (a {SPEC_NAME} in the project folder)")
    r = _Reader(path.resolve())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"{path}: not valid TOML: {exc}") from exc
    r.known(data, set(TABLES), "top level")
    if "bundle" not in data:
        raise r.fail("top level", "[bundle] is missing")
    bundle = r.table(data, "bundle", "[bundle]")
    name = r.string(bundle, "name", "[bundle]", required=True, pattern=NAME)
    version = r.string(bundle, "version", "[bundle]", required=True)
    max_size = None
    if "max_size" in bundle:
        try:
            max_size = parse_size(str(bundle["max_size"]))
        except ValueError as exc:
            raise r.fail("[bundle].max_size", str(exc)) from exc

    pipelines = []
    for where, table in r.tables(data, "pipeline"):
        pname = r.string(table, "name", where, required=True, pattern=PIPELINE_NAME)
        manifest = r.project_path(r.string(table, "manifest", where, required=True), f"{where}.manifest", "file")
        kind = r.string(table, "input_kind", where) or "json"
        if kind not in INPUT_KINDS:
            raise r.fail(f"{where}.input_kind", f"{kind!r} is not one of {', '.join(INPUT_KINDS)}")
        pipelines.append(
            Pipeline(pname, manifest, r.string(table, "title", where), r.string(table, "description", where), kind)
        )
    if not pipelines:
        raise r.fail("top level", "no [[pipeline]]: a bundle needs at least one pipeline")
    names = [p.name for p in pipelines]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise r.fail("[[pipeline]]", f"two pipelines are named {duplicate!r}")
    default = r.string(bundle, "default_pipeline", "[bundle]") or None
    if default is not None and default not in names:
        raise r.fail("[bundle].default_pipeline", f"{default!r} is not one of the pipelines ({', '.join(names)})")

    python = r.table(data, "python", "[python]")
    sources = [
        r.project_path(text, f"[python].sources[{i}]", "any")
        for i, text in enumerate(r.strings(python, "sources", "[python]"))
    ]
    requirements = r.strings(python, "requirements", "[python]")
    numpy = python.get("numpy", "auto")
    if numpy not in (True, False, "auto"):
        raise r.fail("[python].numpy", f'must be true, false or "auto", not {numpy!r}')

    data_items = []
    for where, table in r.tables(data, "data"):
        item_path = r.project_path(r.string(table, "path", where, required=True), f"{where}.path", "any")
        data_items.append(Data(item_path, r.guest(table, where) if "mount" in table else None))

    models = []
    for where, table in r.tables(data, "model"):
        mname = r.string(table, "name", where, required=True, pattern=PIPELINE_NAME)
        mount = r.guest(table, where)
        files = tuple(
            r.project_path(text, f"{where}.files[{i}]", "file")
            for i, text in enumerate(r.strings(table, "files", where))
        )
        product = r.string(table, "product", where) or None
        if bool(files) == bool(product):
            raise r.fail(where, 'give exactly one of files = [...] or product = "..."')
        models.append(Model(mname, mount, files, product, r.string(table, "description", where)))
    mounts = [m.mount for m in models] + [d.mount for d in data_items if d.mount]
    duplicate = next((m for m in mounts if mounts.count(m) > 1), None)
    if duplicate:
        raise r.fail("mounts", f"two entries are mounted at {duplicate}")

    return Spec(
        path=r.path,
        name=name,
        version=version,
        pipelines=tuple(pipelines),
        title=r.string(bundle, "title", "[bundle]"),
        description=r.string(bundle, "description", "[bundle]"),
        max_size=max_size,
        default_pipeline=default,
        sources=tuple(sources),
        requirements=tuple(requirements),
        numpy=numpy,
        data=tuple(data_items),
        models=tuple(models),
    )
