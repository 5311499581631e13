"""The peers benchmark's pieces (``rmbuild/checks/peers_bench.py``): its word error rate, and
every peer pinned, installed and giving the known jfk.wav words. No timings here: the
numbers are ``nox -s peers_bench``'s."""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rmbuild.build import whisper
from rmbuild.checks import peers_bench as pb
from rmbuild.core import artifacts, fsutil, lock, paths
from rmbuild.core.ui import BuildError

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
    assert pb.pinned() == {
        "faster-whisper": "1.2.1",
        "ctranslate2": "4.8.5",
        "av": "18.1.0",
        "tokenizers": "0.23.3",
        "onnxruntime": "1.32.0",
        "huggingface-hub": "2.4.0",
    }
    package = json.loads((pb.PEERS_JS / "package.json").read_text())
    locked = json.loads((pb.PEERS_JS / "package-lock.json").read_text())["packages"]
    assert package["dependencies"] == {"pyodide": "314.0.8"}
    assert locked["node_modules/pyodide"]["version"] == "314.0.8"
    assert locked["node_modules/pyodide"]["integrity"].startswith("sha512-")
    assert lock.get(pb.CT2_MODEL).version == "0.1.0"  # the weights faster-whisper and our models share


def test_a_different_or_missing_version_of_a_peer_fails_naming_both() -> None:
    pins = {"faster-whisper": "1.2.1", "ctranslate2": "4.8.5"}
    pb.check_versions("peer", {"faster-whisper": "1.2.1", "ctranslate2": "4.8.5", "extra": "1"}, pins)
    with pytest.raises(BuildError, match=r"found ctranslate2 4\.7\.0; the pins say ctranslate2 4\.8\.5"):
        pb.check_versions("peer", {"faster-whisper": "1.2.1", "ctranslate2": "4.7.0"}, pins)
    with pytest.raises(BuildError, match="found faster-whisper missing"):
        pb.check_versions("peer", {"ctranslate2": "4.8.5"}, pins)


def test_a_peer_not_pinned_with_double_equals_fails(tmp_path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[dependency-groups]\npeers = ["faster-whisper>=1.2", "ctranslate2==4.8.5"]\n'
    )
    monkeypatch.setattr(paths, "PYPROJECT", tmp_path / "pyproject.toml")
    with pytest.raises(BuildError, match=re.escape("'faster-whisper>=1.2' is not pinned with ==")):
        pb.pinned()


def _peers_copy(tmp_path: Path, monkeypatch, pyodide_installed: str | None) -> Path:
    """bench/peers's package.json and lock in a temporary folder, with node_modules marked as
    installed from that lock (so npm_ci does not run npm) holding ``pyodide_installed``."""
    folder = tmp_path / "peers"
    folder.mkdir()
    for name in ("package.json", "package-lock.json"):
        (folder / name).write_bytes((pb.PEERS_JS / name).read_bytes())
    modules = folder / "node_modules"
    (modules / "pyodide").mkdir(parents=True)
    (modules / ".rmbuild-lock-sha256").write_text(fsutil.sha256_file(folder / "package-lock.json") + "\n")
    if pyodide_installed is not None:
        (modules / "pyodide" / "package.json").write_text(json.dumps({"version": pyodide_installed}))
    monkeypatch.setattr(pb, "PEERS_JS", folder)
    return folder


def test_an_installed_pyodide_other_than_the_locked_one_fails(tmp_path, monkeypatch) -> None:
    _peers_copy(tmp_path, monkeypatch, "0.26.0")
    with pytest.raises(BuildError, match=r"found pyodide 0\.26\.0; the pins say pyodide 314\.0\.8"):
        pb.npm_ci()


def test_a_missing_pyodide_fails(tmp_path, monkeypatch) -> None:
    _peers_copy(tmp_path, monkeypatch, None)
    with pytest.raises(BuildError, match="found pyodide missing"):
        pb.npm_ci()


def test_package_json_and_its_lock_must_agree(tmp_path, monkeypatch) -> None:
    folder = _peers_copy(tmp_path, monkeypatch, "314.0.8")
    assert pb.npm_ci() == folder / "node_modules" / "pyodide"  # as copied: they agree
    (folder / "package.json").write_text(json.dumps({"dependencies": {"pyodide": "314.0.7"}}))
    with pytest.raises(BuildError, match=re.escape("package.json pins pyodide 314.0.7, package-lock.json has 314.0.8")):
        pb.npm_ci()


