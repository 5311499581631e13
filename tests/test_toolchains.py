"""Tool probing (rmbuild/core/toolchains.py): what counts as an installed Debian package."""

from __future__ import annotations

import shutil

import pytest

from rmbuild.core import toolchains


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("install ok installed\t153.8.0esr-1~deb12u1", "153.8.0esr-1~deb12u1"),
        # dpkg knows of the package (it was removed, or only ever asked about): not installed.
        # A fresh Debian image had firefox-esr so, and the browser tests then failed for want of it.
        ("unknown ok not-installed\t", None),
        ("deinstall ok config-files\t2.36-9", None),
        ("install ok half-installed\t1.0", None),
        ("install ok installed\t", None),
        ("", None),
    ],
)
def test_a_package_is_installed_only_in_the_installed_state(line: str, version: str | None) -> None:
    assert toolchains.installed_version(line) == version


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system: no dpkg")
def test_dpkg_itself_is_installed_and_an_unknown_package_is_not() -> None:
    assert toolchains.debian_version("dpkg")
    assert toolchains.debian_version("no-such-package-rmbuild") is None
