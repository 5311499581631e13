"""The ``debian-source`` registry kind: a file of a Debian source package fetched by URL
from the pool (deb.debian.org, the real registry), verified by sha256 like every artifact.
A small file of the python3.11 source package (its .dsc) keeps the download short."""

from __future__ import annotations

import pytest

from rmbuild.core import artifacts, lock
from rmbuild.core.ui import BuildError

DSC = {
    "registry": "debian-source",
    "package": "python3.11",
    "version": "3.11.2-6+deb12u6",
    "filename": "python3.11_3.11.2-6+deb12u6.dsc",
    "sha256": "69294da4e6f6551a48924610fb9f660f03e0c52f9d653afac27a18e4b05ca7f0",
    "size": 3643,
    "purpose": "test",
}


def _lock(tmp_path, **changes) -> lock.Artifact:
    entry = {**DSC, **changes}
    body = "[artifacts.dsc]\n" + "".join(
        f"{k} = {v}\n" if isinstance(v, int) else f'{k} = "{v}"\n' for k, v in entry.items()
    )
    path = tmp_path / "lock.toml"
    path.write_text(body)
    return lock.get("dsc", path)


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RMBUILD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(artifacts.OFFLINE_ENV, raising=False)


def test_pool_paths():
    art = _lock_free("python3.11")
    assert art.pool_path == "pool/main/p/python3.11/python3.11_3.11.2-6+deb12u6.dsc"
    assert _lock_free("libzstd").pool_path == "pool/main/libz/libzstd/python3.11_3.11.2-6+deb12u6.dsc"


def _lock_free(package: str) -> lock.Artifact:
    return lock.Artifact("x", "debian-source", package, "1", DSC["filename"], DSC["sha256"], "test")


def test_a_pool_file_is_fetched_and_verified(tmp_path, own_cache):
    path = artifacts.download(_lock(tmp_path))
    assert path.read_bytes().startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
    assert "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849" in path.read_text()  # the orig tarball


def test_a_pool_file_with_another_hash_is_refused(tmp_path, own_cache):
    bad = _lock(tmp_path, sha256="0" * 64)
    with pytest.raises(BuildError, match="does not match the lock"):
        artifacts.download(bad)
    assert not list((tmp_path / "cache" / "downloads").rglob("*.dsc"))