def test_a_pyodide_sample_of_another_version_fails() -> None:
    sample = {"info": {"version": "0.27.1"}, "coldMs": 1, "warmMs": 1, "first": [], "perItem": {}}
    with pytest.raises(BuildError, match=r"found pyodide 0\.27\.1"):
        pb._python_summary("pyodide", [sample])
    with pytest.raises(BuildError, match="no samples"):
        pb._python_summary("ours", [])


def test_per_item_times_through_sessions_must_give_what_runs_give() -> None:
    def per_item(same: bool, same_many: bool = True) -> dict:
        kinds = {"numbers": (2.0, 1.5, 1.25), "audio": (3000.0, 2500.0, 2250.0)}
        return {
            k: {
                "us_per_item": us,
                "last": 1,
                "session": {"us_per_item": s_us, "same_as_run": same},
                "sessionMany": {"us_per_item": many_us, "batch": 50, "same_as_run": same_many},
            }
            for k, (us, s_us, many_us) in kinds.items()
        }

    sample = {"info": {}, "coldMs": 700, "warmMs": 70, "first": [4, 0.35], "perItem": per_item(True)}
    out = pb._python_summary("ours", [sample])
    numbers = ("us_per_number", "session_us_per_number", "session_many_us_per_number")
    audio = ("ms_per_audio_second", "session_ms_per_audio_second", "session_many_ms_per_audio_second")
    assert [out[k] for k in numbers] == [2.0, 1.5, 1.25]
    assert [out[k] for k in audio] == [3.0, 2.5, 2.25]
    sample["perItem"] = per_item(False)
    with pytest.raises(BuildError, match="ours: the outputs of a session of numbers differ from a run's"):
        pb._python_summary("ours", [sample])
    sample["perItem"] = per_item(True, same_many=False)
    with pytest.raises(BuildError, match="ours: the outputs of a sessionMany of numbers differ from a run's"):
        pb._python_summary("ours", [sample])


def test_faster_whisper_run_fails_loudly_in_a_python_without_the_peer(tmp_path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    with pytest.raises(BuildError, match=r"faster-whisper \(int8, beam 1\) failed on jfk\.wav:\n.*No module named"):
        pb.faster_whisper_run(str(tmp_path / "venv" / "bin" / "python"), tmp_path, Path("jfk.wav"), "int8", 1)


def _node_script(tmp_path: Path, body: str) -> list:
    """A Node script with bench/peers/node-result.mjs's writeResult imported (the real one)
    and RESULT, the file node_result reads; its command."""
    helper = (pb.PEERS_JS / "node-result.mjs").as_uri()
    script = tmp_path / "s.mjs"
    script.write_text(
        f'import {{ writeResult }} from "{helper}";\nconst RESULT = {json.dumps(str(tmp_path / "r.json"))};\n{body}\n'
    )
    return ["node", script]


@pytest.mark.parametrize(
    ("script", "grace", "expected"),
    [
        # stdout is not where the result is: whatever the script prints there does not matter
        ('console.log("{not the result"); await writeResult(RESULT, async () => ({a: 1}));', 20, ({"a": 1}, False)),
        # wrote its result, then never exits (what nodejs/node#54918's deadlock looks like)
        ("await writeResult(RESULT, async () => ({a: 2})); setInterval(() => {}, 1000);", 0.5, ({"a": 2}, True)),
    ],
)
def test_node_result_takes_the_result_file_and_ends_a_node_that_hangs_after_it(
    tmp_path, monkeypatch, script, grace, expected
) -> None:
    monkeypatch.setattr(pb, "NODE_EXIT_GRACE_S", grace)
    cmd = _node_script(tmp_path, script)
    assert pb.node_result(cmd, tmp_path / "r.json", cwd=tmp_path, what="s") == expected


@pytest.mark.parametrize(
    ("script", "timeout", "message"),
    [
        ('console.log("{}"); process.exit(3);', 60, r"s: no result in \S+r\.json \(exit code 3\): node \S+s\.mjs$"),
        # the hang before the result: killed at the run's timeout, the command named
        ("setInterval(() => {}, 1000);", 1, r"s: no result in \S+r\.json after 1 s: killed .*: node \S+s\.mjs$"),
        ("await writeResult(RESULT, async () => ({a: 3})); process.exit(4);", 60, "s failed with exit code 4 after"),
        ('(await import("node:fs")).writeFileSync(RESULT, "{half");', 60, r"s: the result in \S+ is not JSON"),
        # a failing computation leaves no result
        ('await writeResult(RESULT, async () => { throw new Error("no"); });', 60, r"no result .*\(exit code 1\)"),
    ],
)
def test_node_result_fails_without_a_result_or_on_a_failing_exit(tmp_path, script, timeout, message) -> None:
    cmd = _node_script(tmp_path, script)
    (tmp_path / "r.json").write_text('{"stale": true}')  # a previous run's: never taken
    with pytest.raises(BuildError, match=message):
        pb.node_result(cmd, tmp_path / "r.json", cwd=tmp_path, what="s", timeout=timeout)


# the smallest module there is: \0asm, version 1
EMPTY_WASM = "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])"


def test_write_result_holds_the_loop_while_a_webassembly_compile_is_pending(tmp_path) -> None:
    """A pending WebAssembly.compile holds no handle (nodejs/node#36616): without one of its own
    the loop runs empty and Node 20 drains its platform's tasks on the main thread, where it can
    deadlock (nodejs/node#54918; seen in node-python.mjs before its result). writeResult keeps a
    timer referenced until the result is written, and no longer."""
    body = f"""
const during = await writeResult(RESULT, async () => {{
  await WebAssembly.compile({EMPTY_WASM});
  return process.getActiveResourcesInfo();
}});
await new Promise((resolve) => setImmediate(resolve));
console.error(JSON.stringify({{ during, after: process.getActiveResourcesInfo() }}));
"""
    cmd = _node_script(tmp_path, body)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "Timeout" in seen["during"]
    assert "Timeout" not in seen["after"]
    assert json.loads((tmp_path / "r.json").read_text()) == seen["during"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_node_python_needs_the_result_file_in_its_config(tmp_path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"peer": "pyodide", "counts": {}}))
    with pytest.raises(BuildError, match=r"no result in \S+r\.json \(exit code 1\): node \S+node-python\.mjs"):
        pb.node_result(
            ["node", pb.PEERS_JS / "node-python.mjs", tmp_path / "c.json"],
            tmp_path / "r.json",
            cwd=pb.PEERS_JS,
            what="node-python",
        )


