"""The numpy bench's Pyodide part (``rmbuild/checks/numpy_bench.py``): Pyodide runs the list-based
node of our manifests and gives our native executor's bytes, in Node and in Chromium; the
report's shape is checked before anything is written. No timings here: the numbers are
``nox -s numpy_bench``'s."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import struct

import pytest

from rmbuild.build import native
from rmbuild.checks import numpy_bench as nb
from rmbuild.checks import peers_bench as pb
from rmbuild.core.ui import BuildError
from rmbuild.run import executor


def _short_item() -> tuple[list[float], dict]:
    """0.1 s of the bench's signal (its first 1,600 samples)."""
    n = nb.SECONDS * nb.RATE
    samples = [
        0.5 * math.sin(2 * math.pi * (200 + 3800 * i / n / 2) * i / nb.RATE)
        + 0.2 * math.sin(2 * math.pi * 5000 * i / nb.RATE)
        for i in range(1600)
    ]
    return samples, nb.audio_item(samples)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """Our list pipeline on the short item natively, and the Pyodide cases of the same manifests."""
    samples, item = _short_item()
    folder = tmp_path_factory.mktemp("numpy-bench")
    cases = nb.manifests()
    (folder / "list.json").write_text(json.dumps(cases["list"]))
    (folder / "item.json").write_text(json.dumps([item]))
    out = native.host().run(executor.run_args(folder / "list.json", folder / "item.json"), dirs=[folder], timeout=300)
    native_list = nb.audio_sha256(out.check("native list pipeline").stdout)
    pb.npm_ci()
    return samples, native_list, nb.pyodide_cases(cases, item)


def test_the_pyodide_cases_are_our_manifests_nodes(short_run) -> None:
    _, _, cases = short_run
    assert set(cases) == set(nb.PYODIDE_CASES)
    assert cases["list"]["klass"] == ["GainList", "BiquadList"]
    assert cases["list"]["init"] == [{"gain_db": -3.0}, {}]
    assert cases["list"]["source"] == (nb.PY / "audio_lists.py").read_text()
    assert cases["pass-list"]["klass"] == ["Pass"]


@pytest.mark.network
@pytest.mark.parametrize("host", nb.PYODIDE_HOSTS)
def test_pyodide_runs_the_list_node_to_our_native_bytes(short_run, host) -> None:
    samples, native_list, cases = short_run
    raw = nb.pyodide_node(cases, 1) if host == "node" else nb.pyodide_chromium(cases, 1)
    pb.check_pyodide_ran(raw["info"])
    assert raw["info"]["version"] == "314.0.8"
    assert raw["runs"]["list"]["sha256"] == native_list
    # the pass-through gives back the input's float32 bytes: the digests are of the samples
    assert raw["runs"]["pass-list"]["sha256"] == [
        hashlib.sha256(struct.pack(f"<{len(samples)}f", *samples)).hexdigest()
    ]
    assert raw["runs"]["pass-list"]["sha256"] != native_list


def test_the_numpy_wheel_pyodide_would_fetch_is_named_in_its_lock_without_a_size() -> None:
    wheel = nb.numpy_wheel_in_lock(pb.npm_ci())
    assert wheel["file_name"] == "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert wheel["in_npm_package"] is False
    assert wheel["size_in_lock"] is None  # hence the published figure from outside
    assert nb.PYODIDE_NUMPY_PUBLISHED["url"].startswith("https://anaconda.org/")


def test_audio_sha256_needs_output_audio() -> None:
    with pytest.raises(BuildError, match="no output audio"):
        nb.audio_sha256(b'{"outputs": {"out": [1]}}')


# ---------------------------------------------------------------------------
# the report's shape: a report made here, right, then broken one way at a time


def _valid_report() -> dict:
    runs = {h: {c: {"run_seconds": 1.0} for c in nb.CASES} for h in nb.OUR_HOSTS}
    for h in nb.OUR_HOSTS:
        runs[h]["list"]["node_seconds"] = runs[h]["numpy"]["node_seconds"] = 0.5
    pyodide_host = {
        "startup_s": 2.0,
        "runs": {"list": {"run_seconds": 3.0, "node_seconds": 2.5}, "pass-list": {"run_seconds": 0.5}},
        "sha256": {"list": ["a" * 64], "pass-list": ["b" * 64]},
    }
    same = {h: True for h in nb.OUR_HOSTS}
    same |= {"native == wasmtime (numpy)": True, "native == chromium (numpy)": True}
    same |= {f"native == Pyodide {h} (list)": True for h in nb.PYODIDE_HOSTS}
    return {
        "runs": runs,
        "pyodide": {
            **{h: copy.deepcopy(pyodide_host) for h in nb.PYODIDE_HOSTS},
            "download": {"total_bytes": 6_000_000},
            "numpy_published": nb.PYODIDE_NUMPY_PUBLISHED,
        },
        "identical_outputs": same,
    }


def _broken(change) -> list[str]:
    report = _valid_report()
    change(report)
    return nb.report_problems(report)


def test_a_complete_report_is_valid() -> None:
    assert nb.report_problems(_valid_report()) == []
    nb.validate(_valid_report())


def test_missing_rows_bad_numbers_and_differing_outputs_are_named() -> None:
    assert _broken(lambda r: r["runs"]["wasmtime"].pop("pass-numpy")) == ["runs: no pass-numpy in wasmtime"]
    assert _broken(lambda r: r["runs"]["native"]["list"].update(run_seconds=float("nan"))) == [
        "native list: run_seconds nan"
    ]
    assert _broken(lambda r: r["pyodide"].pop("chromium")) == ["pyodide: no chromium"]
    assert _broken(lambda r: r["pyodide"]["node"].update(startup_s=0)) == ["pyodide node: startup_s 0"]
    assert _broken(lambda r: r["pyodide"]["node"]["sha256"].update(list=[])) == [
        "pyodide node list: not one output digest: []"
    ]
    assert _broken(lambda r: r["pyodide"].update(numpy_published={})) == [
        "pyodide: no published numpy size with its URL"
    ]
    assert _broken(lambda r: r["identical_outputs"].update({"native == Pyodide chromium (list)": False})) == [
        "outputs differ: ['native == Pyodide chromium (list)']"
    ]
    problems = _broken(lambda r: r.pop("pyodide"))
    assert problems == ["no pyodide part"]
    with pytest.raises(BuildError, match="not valid:\n  no pyodide part"):
        nb.validate({k: v for k, v in _valid_report().items() if k != "pyodide"})
