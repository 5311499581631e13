"""The peers benchmark's pieces (``rmbuild/checks/peers_bench.py``): its word error rate, and
every peer pinned, installed and giving the known jfk.wav words. No timings here: the
numbers are ``nox -s peers_bench``'s."""

from __future__ import annotations

import json
import math

import pytest

from rmbuild.build import whisper
from rmbuild.checks import peers_bench as pb
from rmbuild.core import artifacts, lock, ui

JFK = whisper.normalise(whisper.JFK_TEXT)


def test_wer_is_zero_for_the_same_words_in_another_case_and_punctuation() -> None:
    assert pb.wer(whisper.JFK_TEXT, whisper.JFK_TEXT.upper().replace(",", " ").replace(".", "!")) == 0.0


@pytest.mark.parametrize(
    ("hypothesis", "errors"),
    [
        ("a b c d", 0),
        ("a x c d", 1),  # substitution
        ("a b c d e", 1),  # insertion
        ("a c d", 1),  # deletion
        ("d c b a", 4),  # order matters: two words swap = two substitutions, twice
        ("", 4),
        ("x y", 4),  # 2 substitutions + 2 deletions
    ],
)
def test_word_errors_is_the_word_level_levenshtein_distance(hypothesis: str, errors: int) -> None:
    assert pb.word_errors("a b c d", hypothesis) == (errors, 4)


def test_wer_is_errors_over_reference_words_and_needs_a_reference() -> None:
    assert pb.wer("one two three four", "one two three") == 0.25
    assert pb.wer("one two", "one two three four") == 1.0  # insertions can exceed 100 % together
    assert pb.pooled_wer([{"audio": "jfk.wav", "text": whisper.JFK_TEXT}, {"audio": "third.wav", "text": ""}]) == round(
        len(whisper.normalise(whisper.THIRD_TEXT).split())
        / (len(JFK.split()) + len(whisper.normalise(whisper.THIRD_TEXT).split())),
        4,
    )
    with pytest.raises(ValueError, match="no words"):
        pb.wer(" ,. ", "anything")


def test_every_peer_is_pinned_exactly() -> None:
    assert pb.pinned() == {"faster-whisper": "1.2.1", "ctranslate2": "4.8.5"}
    package = json.loads((pb.PEERS_JS / "package.json").read_text())
    locked = json.loads((pb.PEERS_JS / "package-lock.json").read_text())["packages"]
    assert package["dependencies"] == {"pyodide": "314.0.8"}
    assert locked["node_modules/pyodide"]["version"] == "314.0.8"
    assert locked["node_modules/pyodide"]["integrity"].startswith("sha512-")
    assert lock.get(pb.CT2_MODEL).version == "0.1.0"  # the weights faster-whisper and our models share


@pytest.mark.network
@pytest.mark.parametrize(("compute_type", "beam"), [("int8", 5), ("float32", 1)])
def test_faster_whisper_gives_the_jfk_words(compute_type: str, beam: int) -> None:
    out = pb.faster_whisper_run(pb.peer_python(), artifacts.fetch(pb.CT2_MODEL), whisper.jfk_wav(), compute_type, beam)
    assert out["versions"] == pb.pinned()
    assert whisper.normalise(out["text"]) == JFK


@pytest.mark.network
def test_pyodide_is_the_locked_one_and_runs_the_bench_class(tmp_path) -> None:
    folder = pb.npm_ci()
    assert json.loads((folder / "package.json").read_text())["version"] == "314.0.8"
    config = {
        "peer": "pyodide",
        "counts": {"numbers": [1, 3], "audio": [1, 2]},
        "source": pb.PYTHON_SOURCE.read_text(),
        "klass": pb.PYTHON_CLASS,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = ui.run(["node", pb.PEERS_JS / "node-python.mjs", tmp_path / "config.json"], cwd=pb.PEERS_JS, capture=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["info"]["version"] == "314.0.8"
    number, level = out["first"]
    assert number == 4  # 3 * 1 + 1
    assert math.isclose(level, 0.5 / math.sqrt(2), rel_tol=1e-4)  # the RMS of a 0.5 sine
    assert out["perItem"]["numbers"]["last"] == 3 * (2 / 8) + 1


@pytest.mark.network
def test_whisper_cpp_emscripten_build_gives_the_jfk_words() -> None:
    build = pb.emscripten_build()  # a cached step: a few minutes the first time
    out = pb.emscripten_run(build, whisper.models()["q8_0"], whisper.jfk_wav())
    assert whisper.normalise(out["text"]) == JFK
    assert out["timings_ms"]["total"] > 0
