"""Content-hash keyed build steps: no change, no work; any change, a rebuild."""

from __future__ import annotations

import pytest

from rmbuild.core import paths, steps
from rmbuild.core.ui import BuildError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("one")
    return src


def counting_build(calls):
    def build(out):
        calls.append(out)
        (out / "result.txt").write_text("built")

    return build


def test_second_run_does_no_work(cache, capsys):
    calls = []
    first = steps.cached("demo", [cache], {"flag": 1}, counting_build(calls))
    second = steps.cached("demo", [cache], {"flag": 1}, counting_build(calls))
    assert first == second
    assert len(calls) == 1
    assert "up to date, nothing to do" in capsys.readouterr().err
    assert (first / "result.txt").read_text() == "built"


def test_content_change_rebuilds_but_touch_does_not(cache):
    calls = []
    first = steps.cached("demo", [cache], {}, counting_build(calls))
    (cache / "a.txt").write_text("one")  # same bytes, new mtime
    assert steps.cached("demo", [cache], {}, counting_build(calls)) == first
    (cache / "a.txt").write_text("two")
    assert steps.cached("demo", [cache], {}, counting_build(calls)) != first
    (cache / "b.txt").write_text("new file")
    steps.cached("demo", [cache], {}, counting_build(calls))
    assert len(calls) == 3


def test_fact_change_rebuilds(cache):
    calls = []
    steps.cached("demo", [cache], {"zig": "0.17.0"}, counting_build(calls))
    steps.cached("demo", [cache], {"zig": "0.18.0"}, counting_build(calls))
    assert len(calls) == 2


def test_failed_build_leaves_no_output(cache):
    def broken(out):
        (out / "half.txt").write_text("half")
        raise BuildError("compiler exploded")

    with pytest.raises(BuildError, match="compiler exploded"):
        steps.cached("demo", [cache], {}, broken)
    step_dir = paths.build_cache_dir() / "demo"
    assert [p.name for p in step_dir.iterdir()] == []
    calls = []
    steps.cached("demo", [cache], {}, counting_build(calls))
    assert len(calls) == 1


def test_ignored_build_dirs_do_not_count(cache):
    calls = []
    steps.cached("demo", [cache], {}, counting_build(calls))
    (cache / "target").mkdir()
    (cache / "target" / "junk.o").write_text("x")
    steps.cached("demo", [cache], {}, counting_build(calls))
    assert len(calls) == 1


def test_missing_input_is_a_clear_error(cache):
    with pytest.raises(BuildError, match="does not exist"):
        steps.cached("demo", [cache / "nope"], {}, counting_build([]))


def test_old_outputs_are_pruned(cache):
    for i in range(6):
        (cache / "a.txt").write_text(str(i))
        steps.cached("demo", [cache], {}, counting_build([]))
    outputs = [p for p in (paths.build_cache_dir() / "demo").iterdir() if (p / steps.COMPLETE).exists()]
    assert len(outputs) == steps.KEEP_OUTPUTS
