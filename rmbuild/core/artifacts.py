"""Fetch, verify and extract the artifacts pinned in the lock file.

Guarantees:
- a download is written to a ``.part`` file, checked against the lock's size and
  sha256, and only then renamed into place: an interrupted or tampered download
  never becomes a cache entry;
- an extraction goes to a temporary folder and is renamed into place after a
  marker listing its file count and bytes is written; a cache entry whose marker
  is missing or disagrees with the files is re-extracted;
- a cached download is re-hashed before every use, so a file damaged in the cache
  is fetched again rather than trusted;
- ``RMBUILD_OFFLINE=1`` forbids network access: only the cache is used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from . import fsutil, lock, paths, ui
from .lock import Artifact
from .ui import BuildError

OFFLINE_ENV = "RMBUILD_OFFLINE"
PYPI_SIMPLE_ENV = "RMBUILD_PYPI_SIMPLE_URL"
DEFAULT_PYPI_SIMPLE = "https://pypi.org/simple"
# debian-source: files of Debian source packages (an .orig.tar.*), straight from the pool
DEBIAN_MIRROR_ENV = "RMBUILD_DEBIAN_MIRROR"
DEFAULT_DEBIAN_MIRROR = "https://deb.debian.org/debian"
MARKER = ".rmbuild-extracted.json"
_CHUNK = 1 << 20


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def _check_file(artifact: Artifact, path: Path) -> str | None:
    """Return None if ``path`` is exactly the locked file, else what is wrong."""
    size = path.stat().st_size
    if artifact.size is not None and size != artifact.size:
        return f"size is {size} bytes, the lock pins {artifact.size} (truncated or different file)"
    actual = fsutil.sha256_file(path)
    if actual != artifact.sha256:
        return f"sha256 is {actual}, the lock pins {artifact.sha256}"
    return None


# ---------------------------------------------------------------------------
# registries


def _http_download(url: str, dest: Path, label: str, expected_size: int | None) -> None:
    attempts = 3
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response, dest.open("wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or expected_size
                progress = ui.Progress(label, total)
                for block in iter(lambda: response.read(_CHUNK), b""):
                    out.write(block)
                    progress.advance(len(block))
                progress.finish()
            return
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt == attempts:
                raise BuildError(f"could not download {url}: {exc}") from exc
            ui.warn(f"download failed ({exc}); retrying ({attempt}/{attempts - 1})")
            time.sleep(2 * attempt)


def _pypi_url(artifact: Artifact) -> str:
    base = os.environ.get(PYPI_SIMPLE_ENV, DEFAULT_PYPI_SIMPLE).rstrip("/")
    request = urllib.request.Request(
        f"{base}/{artifact.package}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            index = json.load(response)
    except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
        raise BuildError(f"could not read the PyPI index for {artifact.package}: {exc}") from exc
    for entry in index.get("files", []):
        if entry.get("filename") == artifact.filename:
            listed = entry.get("hashes", {}).get("sha256")
            if listed and listed != artifact.sha256:
                raise BuildError(
                    f"PyPI lists sha256 {listed} for {artifact.filename}, the lock pins "
                    f"{artifact.sha256}: refusing (has the file been replaced?)"
                )
            return entry["url"]
    raise BuildError(f"PyPI has no file {artifact.filename} for {artifact.package} (check the lock file)")


def _download_with_client(artifact: Artifact, workdir: Path) -> Path:
    """npm and Debian go through their own clients, which pick the registry mirror."""
    if artifact.registry == "npm":
        cmd = ["npm", "pack", f"{artifact.package}@{artifact.version}", "--pack-destination", str(workdir)]
    elif artifact.registry == "debian":
        cmd = ["apt-get", "download", f"{artifact.package}={artifact.version}"]
    else:
        raise AssertionError(artifact.registry)
    ui.run(cmd, cwd=workdir, capture=True, what=f"{cmd[0]} (fetching {artifact.spec})")
    produced = [p for p in workdir.iterdir() if p.is_file()]
    if len(produced) != 1:
        raise BuildError(f"{cmd[0]} produced {len(produced)} files for {artifact.spec}, expected one")
    return produced[0]


def _download(artifact: Artifact, final: Path) -> None:
    """Download into a .part file next to ``final``, verify, then rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(f".{final.name}.part-{os.getpid()}")
    label = f"{artifact.filename}"
    try:
        if artifact.registry == "pypi":
            _http_download(_pypi_url(artifact), part, label, artifact.size)
        elif artifact.registry == "crate":
            url = f"https://static.crates.io/crates/{artifact.package}/{artifact.package}-{artifact.version}.crate"
            _http_download(url, part, label, artifact.size)
        elif artifact.registry == "debian-source":
            # No client needed (apt-get source would unpack and patch): the pool file by URL,
            # verified below against the lock's sha256 like every download.
            mirror = os.environ.get(DEBIAN_MIRROR_ENV, DEFAULT_DEBIAN_MIRROR).rstrip("/")
            _http_download(f"{mirror}/{artifact.pool_path}", part, label, artifact.size)
        else:
            with tempfile.TemporaryDirectory(dir=final.parent) as work:
                shutil.move(_download_with_client(artifact, Path(work)), part)
        problem = _check_file(artifact, part)
        if problem:
            raise BuildError(f"downloaded {artifact.filename} does not match the lock: {problem}. Refusing it.")
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)


