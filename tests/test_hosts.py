"""The packed @remotemedia/wasm-runner on server-side JavaScript hosts, through
rmbuild.checks.hosts as `nox -s hosts` runs it: every parity example and demo pipeline
prints on Node 20, Node 22, Deno, Bun and workerd exactly what the native runtime prints
(and the examples through node:wasi where a host has it). Then the faults, each a clear
answer: a host without node:wasi or WebAssembly, workerd without the precompiled module,
a bundle from a wrong URL or with the wrong MIME type, workerd over its memory or CPU limit."""

from __future__ import annotations

import dataclasses
import re
import threading
import time

import pytest

from rmbuild.checks import hosts
from rmbuild.core import machine
from rmbuild.core.ui import BuildError

MEMORY_MIB = 128  # Cloudflare's limit per isolate
CPU_MS = 3000


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("hosts")


@pytest.fixture(scope="module")
def prepared(work):
    return hosts.prepare(work)


@pytest.fixture(scope="module")
def base(prepared, work):
    _project, bundles, _cases = prepared
    with hosts.serving_bundles(bundles, work) as url:
        yield url


@pytest.fixture(scope="module")
def report(prepared, work) -> dict:
    return hosts.matrix(list(hosts.HOSTS), work, prepared)


@pytest.fixture(scope="module")
def limited(prepared):
    """workerd with a small memory limit (V8's, per wasm memory) and CPU limit (the gateway's)."""
    project, bundles, _cases = prepared
    with hosts.Workerd(project, bundles.modules(), memory_mib=MEMORY_MIB, cpu_ms=CPU_MS) as server:
        yield server


def _host(report: dict, name: str) -> dict:
    return next(h for h in report["hosts"] if h["host"] == name)


@pytest.mark.parametrize("name", hosts.HOSTS)
def test_every_pipeline_prints_what_native_prints(report, prepared, name) -> None:
    _project, _bundles, cases = prepared
    runs = [v for v in _host(report, name)["verdicts"] if v["path"] == "runner"]
    assert [v["key"] for v in runs] == [c.key for c in cases]
    assert {c.kind for c in cases} == {"example", "bundle"} and any(c.inputs for c in cases)  # whisper on jfk.wav
    assert [v for v in runs if not v["identical"]] == []


def test_report_names_each_host_its_version_and_the_cpu(report) -> None:
    versions = {h["host"]: h["version"] for h in report["hosts"]}
    assert versions["node22"].startswith("22.") and versions["deno"].startswith("2.")
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["bun"]) and re.fullmatch(r"\d{4}-\d\d-\d\d", versions["workerd"])
    assert all(h["startup_ms"] > 0 for h in report["hosts"])
    assert {h["host"]: h["worker"] for h in report["hosts"]}["deno"] == "inline Web Worker"
    assert report["cpu"] == machine.summary() and hosts.table(report).startswith(f"On {machine.summary()}:")
    assert all(h["source"].startswith("npm ") for h in report["hosts"] if h["host"] != "node20")


def test_node_wasi_runs_the_examples_where_the_host_has_it(report, prepared) -> None:
    examples = [c.key for c in prepared[2] if c.kind == "example"]
    for name in ("node20", "node22", "deno"):
        runs = [v for v in _host(report, name)["verdicts"] if v["path"] == "node:wasi"]
        assert [v["key"] for v in runs] == examples and all(v["identical"] for v in runs), name
    assert _host(report, "bun")["node_wasi"] != "ok" and _host(report, "workerd")["node_wasi"] != "ok"


def test_node_wasi_path_names_what_bun_lacks(prepared) -> None:
    project, _bundles, cases = prepared
    bun = hosts.cli_host("bun")
    probed = hosts.probe(bun, project)
    example = next(c for c in cases if c.kind == "example")
    with pytest.raises(
        BuildError,
        match=r"Bun \d+\.\d+\.\d+ lacks WASI preview1 through node:wasi \(node:wasi has no WASI.getImportObject\(\)",
    ):
        hosts.node_wasi_run(bun, probed, example, None)  # refused before it needs the layout


def test_node_wasi_path_names_what_workerd_lacks(limited) -> None:
    with pytest.raises(
        BuildError, match=r"workerd \S+ lacks WASI preview1 through node:wasi \(node:wasi: .*not implemented"
    ):
        limited.require_node_wasi()


def test_a_host_without_webassembly_is_told_so(prepared) -> None:
    """Node with --jitless has no WebAssembly: the runner says so, naming the host."""
    project, bundles, _cases = prepared
    node = hosts.cli_host("node20")
    jitless = dataclasses.replace(node, argv=(*node.argv, "--jitless"))
    job = {"key": "k", "bundle": str(bundles.path("multiply-add")), "pipeline": "multiply_add"}
    (result,) = hosts.run_jobs(jitless, project, [job])["results"]
    assert result["error"]["name"] == "BackendUnavailableError"
    assert re.match(
        r"Node \d+\.\d+\.\d+ has no WebAssembly .*wasm32-wasi \(WASI preview1\)", result["error"]["message"]
    )


