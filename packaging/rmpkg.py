"""Read, verify, inspect and write ``.rmpkg`` pipeline bundles (format version 1).

Standard library only, one file: usable without the build package.

    python packaging/rmpkg.py verify  BUNDLE.rmpkg [--sha256 HEX]
    python packaging/rmpkg.py inspect BUNDLE.rmpkg [--json]

A bundle is a gzip-compressed POSIX ustar archive whose first member is
``rmpkg.json`` (metadata, validated against ``rmpkg.schema.json`` next to this
file); it lists the size and sha256 of every other member. See SPEC.md.
Any deviation (bad gzip or tar data, unknown or missing member, wrong size or
hash, unsafe path, metadata that fails the schema) raises ``BundleError`` with a
message naming the bundle and the exact problem.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FORMAT = "rmpkg"
FORMAT_VERSION = 1
METADATA = "rmpkg.json"
RUNTIME_TARGET = "wasm32-wasi"
SCHEMA_PATH = Path(__file__).resolve().with_name("rmpkg.schema.json")
# Fixed archive attributes: the same inputs always give the same bytes.
MTIME = 0
FILE_MODE = 0o644
GZIP_LEVEL = 9


class BundleError(Exception):
    """The bundle is unreadable, corrupted, tampered with or not a valid .rmpkg."""


# ---------------------------------------------------------------------------
# the JSON Schema subset (the same one browser-demo/runner/src/bundle/schema.ts implements)


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _type_ok(value: object, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    raise AssertionError(f"schema uses unsupported type {expected!r}")


def _where(path: str) -> str:
    return path or "(top level)"


def validate(value: object, schema: Mapping, root: Mapping | None = None, path: str = "") -> None:
    """Validate ``value`` against the schema subset; raise BundleError at the first problem."""
    root = root if root is not None else schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise AssertionError(f"unsupported $ref {ref}")
        target = root["$defs"][ref.removeprefix("#/$defs/")]
        validate(value, target, root, path)
    if "const" in schema and value != schema["const"]:
        raise BundleError(f"{_where(path)}: expected {json.dumps(schema['const'])}, got {json.dumps(value)}")
    if "enum" in schema and value not in schema["enum"]:
        raise BundleError(f"{_where(path)}: expected one of {json.dumps(schema['enum'])}, got {json.dumps(value)}")
    if "type" in schema and not _type_ok(value, schema["type"]):
        raise BundleError(f"{_where(path)}: expected {schema['type']}, got {type(value).__name__}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise BundleError(f"{_where(path)}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise BundleError(f"{_where(path)}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            raise BundleError(f"{_where(path)}: {json.dumps(value)} does not match {schema['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise BundleError(f"{_where(path)}: {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise BundleError(f"{_where(path)}: {value} is above {schema['maximum']}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise BundleError(f"{_where(path)}: needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise BundleError(f"{_where(path)}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise BundleError(f"{_where(path)}: missing field {key!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key in props:
                validate(item, props[key], root, sub)
            elif extra is False:
                raise BundleError(f"{_where(path)}: unknown field {key!r}")
            elif isinstance(extra, dict):
                validate(item, extra, root, sub)


# ---------------------------------------------------------------------------
# reading and verifying


@dataclass
class Bundle:
    """A verified bundle: its metadata and the bytes of every member."""

    metadata: dict
    files: dict[str, bytes]
    size: int  # bytes of the .rmpkg file
    sha256: str  # of the .rmpkg file

    def mounts(self) -> list[dict]:
        return [*self.metadata["wasi_deps"], *self.metadata["models"]]

    def pipeline(self, name: str | None = None) -> dict:
        name = name or self.metadata.get("default_pipeline") or self.metadata["pipelines"][0]["name"]
        for p in self.metadata["pipelines"]:
            if p["name"] == name:
                return p
        names = ", ".join(p["name"] for p in self.metadata["pipelines"])
        raise BundleError(f"bundle {self.metadata['name']!r} has no pipeline {name!r} (it has: {names})")

    def guest_path(self, member: str) -> str:
        """Where a member appears inside the guest: below the mount holding it."""
        path = _guest_path(self.mounts(), member)
        if path is None:
            raise BundleError(f"member {member!r} is in no mounted folder")
        return path

    def manifest_path(self, pipeline: str | None = None) -> str:
        """The guest path of a pipeline's manifest: relative paths in it resolve from its
        folder, exactly as they do from the manifest's folder in the source tree."""
        return self.guest_path(self.pipeline(pipeline)["manifest"])

    def extract(self, dest: Path) -> None:
        """Write every member below ``dest`` (paths were checked when reading)."""
        for rel, data in self.files.items():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _guest_path(mounts: list[dict], member: str) -> str | None:
    for m in mounts:
        prefix = m["source"] + "/"
        if member.startswith(prefix):
            return m["mount"] + "/" + member[len(prefix) :]
    return None