def download(artifact: Artifact) -> Path:
    """The verified archive of ``artifact`` in the cache, downloading it if needed."""
    final = paths.downloads_dir() / artifact.sha256 / artifact.filename
    if final.exists():
        problem = _check_file(artifact, final)
        if problem is None:
            return final
        ui.warn(f"cached {artifact.filename} is damaged ({problem}); fetching it again")
        final.unlink()
    if _offline():
        raise BuildError(f"{artifact.spec} is not in the cache and {OFFLINE_ENV} is set")
    ui.step(f"fetching {artifact.spec}")
    _download(artifact, final)
    ui.ok(f"{artifact.filename} verified (sha256 {artifact.sha256[:16]}…)")
    return final


# ---------------------------------------------------------------------------
# extraction


def _relative(name: str, subdir: str | None) -> str | None:
    """Path of archive member ``name`` inside the entry, or None to skip it."""
    if name.startswith("./"):
        name = name[2:]
    if subdir is None:
        return name
    prefix = subdir + "/"
    if name.startswith(prefix) and len(name) > len(prefix):
        return name[len(prefix) :]
    return None


def _extract_tar(archive: tarfile.TarFile, dest: Path, subdir: str | None, label: str) -> None:
    members = []
    for member in archive.getmembers():
        rel = _relative(member.name, subdir)
        if rel is None:
            continue
        member.name = rel
        if member.islnk():
            linked = _relative(member.linkname, subdir)
            if linked is None:
                continue
            member.linkname = linked
        members.append(member)
    progress = ui.Progress(f"extracting {label}", sum(m.size for m in members))
    for member in members:
        # The "data" filter refuses absolute paths, links leaving dest and devices.
        archive.extract(member, dest, filter="data")
        progress.advance(member.size)
    progress.finish()


def _extract_zip(archive: zipfile.ZipFile, dest: Path, subdir: str | None, label: str) -> None:
    infos = [(i, _relative(i.filename, subdir)) for i in archive.infolist()]
    infos = [(i, rel) for i, rel in infos if rel]
    progress = ui.Progress(f"extracting {label}", sum(i.file_size for i, _ in infos))
    root = dest.resolve()
    for info, rel in infos:
        target = (dest / rel).resolve()
        if root not in target.parents:
            raise BuildError(f"{label}: member {info.filename!r} would extract outside the cache entry")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
        progress.advance(info.file_size)
    progress.finish()


