"""Parity harness: the seeded quick corpus is identical on native and wasm, and
the harness itself finds and locates differences."""

from __future__ import annotations

import json
import math
import struct

import pytest

from rmbuild.checks import parity
from rmbuild.run.outcome import Outcome


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


def test_corpus_has_the_determinism_cases():
    python = {c.name: c for c in parity.corpus(quick=True) if c.kind == "python"}
    for name in ("set-dict-order", "set-str-order", "random-int-str-seeds", "random-float-seeds"):
        assert python[f"python/{name}"].repeat == 2, name
    for name in ("hash-widths", "hash-portable"):
        assert python[f"python/{name}"].repeat == 2, name
    # every documented difference is a case of the corpus, and differs
    assert set(parity.DOCUMENTED_DIFFERENCES) <= set(python)
    for name, doc in parity.DOCUMENTED_DIFFERENCES.items():
        assert doc.native != doc.wasm, name
        assert doc.native.endswith("\n") and doc.wasm.endswith("\n"), name
        json.loads(doc.native), json.loads(doc.wasm)


def _outcome(stdout: str, code: int = 0, stderr: bytes = b"") -> Outcome:
    return Outcome(code, stdout.encode(), stderr, 0.0)


def test_a_documented_difference_must_be_exactly_what_is_documented():
    doc = parity.Documented("why", native='{"outputs":{"out":[1]}}\n', wasm='{"outputs":{"out":[2]}}\n')

    def verdict(native: Outcome, wasm: Outcome, expected: parity.Documented = doc) -> parity.Verdict:
        v = parity.Verdict("python/x", "python", identical=True, exit_code=0, targets=["native", "wasmtime"])
        parity._check_documented(v, expected, native, {"wasmtime": wasm})
        return v

    ok = verdict(_outcome(doc.native), _outcome(doc.wasm))
    assert ok.documented == "why" and not ok.identical and ok.difference is None
    assert list(parity.iter_failures([ok])) == []
    # another wasm output, another native output, an error, stderr: failures
    for native, wasm in [
        (_outcome(doc.native), _outcome('{"outputs":{"out":[3]}}\n')),
        (_outcome(doc.wasm), _outcome(doc.wasm)),
        (_outcome(doc.native), _outcome("", code=3, stderr=b"error: boom\n")),
        (_outcome(doc.native), _outcome(doc.wasm, stderr=b"warning\n")),
    ]:
        bad = verdict(native, wasm)
        assert bad.documented is None and bad.difference, (native, wasm)
        assert list(parity.iter_failures([bad])) == [bad]
    # a documented difference that stopped differing fails too
    same = parity.Documented("why", native=doc.native, wasm=doc.native)
    stopped = verdict(_outcome(doc.native), _outcome(doc.native), same)
    assert stopped.documented is None and "must differ" in stopped.difference["what"]


@pytest.fixture(scope="module")
def quick_verdicts():
    return parity.run_corpus(parity.corpus(quick=True))


def test_quick_corpus_is_identical_on_native_and_wasm(quick_verdicts):
    summary = parity.summarise(quick_verdicts)
    failing = list(parity.iter_failures(quick_verdicts))
    assert not failing, parity.table(summary, quick_verdicts)
    assert summary["manifests"] == len(quick_verdicts) > 200
    assert summary["node_wasi_runs"] >= 4  # the examples also ran under node:wasi
    # exactly the documented differences differ, each exactly as documented
    documented = {v.case for v in quick_verdicts if v.documented}
    assert documented == set(parity.DOCUMENTED_DIFFERENCES)
    assert summary["identical"] == summary["manifests"] - len(documented)


def test_determinism_cases_print_the_same_bytes_run_to_run(quick_verdicts):
    repeated = {v.case: v for v in quick_verdicts if v.repeat_identical is not None}
    assert {f"python/{n}" for n in parity.REPEATED_PYTHON_SOURCES} == set(repeated)
    assert all(v.repeat_identical for v in repeated.values()), repeated
    # the portable ones are equal native vs wasm, the others exactly documented
    assert repeated["python/set-dict-order"].identical
    assert repeated["python/random-int-str-seeds"].identical
    assert repeated["python/hash-portable"].identical


def test_error_parity_covers_every_bad_manifest(quick_verdicts):
    invalid = [v for v in quick_verdicts if v.kind == "invalid"]
    assert len(invalid) == len(list(parity.BAD_MANIFESTS.glob("*.json")))
    assert all(v.exit_code in (1, 2, 3, 4) for v in invalid)
    generated = [v for v in quick_verdicts if v.kind == "generated"]
    # the random DAGs exercise both results and run-time errors (overflow, audio mixing)
    assert any(v.exit_code == 0 for v in generated)
    assert any(v.exit_code == 3 for v in generated)