def test_workerd_without_the_precompiled_module_is_told_how(prepared, base) -> None:
    project, bundles, _cases = prepared
    with hosts.Workerd(project, bundles.modules(), precompiled=False) as server:
        status, body, _ = server.run({"bundle": f"{base}multiply-add.rmpkg", "pipeline": "multiply_add"})
    assert status == 501 and body["error"]["name"] == "BackendUnavailableError"
    message = body["error"]["message"]
    assert "workerd" in message and "forbids compiling WebAssembly at run time" in message
    assert f'provideModule("{next(iter(bundles.modules()))}", module)' in message


@pytest.fixture(scope="module")
def url_answers(prepared, base, limited) -> dict[str, dict[str, dict]]:
    """Per host, per job of ``hosts.url_jobs``: the adapter's result (workerd: status and body)."""
    project, bundles, _cases = prepared
    jobs = hosts.url_jobs(base, bundles)
    answers = {}
    for name in hosts.HOSTS:
        if name == "workerd":
            answers[name] = {}
            for job in jobs:
                status, body, _ = limited.run(job)
                answers[name][job["key"]] = {"ok": status == 200, "status": status, **body}
        else:
            results = hosts.run_jobs(hosts.cli_host(name), project, jobs)["results"]
            answers[name] = {r["key"]: r for r in results}
    return answers


@pytest.mark.parametrize("name", hosts.HOSTS)
def test_bundle_from_a_wrong_url_is_a_clear_error(url_answers, base, name) -> None:
    answers = url_answers[name]
    assert answers["good"]["ok"], answers["good"]  # the control: fetching works on this host
    missing, refused = answers["missing"]["error"], answers["refused"]["error"]
    assert missing["name"] == refused["name"] == "BundleError"
    assert missing["message"].startswith(f"cannot fetch bundle {base}no-such.rmpkg: HTTP 404")
    assert re.match(
        r"cannot fetch bundle http://127\.0\.0\.1:\d+/multiply-add\.rmpkg: .*network error", refused["message"]
    )
    if name == "workerd":
        assert answers["missing"]["status"] == answers["refused"]["status"] == 422


@pytest.mark.parametrize("name", hosts.HOSTS)
def test_bundle_served_as_html_is_a_clear_error(url_answers, base, name) -> None:
    error = url_answers[name]["wrong-type"]["error"]
    assert error["name"] == "BundleError"
    assert error["message"] == (
        f"not a .rmpkg: {base}wrong-type/multiply-add.html is an HTML page (Content-Type text/html), "
        "not a bundle: is the URL right?"
    )


def test_workerd_over_its_memory_limit_answers_503(limited, base) -> None:
    python = {"bundle": f"{base}python-node.rmpkg", "pipeline": "python_node", "manifest": hosts.ALLOCATE_MANIFEST}
    status, body, _ = limited.run({**python, "inputs": [60]})  # 60 MiB fits: the limit is what fails below
    assert (status, body["stdout"]) == (200, '{"outputs":{"out":[62914560]}}\n')
    status, body, seconds = limited.run({**python, "inputs": [256]})
    assert status == 503 and seconds < 30
    message = f"over the memory limit of {MEMORY_MIB} MiB: node 'allocate' (Python) failed on item 0: MemoryError"
    assert body["error"]["message"] == message
    many = {"bundle": f"{base}multiply-add.rmpkg", "pipeline": "multiply_add", "inputs": list(range(3_000_000))}
    status, body, _ = limited.run(many)  # the runtime (Rust) cannot allocate the manifest's items
    assert status == 503
    assert re.fullmatch(
        rf"over the memory limit of {MEMORY_MIB} MiB: memory allocation of \d+ bytes failed", body["error"]["message"]
    )
    assert limited.run({**python, "inputs": [1]})[0] == 200  # and the Worker goes on


def test_workerd_over_its_cpu_limit_answers_503_and_recovers(limited, base, prepared) -> None:
    """A pipeline that never ends: the gateway answers 503 at the limit (workerd enforces none and
    cannot interrupt a wasm loop), a request sent meanwhile is answered too, the runner is replaced."""
    python = {"bundle": f"{base}python-node.rmpkg", "pipeline": "python_node"}
    answers = {}

    def meanwhile() -> None:
        time.sleep(1.0)
        answers["meanwhile"] = limited.run(python)

    other = threading.Thread(target=meanwhile)
    other.start()
    restarts = limited.restarts
    status, body, seconds = limited.run({**python, "manifest": hosts.SPIN_MANIFEST})
    other.join()
    assert status == 503 and CPU_MS / 1e3 <= seconds < CPU_MS / 1e3 + 5
    assert (
        body["error"]["message"] == f"over the CPU limit: the runner did not answer within {CPU_MS} ms; it is restarted"
    )
    assert answers["meanwhile"][0] == 503 and answers["meanwhile"][2] < CPU_MS / 1e3 + 5
    limited.wait_ready(30.0)
    assert limited.restarts > restarts
    status, body, _ = limited.run(python)
    expected = next(c.expected for c in prepared[2] if c.key == "python-node/python_node")
    assert (status, body["stdout"]) == (200, expected)