def _unpack(artifact: Artifact, archive_path: Path, dest: Path) -> None:
    label = artifact.filename
    name = archive_path.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive_path) as zf:
            _extract_zip(zf, dest, artifact.subdir, label)
    elif name.endswith(".deb"):
        # A .deb is an ar archive; dpkg-deb hands us its data tarball on a pipe.
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(archive_path)], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as tf:
            # Stream mode cannot list members first: extract as they come.
            for member in tf:
                rel = _relative(member.name, artifact.subdir)
                if rel:
                    member.name = rel
                    tf.extract(member, dest, filter="data")
        if proc.wait() != 0:
            raise BuildError(f"dpkg-deb could not read {label}")
    else:
        try:
            with tarfile.open(archive_path) as tf:
                _extract_tar(tf, dest, artifact.subdir, label)
        except tarfile.TarError as exc:
            raise BuildError(f"{label} is not a readable archive: {exc}") from exc


def _inventory(root: Path) -> dict[str, int]:
    files = 0
    total = 0
    for dirpath, _dirs, filenames in os.walk(root):
        for fname in filenames:
            if dirpath == str(root) and fname == MARKER:
                continue
            path = Path(dirpath, fname)
            files += 1
            total += path.lstat().st_size
    return {"files": files, "bytes": total}


def _entry_is_complete(artifact: Artifact, entry: Path) -> bool:
    marker = entry / MARKER
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if recorded.get("sha256") != artifact.sha256 or recorded.get("subdir") != artifact.subdir:
        return False
    inventory = _inventory(entry)
    return recorded.get("files") == inventory["files"] and recorded.get("bytes") == inventory["bytes"]


def entry_dir(artifact: Artifact) -> Path:
    return paths.extracted_dir() / f"{artifact.name}-{artifact.sha256[:16]}"


def fetch(name_or_artifact: str | Artifact, lock_file: Path | None = None) -> Path:
    """Folder holding the verified, extracted artifact; fetches what is missing."""
    artifact = name_or_artifact if isinstance(name_or_artifact, Artifact) else lock.get(name_or_artifact, lock_file)
    entry = entry_dir(artifact)
    with fsutil.file_lock(paths.locks_dir() / f"{artifact.name}.lock"):
        if _entry_is_complete(artifact, entry):
            return entry
        archive = download(artifact)
        if entry.exists():
            ui.warn(f"cache entry {entry} is incomplete or altered; extracting it again")
        with fsutil.atomic_dir(entry) as tmp:
            _unpack(artifact, archive, tmp)
            inventory = _inventory(tmp)
            if inventory["files"] == 0:
                where = f"folder {artifact.subdir!r} of " if artifact.subdir else ""
                raise BuildError(f"nothing extracted from {where}{artifact.filename}: check `subdir` in the lock")
            marker = {"sha256": artifact.sha256, "subdir": artifact.subdir, **inventory}
            (tmp / MARKER).write_text(json.dumps(marker, indent=1))
        ui.ok(f"{artifact.name}: {inventory['files']} files in {entry}")
        return entry


def status(lock_file: Path | None = None) -> list[tuple[Artifact, str]]:
    """Each locked artifact with its cache state: extracted, downloaded or missing."""
    result = []
    for artifact in lock.load(lock_file).values():
        if _entry_is_complete(artifact, entry_dir(artifact)):
            state = f"extracted: {entry_dir(artifact)}"
        elif (paths.downloads_dir() / artifact.sha256 / artifact.filename).exists():
            state = "downloaded, not extracted"
        else:
            state = "missing"
        result.append((artifact, state))
    return result


def fetch_command(args) -> None:
    """The fetch phase: every locked artifact (or those named), verified and extracted."""
    for name in args.extra or list(lock.load()):
        print(fetch(name))


def list_command(args) -> None:
    for artifact, state in status():
        print(f"{artifact.name:<24} {artifact.spec}\n{'':<24} {state}")