# ---------------------------------------------------------------------------
# the report's schema: a report made here, right, then broken one way at a time


def _valid_report() -> dict:
    rows = [
        {
            "system": system,
            "setting": setting,
            "audio": audio,
            "audio_seconds": 11.0,
            "rtf": 0.5,
            "text": pb.TEXTS[audio],
            "wer": 0.0,
        }
        for system, setting, audio in sorted(pb.expected_speech_rows(True))
    ]
    python_peer = {
        "cold_start_s": 1.0,
        "warm_start_ms": 10.0,
        "us_per_number": 2.0,
        "ms_per_audio_second": 3.0,
        "first_outputs": [4, 0.35],
    }
    ours_sessions = {
        "session_us_per_number": 1.5,
        "session_ms_per_audio_second": 2.5,
        "session_many_us_per_number": 1.25,
        "session_many_ms_per_audio_second": 2.25,
    }
    return {
        "context": {"machine_summary": "here"},
        "speech": {
            "audio": {name: {"seconds": 11.0, "text": text} for name, text in pb.TEXTS.items()},
            "peers": {"whisper.cpp-emscripten": {"built": True}},
            "rows": rows,
            "summary": pb.speech_summary(rows),
        },
        "python": {
            "node": {"ours": dict(python_peer, **ours_sessions), "pyodide": dict(python_peer)},
            "chromium": {"ours": dict(python_peer, **ours_sessions), "pyodide": dict(python_peer)},
            "download": {"ours": {"total_bytes": 8_000_000}, "pyodide": {"total_bytes": 6_000_000}},
        },
    }


def test_the_expected_rows_are_every_host_model_setting_and_audio() -> None:
    rows = pb.expected_speech_rows(True)
    # ours: 4 hosts x 2 models x 2 settings; faster-whisper: 2 types x 2 settings; emscripten: 2 models, greedy
    assert len(rows) == 3 * (16 + 4 + 2)
    assert ("faster-whisper float32", "beam5", "third.wav") in rows
    assert ("ours chromium q8_0", "greedy", "long.wav") in rows
    assert ("whisper.cpp emscripten f16", "beam5", "jfk.wav") not in rows
    assert len(pb.expected_speech_rows(False)) == 3 * 20


def test_a_complete_report_is_valid() -> None:
    report = _valid_report()
    assert pb.report_problems(report) == []
    pb.validate(report)