def _check_semantics(meta: dict) -> None:
    """What the schema cannot say: cross references between fields."""
    listed = {m["path"] for m in meta["members"]}
    paths = [m["path"] for m in meta["members"]]
    if paths != sorted(paths):
        raise BundleError("metadata: members are not sorted by path")
    if len(listed) != len(paths):
        raise BundleError("metadata: a member is listed twice")
    if meta["runtime"]["module"] not in listed:
        raise BundleError(f"metadata: runtime.module {meta['runtime']['module']!r} is not a listed member")
    mounts = [*meta["wasi_deps"], *meta["models"]]
    guests = [m["mount"] for m in mounts]
    if len(set(guests)) != len(guests):
        raise BundleError("metadata: two mounts use the same guest folder")
    for m in mounts:
        prefix = m["source"] + "/"
        if not any(p.startswith(prefix) for p in listed):
            raise BundleError(f"metadata: mount {m['name']!r}: no member below {m['source']!r}")
    names = [p["name"] for p in meta["pipelines"]]
    if len(set(names)) != len(names):
        raise BundleError("metadata: two pipelines have the same name")
    for p in meta["pipelines"]:
        if p["manifest"] not in listed:
            raise BundleError(f"metadata: pipeline {p['name']!r}: manifest {p['manifest']!r} is not a listed member")
        if _guest_path(mounts, p["manifest"]) is None:
            raise BundleError(f"metadata: pipeline {p['name']!r}: manifest {p['manifest']!r} is in no mounted folder")
    reactor = meta["runtime"].get("reactor")
    if reactor is not None and reactor not in listed:
        raise BundleError(f"metadata: runtime.reactor {reactor!r} is not a listed member")
    default = meta.get("default_pipeline")
    if default is not None and default not in names:
        raise BundleError(f"metadata: default_pipeline {default!r} is not one of the pipelines")
    if "{manifest}" not in " ".join(meta["runtime"]["argv"]):
        raise BundleError("metadata: runtime.argv has no {manifest} placeholder")


