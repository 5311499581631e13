"""Parity harness: the seeded quick corpus is identical on native and wasm, and
the harness itself finds and locates differences."""

from __future__ import annotations

import json
import math
import struct

import pytest

from rmbuild.checks import parity


def test_ulp_distance_matches_nextafter():
    x = 1.0
    for steps in range(1, 5):
        y = x
        for _ in range(steps):
            y = math.nextafter(y, math.inf)
        assert parity.ulp_distance(x, y) == steps
    # across zero: -0.0 and 0.0 are the same place, the subnormals are one apart
    assert parity.ulp_distance(-0.0, 0.0) == 0
    assert parity.ulp_distance(-5e-324, 5e-324) == 2
    assert parity.ulp_distance(math.inf, 1.0) is None


def test_first_difference_reports_path_and_ulps():
    a = {"outputs": {"out": [1, 2.718281828459045, {"k": "v"}]}}
    b = {"outputs": {"out": [1, 2.7182818284590455, {"k": "v"}]}}
    diff = parity.first_difference(a, b)
    assert diff == {
        "path": "$.outputs.out[1]",
        "native": a["outputs"]["out"][1],
        "wasm": b["outputs"]["out"][1],
        "ulp": 1,
    }
    # -0.0 vs 0.0 compare equal in Python but not as bits: it is a difference
    assert parity.first_difference([0.0], [-0.0])["path"] == "$[0]"
    assert parity.first_difference({"a": 1, "b": 2}, {"b": 2, "a": 1})["why"] == "different keys"
    assert parity.first_difference([1, 2], [1, 2, 3])["why"] == "different lengths"
    assert parity.first_difference([1], [1.0])["why"] == "int vs float"
    assert parity.first_difference(a, json.loads(json.dumps(a))) is None


def test_generated_corpus_is_reproducible_and_acyclic():
    first = parity.generated_cases(60, seed=7)
    again = parity.generated_cases(60, seed=7)
    other = parity.generated_cases(60, seed=8)
    assert [c.manifest for c in first] == [c.manifest for c in again]
    assert [c.manifest for c in first] != [c.manifest for c in other]
    assert len({c.manifest for c in first}) == 60
    for case in first:
        manifest = json.loads(case.manifest)
        order = {node["id"]: i for i, node in enumerate(manifest["nodes"])}
        assert all(order[e["from"]] < order[e["to"]] for e in manifest["connections"])


def test_corpus_covers_what_the_issue_names():
    cases = parity.corpus(quick=True)
    kinds = {c.kind for c in cases}
    assert kinds == {"example", "edge", "audio", "python", "invalid", "generated"}
    text = " ".join(c.manifest for c in cases if c.kind == "edge")
    for needle in ('"NaN"', '"inf"', '"-inf"', "-0.0", "5e-324", "9223372036854775807"):
        assert needle in text
    # Python float math through every replaced libm function (runtime/src/libm_exports.rs)
    assert {"python/float-math", "python/libm-sweep"} <= {c.name for c in cases if c.uses_libm}
    ratios = {c.name for c in cases if c.kind == "audio"}
    assert len(ratios) >= 5
    # an audio input really carries little-endian f32 samples
    audio = json.loads(next(c for c in cases if c.kind == "audio").manifest)["inputs"][0]["$audio"]
    import base64

    samples = struct.unpack(f"<{len(base64.b64decode(audio['data_b64'])) // 4}f", base64.b64decode(audio["data_b64"]))
    assert any(abs(s) > 0.1 for s in samples)


@pytest.fixture(scope="module")
def quick_verdicts():
    return parity.run_corpus(parity.corpus(quick=True))


def test_quick_corpus_is_identical_on_native_and_wasm(quick_verdicts):
    summary = parity.summarise(quick_verdicts)
    failing = list(parity.iter_failures(quick_verdicts))
    assert not failing, parity.table(summary, quick_verdicts)
    assert summary["manifests"] == len(quick_verdicts) > 200
    assert summary["node_wasi_runs"] >= 4  # the examples also ran under node:wasi


def test_error_parity_covers_every_bad_manifest(quick_verdicts):
    invalid = [v for v in quick_verdicts if v.kind == "invalid"]
    assert len(invalid) == len(list(parity.BAD_MANIFESTS.glob("*.json")))
    assert all(v.exit_code in (1, 2, 3, 4) for v in invalid)
    generated = [v for v in quick_verdicts if v.kind == "generated"]
    # the random DAGs exercise both results and run-time errors (overflow, audio mixing)
    assert any(v.exit_code == 0 for v in generated)
    assert any(v.exit_code == 3 for v in generated)