def _broken(change) -> list[str]:
    report = copy.deepcopy(_valid_report())
    change(report)
    return pb.report_problems(report)


def test_a_missing_row_is_named() -> None:
    def drop(report):
        rows = report["speech"]["rows"]
        rows[:] = [r for r in rows if not (r["system"] == "faster-whisper float32" and r["audio"] == "long.wav")]
        report["speech"]["summary"] = pb.speech_summary(rows)

    problems = _broken(drop)
    assert problems == [
        "speech rows missing: [('faster-whisper float32', 'beam5', 'long.wav'), "
        "('faster-whisper float32', 'greedy', 'long.wav')]"
    ]
    report = _valid_report()
    drop(report)
    with pytest.raises(BuildError, match="not valid:\n  speech rows missing"):
        pb.validate(report)
    assert pb.report_problems({"context": {}}) == ["neither a speech nor a python part"]


@pytest.mark.parametrize("rtf", [float("nan"), float("inf"), 0, -1.0, None, "0.5", True])
def test_an_rtf_that_is_not_a_finite_positive_number_is_refused(rtf) -> None:
    problems = _broken(lambda r: r["speech"]["rows"][0].update(rtf=rtf))
    assert len(problems) == 1 and f"rtf {rtf!r}" in problems[0]


def test_a_wer_that_is_not_the_wer_of_the_rows_text_is_refused() -> None:
    problems = _broken(lambda r: r["speech"]["rows"][0].update(text="something else entirely"))
    assert len(problems) == 1 and "is not the WER of its text" in problems[0]


def test_a_duplicate_row_is_refused() -> None:
    problems = _broken(lambda r: r["speech"]["rows"].append(dict(r["speech"]["rows"][0])))
    assert len(problems) == 1 and problems[0].startswith("speech rows twice")


def test_emscripten_is_either_built_with_rows_or_not_built_with_its_error() -> None:
    def not_built(error):
        def change(report):
            report["speech"]["peers"]["whisper.cpp-emscripten"] = {"built": False, "error": error}
            rows = [r for r in report["speech"]["rows"] if not r["system"].startswith("whisper.cpp")]
            report["speech"]["rows"] = rows
            report["speech"]["summary"] = pb.speech_summary(rows)

        return change

    assert _broken(not_built("emcc: error: undefined symbol: foo")) == []
    assert _broken(not_built("  ")) == ["whisper.cpp-emscripten: not built, and no build error to say why"]
    # not built, yet rows: the rows are not expected
    problems = _broken(
        lambda r: r["speech"]["peers"].update({"whisper.cpp-emscripten": {"built": False, "error": "x"}})
    )
    assert len(problems) == 1 and problems[0].startswith("speech rows not expected: [('whisper.cpp emscripten f16'")
    problems = _broken(lambda r: r["speech"]["peers"].update({"whisper.cpp-emscripten": {}}))
    assert problems[0] == "whisper.cpp-emscripten: neither built nor a build error"


def test_python_peers_must_all_be_there_positive_and_agree() -> None:
    assert _broken(lambda r: r["python"]["chromium"].pop("pyodide")) == ["python: no pyodide in chromium"]
    problems = _broken(lambda r: r["python"]["node"]["ours"].update(us_per_number=-0.1))
    assert problems == ["python ours in node: not finite and positive: {'us_per_number': -0.1}"]
    problems = _broken(lambda r: r["python"]["chromium"]["ours"].pop("session_ms_per_audio_second"))
    assert problems == ["python ours in chromium: not finite and positive: {'session_ms_per_audio_second': None}"]
    problems = _broken(lambda r: r["python"]["node"]["ours"].pop("session_many_us_per_number"))
    assert problems == ["python ours in node: not finite and positive: {'session_many_us_per_number': None}"]
    problems = _broken(lambda r: r["python"]["node"]["pyodide"].update(first_outputs=[4, 0.36]))
    assert problems == ["python: the peers' first outputs differ in node"]
    problems = _broken(lambda r: r["python"]["download"].pop("ours"))
    assert problems == ["python: no download size for ours"]


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
    (tmp_path / "config.json").write_text(json.dumps({**config, "result": str(tmp_path / "result.json")}))
    cmd = ["node", pb.PEERS_JS / "node-python.mjs", tmp_path / "config.json"]
    out, _ = pb.node_result(cmd, tmp_path / "result.json", cwd=pb.PEERS_JS, what="node (pyodide)")
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