def _decompress(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise BundleError(f"not a readable .rmpkg (gzip layer is damaged or truncated: {exc})") from exc


def read_bytes(data: bytes, expected_sha256: str | None = None) -> Bundle:
    """Parse and fully verify a bundle held in memory."""
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise BundleError(f"bundle sha256 is {digest}, expected {expected_sha256.lower()}: refusing it")
    raw = _decompress(data)
    contents: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            members = archive.getmembers()
            if not members or members[0].name != METADATA:
                raise BundleError(f"not a .rmpkg: the first member must be {METADATA}")
            for member in members:
                if not member.isreg():
                    raise BundleError(f"member {member.name!r} is not a regular file: refusing it")
                if member.name in contents:
                    raise BundleError(f"member {member.name!r} appears twice")
                handle = archive.extractfile(member)
                assert handle is not None
                contents[member.name] = handle.read()
    except tarfile.TarError as exc:
        raise BundleError(f"not a readable .rmpkg (tar layer is damaged: {exc})") from exc
    try:
        meta = json.loads(contents.pop(METADATA).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{METADATA} is not valid JSON: {exc}") from exc
    try:
        validate(meta, load_schema())
    except BundleError as exc:
        raise BundleError(f"{METADATA} does not follow the schema: {exc}") from exc
    _check_semantics(meta)
    listed = {m["path"]: m for m in meta["members"]}
    order = [m.name for m in members[1:]]
    for name in order:
        if name not in listed:
            raise BundleError(f"member {name!r} is not listed in {METADATA}: refusing an altered bundle")
    for path, entry in listed.items():
        if path not in contents:
            raise BundleError(f"member {path!r} is listed in {METADATA} but missing from the archive")
        blob = contents[path]
        if len(blob) != entry["size"]:
            raise BundleError(
                f"member {path!r} has {len(blob)} bytes, {METADATA} says {entry['size']}: "
                "the bundle is corrupted or was tampered with"
            )
        actual = hashlib.sha256(blob).hexdigest()
        if actual != entry["sha256"]:
            raise BundleError(
                f"member {path!r} has sha256 {actual}, {METADATA} says {entry['sha256']}: "
                "the bundle is corrupted or was tampered with"
            )
    if order != list(listed):
        raise BundleError(f"members are not in the order {METADATA} lists them")
    return Bundle(meta, contents, len(data), digest)


def read(path: Path, expected_sha256: str | None = None) -> Bundle:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return read_bytes(data, expected_sha256)
    except BundleError as exc:
        raise BundleError(f"{path.name}: {exc}") from exc


# ---------------------------------------------------------------------------
# writing


def _tar_member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = MTIME
    info.mode = FILE_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def write(out: Path, metadata: Mapping, files: Mapping[str, bytes]) -> dict:
    """Write a bundle: ``metadata`` without ``members`` (added here), ``files`` by member path.

    Deterministic: members sorted by path, fixed mtime/mode/owner, ustar
    headers, gzip with mtime 0 and no file name. Returns the full metadata.
    """
    meta = dict(metadata)
    meta["members"] = [
        {"path": p, "size": len(files[p]), "sha256": hashlib.sha256(files[p]).hexdigest()} for p in sorted(files)
    ]
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    validate(meta, load_schema())
    _check_semantics(meta)
    meta_bytes = (json.dumps(meta, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, blob in [(METADATA, meta_bytes), *((p, files[p]) for p in sorted(files))]:
            try:
                archive.addfile(_tar_member(name, len(blob)), io.BytesIO(blob))
            except ValueError as exc:  # a name ustar cannot hold
                raise BundleError(f"member path {name!r} cannot be stored in a ustar archive: {exc}") from exc
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with (
        tmp.open("wb") as fh,
        gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=GZIP_LEVEL, mtime=0) as gz,
    ):
        gz.write(tar_buf.getvalue())
    tmp.replace(out)
    return meta


# ---------------------------------------------------------------------------
# inspection


def human_bytes(n: float) -> str:
    """``1.5 MiB``: sizes for people (also what the build package prints)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def describe(bundle: Bundle) -> str:
    meta = bundle.metadata
    unpacked = sum(m["size"] for m in meta["members"])
    lines = [
        f"{meta['name']} {meta['version']}" + (f"  ({meta['title']})" if meta.get("title") else ""),
        f"  file          {human_bytes(bundle.size)}  sha256 {bundle.sha256}",
        f"  unpacked      {human_bytes(unpacked)} in {len(meta['members'])} members (all sizes and sha256 verified)",
        f"  target        {meta['runtime_target']}",
        f"  runtime       {meta['runtime']['module']}  argv {' '.join(meta['runtime']['argv'])}",
    ]
    for key, value in sorted(meta["runtime"]["env"].items()):
        lines.append(f"  env           {key}={value}")
    for kind in ("wasi_deps", "models"):
        for m in meta[kind]:
            prefix = m["source"] + "/"
            size = sum(e["size"] for e in meta["members"] if e["path"].startswith(prefix))
            count = sum(1 for e in meta["members"] if e["path"].startswith(prefix))
            lines.append(
                f"  {kind[:-1].replace('_', '-'):<13} {m['name']}: {m['source']}/ -> {m['mount']} "
                f"({count} files, {human_bytes(size)})"
            )
    for p in meta["pipelines"]:
        star = " (default)" if p["name"] == meta.get("default_pipeline") else ""
        lines.append(f"  pipeline      {p['name']}{star}: {p['manifest']} [{p.get('input_kind', 'json')}]")
    for r in meta.get("requirements", []):
        lines.append(f"  requirement   {r['name']} {r['version']} ({r['file']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rmpkg", description="Verify or inspect a .rmpkg pipeline bundle.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("verify", "check every member against rmpkg.json"), ("inspect", "verify, then describe")):
        p = sub.add_parser(name, help=text)
        p.add_argument("bundle", type=Path, nargs="+" if name == "verify" else None)
        p.add_argument("--sha256", help="also require this sha256 of the whole file (pinned out of band)")
        if name == "inspect":
            p.add_argument("--json", action="store_true", help="print rmpkg.json")
    args = parser.parse_args(argv)
    if args.command == "verify":
        failed = 0
        for path in args.bundle:
            try:
                bundle = read(path, args.sha256)
            except BundleError as exc:
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(f"ok: {path} is a valid .rmpkg ({len(bundle.metadata['members'])} members verified)")
        return 1 if failed else 0
    try:
        bundle = read(args.bundle, args.sha256)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(bundle.metadata, indent=1))
    else:
        print(describe(bundle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
