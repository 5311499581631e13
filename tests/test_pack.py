"""Packing users' own pipeline projects: the spec, the requirements lock, the checks a
pack makes before it writes anything, and running the result (`rmbuild run`) on
wasmtime and node:wasi against the native runtime on the source tree.

Projects are made in temporary folders outside the repo, from the starter
(`python -m rmbuild new`), and packed with the real commands.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rmbuild.build import native
from rmbuild.build.pack import bundle, requirements, spec
from rmbuild.checks import browser, npm_package
from rmbuild.core import fsutil, paths
from rmbuild.core.rmpkg import rmpkg
from rmbuild.core.ui import BuildError
from rmbuild.run import executor


def rmbuild(*args: str, cwd: Path, stdin: bytes | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``python -m rmbuild ...`` run from ``cwd`` (a user's folder), as ./nox would."""
    env = {**__import__("os").environ, paths.INVOKED_FROM_ENV: str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "rmbuild", *args],
        cwd=paths.REPO,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A new project made by `rmbuild new`, outside the repo."""
    root = tmp_path_factory.mktemp("user") / "hello-app"
    out = rmbuild("new", str(root), cwd=root.parent)
    assert out.returncode == 0, out.stderr.decode()
    assert not root.resolve().is_relative_to(paths.REPO)
    return root


@pytest.fixture(scope="module")
def packed(project: Path) -> Path:
    out = rmbuild("pack", "rmpkg.toml", "-o", "hello-app.rmpkg", cwd=project)
    assert out.returncode == 0, out.stderr.decode()
    return project / "hello-app.rmpkg"


def _write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder / "rmpkg.toml"


def _manifest(**params) -> str:
    node = {"id": "p", "type": "Python", "params": {"class": "P", **params}}
    return json.dumps(
        {"version": 1, "nodes": [node, {"id": "o", "type": "Output"}], "connections": [{"from": "p", "to": "o"}]}
    )


SPEC_HEAD = '[bundle]\nname = "t"\nversion = "1"\n\n[[pipeline]]\nname = "p"\nmanifest = "m.json"\n'


# ---------------------------------------------------------------------------
# the spec: every mistake names the file and the field


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[bundle]\nname = "t"\nversion = "1"\nnmae = "x"\n', r"\[bundle\]: unknown field 'nmae'"),
        ('[bundle]\nversion = "1"\n', r"\[bundle\]: name is missing"),
        ('[bundle]\nname = "Bad Name"\nversion = "1"\n', r"\[bundle\]\.name: 'Bad Name' does not match"),
        ('[bundle]\nname = "t"\nversion = "1"\n', r"no \[\[pipeline\]\]"),
        (SPEC_HEAD.replace("m.json", "missing.json"), r"\[\[pipeline\]\] #1\.manifest: 'missing.json': no such file"),
        (SPEC_HEAD.replace("m.json", "../outside.json"), r"points outside the project folder"),
        (SPEC_HEAD.replace("m.json", "/etc/hostname"), r"is absolute: paths are relative to the project folder"),
        (
            SPEC_HEAD + '[python]\nsources = ["../elsewhere"]\n',
            r"\[python\]\.sources\[0\]: '\.\./elsewhere' points outside",
        ),
        (SPEC_HEAD + '[python]\nsourcs = ["x"]\n', r"\[python\]: unknown field 'sourcs'"),
        (SPEC_HEAD + '[[pipeline]]\nname = "p"\nmanifest = "m.json"\n', r"two pipelines are named 'p'"),
        (SPEC_HEAD.replace('version = "1"', 'version = "1"\nmax_size = "lots"'), r"max_size: 'lots' is not a size"),
        (SPEC_HEAD + '[[model]]\nname = "w"\nmount = "/models/w"\n', r"give exactly one of files"),
        (SPEC_HEAD + '[[model]]\nname = "w"\nmount = "/usr/local/lib/x"\nproduct = "y"\n', r"overlaps /usr/local/lib"),
        (SPEC_HEAD + "oops = [\n", r"not valid TOML"),
        (SPEC_HEAD + "[extra]\nx = 1\n", r"top level: unknown field 'extra'"),
    ],
)
def test_spec_mistakes_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    spec_file = _write(tmp_path, {"rmpkg.toml": text, "m.json": _manifest(source="class P: pass\n")})
    with pytest.raises(BuildError, match=message) as info:
        spec.load(spec_file)
    assert str(spec_file) in str(info.value)


def test_the_demo_specs_load() -> None:
    assert set(bundle.demo_specs()) == {"multiply-add", "python-node", "whisper"}
    for name in bundle.demo_specs():
        assert bundle.demo_spec(name).pipelines


def test_pack_command_refuses_a_bad_spec_and_writes_nothing(tmp_path: Path) -> None:
    _write(tmp_path, {"rmpkg.toml": SPEC_HEAD.replace("m.json", "nope.json")})
    out = rmbuild("pack", "rmpkg.toml", "-o", "out.rmpkg", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.decode().strip().splitlines()[-1].startswith(f"error: {tmp_path / 'rmpkg.toml'}: [[pipeline]] #1")
    assert not (tmp_path / "out.rmpkg").exists()


# ---------------------------------------------------------------------------
# requirements: pure-Python wheels from PyPI, locked


@pytest.mark.network
@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("numpy==2.4.6", r"'numpy==2.4.6': numpy has compiled code \(PyPI has only platform wheels"),
        ("no-such-package-rmbuild-test==1.0", r"there is no package 'no-such-package-rmbuild-test' on PyPI"),
        ("humanize==0.0.1", r"no pure-Python wheel of humanize matches it \(pure wheels exist for"),
    ],
)
def test_requirements_that_cannot_run_in_wasm_are_refused(tmp_path: Path, requirement: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        requirements.locked([requirement], tmp_path / "rmpkg.lock")
    assert not (tmp_path / "rmpkg.lock").exists()


@pytest.mark.network
def test_the_lock_is_written_once_and_verified(tmp_path: Path) -> None:
    lock = tmp_path / "rmpkg.lock"
    wheels = requirements.locked(["humanize==4.9.0"], lock)
    assert [(w.name, w.version, w.file) for w in wheels] == [("humanize", "4.9.0", "humanize-4.9.0-py3-none-any.whl")]
    text = lock.read_text()
    assert 'sha256 = "ce284a76d5b1377fd8836733b983bfb0b76f1aa1c090de2566fcf008d7f6ab16"' in text
    lock.write_text(text.replace("# ", "# kept: "))
    assert requirements.locked(["humanize==4.9.0"], lock) == wheels  # the lock is read, not rewritten
    assert "kept:" in lock.read_text()
    with pytest.raises(BuildError, match="made for other requirements"):
        requirements.locked(["humanize==4.8.0"], lock, frozen=True)
    # a tampered lock: the wheel fetched does not match and is refused
    lock.write_text(text.replace("ce284a76d5b1377fd8836733b983bfb0b76f1aa1c090de2566fcf008d7f6ab16", "0" * 64))
    tampered = requirements.locked(["humanize==4.9.0"], lock)
    with pytest.raises(BuildError, match="sha256"):
        requirements.site_packages(tampered)


def test_a_wheel_with_compiled_code_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fake/__init__.py", "")
        zf.writestr("fake/_speedups.cpython-311-x86_64-linux-gnu.so", b"\x7fELF")
        zf.writestr("fake-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    w = requirements.Wheel("fake", "1.0", wheel.name, "file://x", "0" * 64)
    with pytest.raises(BuildError, match=r"fake has compiled code \(it holds fake/_speedups"):
        requirements.check_pure(w, wheel)
    with pytest.raises(BuildError, match="not a pure-Python wheel"):
        requirements.check_pure(requirements.Wheel("x", "1", "x-1-cp311-cp311-linux_x86_64.whl", "", ""), wheel)


# ---------------------------------------------------------------------------
# the checks a pack makes before anything is written


def _pack_error(folder: Path, files: dict[str, str]) -> str:
    _write(folder, {"rmpkg.toml": SPEC_HEAD, **files})
    with pytest.raises(BuildError) as info:
        bundle.build(spec.load(folder / "rmpkg.toml"))
    return str(info.value)


def test_an_invalid_manifest_gets_the_runtimes_message(tmp_path: Path) -> None:
    text = _pack_error(tmp_path, {"m.json": '{"version": 1, "nodes": [{"id": "a", "type": "Multply"}]}'})
    assert "m.json: the runtime refuses this manifest" in text
    assert "unknown node type 'Multply' (did you mean 'Multiply'?)" in text


def test_a_module_left_out_of_the_bundle_is_named(tmp_path: Path) -> None:
    text = _pack_error(tmp_path, {"m.json": _manifest(module_path="nodes/p.py"), "nodes/p.py": "class P: pass\n"})
    assert "module_path 'nodes/p.py': nodes/p.py is not in the bundle (add it to [python] sources" in text


def test_a_failing_import_in_wasm_shows_its_traceback(tmp_path: Path) -> None:
    files = {
        "m.json": _manifest(module_path="p.py"),
        "p.py": "import tomllib\nimport definitely_not_installed\nclass P: pass\n",
    }
    _write(tmp_path, {"rmpkg.toml": SPEC_HEAD + '[python]\nsources = ["p.py"]\n', **files})
    with pytest.raises(BuildError) as info:
        bundle.build(spec.load(tmp_path / "rmpkg.toml"))
    text = str(info.value)
    assert "a node does not start in the wasm runtime (exit 3)" in text
    assert "ModuleNotFoundError: No module named 'definitely_not_installed'" in text
    assert 'File "p.py", line 2' in text


def test_a_model_whisper_would_reject_is_refused(tmp_path: Path) -> None:
    manifest = {
        "version": 1,
        "nodes": [{"id": "asr", "type": "Whisper", "params": {"model": "/models/w/bad.bin"}}],
    }
    files = {"m.json": json.dumps(manifest), "models/bad.bin": "ggml" + "x" * 4000}
    _write(
        tmp_path,
        {"rmpkg.toml": SPEC_HEAD + '[[model]]\nname = "w"\nmount = "/models/w"\nfiles = ["models/bad.bin"]\n', **files},
    )
    with pytest.raises(BuildError) as info:
        bundle.build(spec.load(tmp_path / "rmpkg.toml"))
    assert "a node does not start in the wasm runtime (exit 3)" in str(info.value)
    assert "node 'asr' (Whisper) failed to initialise" in str(info.value)


def test_an_absolute_path_outside_the_mounts_is_named(tmp_path: Path) -> None:
    manifest = {"version": 1, "nodes": [{"id": "asr", "type": "Whisper", "params": {"model": "/models/x/m.bin"}}]}
    text = _pack_error(tmp_path, {"m.json": json.dumps(manifest)})
    assert "'/models/x/m.bin': no such file in the bundle (its mounts: /app)" in text


def test_a_bundle_over_its_size_limit_is_not_written(project: Path, packed: Path) -> None:
    out = rmbuild("pack", "rmpkg.toml", "-o", "small.rmpkg", "--max-size", "1 MiB", cwd=project)
    assert out.returncode == 1
    assert "over the size limit of 1.0 MiB (1048576 bytes); nothing was written" in out.stderr.decode()
    assert not (project / "small.rmpkg").exists()


# ---------------------------------------------------------------------------
# the starter, packed and run everywhere


def test_new_refuses_a_folder_that_is_not_empty(project: Path) -> None:
    out = rmbuild("new", str(project), cwd=project.parent)
    assert out.returncode == 1 and "is not empty" in out.stderr.decode()


def test_packing_is_reproducible(project: Path, packed: Path, tmp_path: Path) -> None:
    out = rmbuild("pack", str(project / "rmpkg.toml"), "-o", str(tmp_path / "again.rmpkg"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    assert (tmp_path / "again.rmpkg").read_bytes() == packed.read_bytes()
    meta = rmpkg.read(packed).metadata
    assert meta["name"] == "hello-app"
    assert [r["name"] for r in meta["requirements"]] == ["humanize"]
    assert meta["runtime"]["env"]["PYTHONPATH"] == "/site-packages"
    assert (project / "rmpkg.lock").exists()


def test_a_member_built_again_with_other_bytes_is_packed_again(project: Path, packed: Path, tmp_path, monkeypatch):
    """A cached step can be built again under the same key with other bytes (Wizer's snapshot
    differs in padding bytes from run to run: README "Start-up by pre-initialisation"), at the
    same path. A bundle holding it must then be packed again, not taken from the cache with the
    old bytes inside (the sessions bench refuses such a bundle)."""
    s = spec.load(project / "rmpkg.toml")
    real = bundle.wasm_module.reactor_path
    copies: dict[bool, Path] = {}

    def reactor(preinit: bool = True, numpy: bool = True) -> Path:
        if numpy not in copies:
            copies[numpy] = tmp_path / f"reactor-numpy-{numpy}.wasm"
            shutil.copyfile(real(preinit=preinit, numpy=numpy), copies[numpy])
        return copies[numpy]

    monkeypatch.setattr(bundle.wasm_module, "reactor_path", reactor)
    first = bundle.build(s)
    (copy,) = copies.values()
    body = bytes([len(b"rmbuild-test")]) + b"rmbuild-test" + b"rebuilt"
    copy.write_bytes(copy.read_bytes() + b"\x00" + bytes([len(body)]) + body)  # a custom section: still valid
    second = bundle.build(s)
    assert second != first
    assert rmpkg.read(second).metadata["provenance"]["runtime_reactor_sha256"] == fsutil.sha256_file(copy)


def _native(project: Path) -> executor.Outcome:
    s = spec.load(project / "rmpkg.toml")
    return bundle.native_run(s, "greet", compact=False)


@pytest.mark.parametrize("host", ["wasmtime", "node"])
def test_the_starter_runs_like_native(project: Path, packed: Path, host: str) -> None:
    want = _native(project)
    assert want.exit_code == 0, want.error_text
    assert b"1,234,567 is 1.2 million" in want.stdout
    got = rmbuild("run", "hello-app.rmpkg", "--host", host, cwd=project)
    assert (got.returncode, got.stdout, got.stderr) == want.streams


def test_run_with_an_input_file_and_from_stdin_like_native(project: Path, packed: Path) -> None:
    items = project / "items.json"
    items.write_text(json.dumps([{"name": "Bo", "count": 7}]))
    s = spec.load(project / "rmpkg.toml")
    env = {"PYTHONPATH": str(requirements.site_packages(requirements.locked(list(s.requirements), s.lock_path)))}
    host = native.host()
    want = host.run(executor.run_args("pipelines/greet.json", "items.json", compact=False), cwd=project, env=env)
    got = rmbuild("run", "hello-app.rmpkg", "--input", "items.json", cwd=project)
    assert (got.returncode, got.stdout, got.stderr) == want.streams
    got = rmbuild("run", "hello-app.rmpkg", "--input", "-", "--compact", cwd=project, stdin=items.read_bytes())
    want = host.run(executor.run_args("pipelines/greet.json", "-"), cwd=project, env=env, stdin=items.read_bytes())
    assert (got.returncode, got.stdout, got.stderr) == want.streams
    # an item that makes the node fail: the same traceback and exit code
    bad = json.dumps([{"name": "Bo"}]).encode()
    got = rmbuild("run", "hello-app.rmpkg", "--input", "-", cwd=project, stdin=bad)
    want = host.run(executor.run_args("pipelines/greet.json", "-", compact=False), cwd=project, env=env, stdin=bad)
    assert want.exit_code == 3 and b"KeyError: 'count'" in want.stderr
    assert (got.returncode, got.stdout, got.stderr) == want.streams


def test_the_starter_in_node_and_chromium_through_the_npm_tarball(project: Path, packed: Path, tmp_path: Path) -> None:
    """The starter's own web page and a Node script use the runner as installed from its
    npm tarball: both print exactly what the native runtime prints (--compact, as the
    runner asks)."""
    want = bundle.native_run(spec.load(project / "rmpkg.toml"), "greet")
    assert want.exit_code == 0, want.error_text
    wasmtime = rmbuild("run", "hello-app.rmpkg", "--compact", cwd=project)
    assert (wasmtime.returncode, wasmtime.stdout) == (0, want.stdout)
    tarball = npm_package.pack(tmp_path / "npm").tarball
    npm_package.install(tarball, project)
    sha = rmpkg.read(packed).sha256
    case = {"key": "greet", "bundle": str(packed), "sha256": sha, "pipeline": "greet", "inputs": None}
    (project / "cases.json").write_text(json.dumps([case]))
    node = subprocess.run(
        ["node", str(npm_package.FIXTURES / "node.mjs"), "cases.json"], cwd=project, capture_output=True, check=False
    )
    assert node.returncode == 0, node.stderr.decode()
    assert [r["stdout"] for r in json.loads(node.stdout)] == [want.text]
    report = project / "page-report.json"
    with browser.serving(project, isolated=False) as base:
        page = {"name": "starter page", "key": "greet", "url": f"{base}web/index.html"}
        config = {"chromium": str(browser.CHROMIUM), "report": str(report), "pages": [page]}
        (project / "page-config.json").write_text(json.dumps(config))
        page_run = subprocess.run(
            ["node", "e2e/package-page.mjs", str(project / "page-config.json")],
            cwd=paths.BROWSER_DEMO_DIR,
            capture_output=True,
            check=False,
        )
    assert page_run.returncode == 0, page_run.stderr.decode()
    result = json.loads(report.read_text())
    assert [(p["state"], p["text"]) for p in result["pages"]] == [("done", want.text)]
    assert result["outside"] == []


@pytest.mark.parametrize("host", ["wasmtime", "node"])
def test_run_stream_is_a_session_like_native_stream(project: Path, packed: Path, host: str) -> None:
    """`run --stream`: one result line per stdin line, the node's state kept (ordinal)."""
    s = spec.load(project / "rmpkg.toml")
    env = {"PYTHONPATH": str(requirements.site_packages(requirements.locked(list(s.requirements), s.lock_path)))}
    items = b'{"name": "A", "count": 1}\n{"name": "B", "count": 2000}\n'
    want = native.host().run(["stream", "pipelines/greet.json"], cwd=project, env=env, stdin=items)
    assert want.exit_code == 0, want.error_text
    assert [json.loads(line)["outputs"]["out"][0]["ordinal"] for line in want.text.splitlines()] == ["1st", "2nd"]
    got = rmbuild("run", "hello-app.rmpkg", "--stream", "--host", host, cwd=project, stdin=items)
    assert (got.returncode, got.stdout, got.stderr) == want.streams


def test_run_refuses_a_tampered_bundle(packed: Path, tmp_path: Path) -> None:
    data = bytearray(packed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.rmpkg").write_bytes(bytes(data))
    out = rmbuild("run", "bad.rmpkg", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.decode().startswith("error: bad.rmpkg: ")


def test_inspect_shows_what_a_user_needs(packed: Path) -> None:
    out = rmbuild("bundle-inspect", str(packed), cwd=packed.parent)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    for expected in (
        "hello-app 0.1.0",
        "pipeline      greet (default): app/pipelines/greet.json [json]",
        "requirement   humanize 4.9.0",
        "/site-packages",
        "/usr/local/lib",
        "/app",
    ):
        assert expected in text, (expected, text)
