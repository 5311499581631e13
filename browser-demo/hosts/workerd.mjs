// workerd: a Worker that runs a bundle per request with PipelineRunner (the installed package,
// declared with the Worker as the module "@remotemedia/wasm-runner"), and the gateway that holds
// its CPU limit, in a second workerd process (rmbuild/checks/hosts.py writes both configs).
//
// Runner (no RUNNER binding); one bundle per request, fetched from its URL and verified:
//   POST /run {bundle: URL, sha256?, pipeline?, manifest?, inputs?} -> 200 {stdout, stderr, timings}
//   GET /probe: what this host offers; GET /health
// Errors: JSON {error: {name, message, kind?, exitCode?, stderr?}}, HTTP 422 the bundle or the
// pipeline was refused, 501 this host cannot run it, 503 over the memory limit, 400 not JSON, 500 otherwise.
// Bindings: MODULES {sha256: module name}, the bundles' runtime modules declared with the Worker
// (Workers cannot compile wasm at run time); MEMORY_LIMIT_MIB, the wasm memory limit V8 holds
// (--wasm-max-mem-pages in the config's v8Flags: workerd itself enforces none).
//
// Gateway (RUNNER binding): forwards each request, and answers 503 itself once the runner has
// not answered within CPU_LIMIT_MS. workerd enforces no CPU limit and cannot interrupt a running
// wasm module; the runner serves one request at a time, so its time on one is CPU time. It then
// logs RESTART_LINE: the supervisor replaces the stuck runner process.
import { PipelineRunner, provideModule } from "@remotemedia/wasm-runner";
import { nodeWasi } from "./common.mjs";

const RESTART_LINE = "rmhosts: restart the runner";
// How the guest says an allocation failed: Rust, the runtime, CPython, C++ (whisper.cpp), V8.
const OUT_OF_MEMORY = /memory allocation of \d+ bytes failed|out of memory|MemoryError|bad_alloc|Cannot allocate Wasm memory/i;

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const failure = (status, err, message = err.message) =>
  json(status, { error: { name: err.name, message, kind: err.kind, exitCode: err.exitCode, stderr: err.stderr } });

let provided;
async function provideModules(env) {
  provided ??= Promise.all(
    Object.entries(env.MODULES ?? {}).map(async ([sha256, name]) => provideModule(sha256, (await import(name)).default)),
  );
  await provided;
}

async function probe() {
  // with nodejs_compat, node:wasi is a stub: its WASI constructor throws
  const compile = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(
    () => "ok",
    (err) => err.message,
  );
  return { host: "workerd", webAssembly: typeof WebAssembly === "object", compileAtRunTime: compile, nodeWasi: await nodeWasi() };
}

async function run(request, env) {
  const job = await request.json().catch((err) => err);
  if (job instanceof Error) return failure(400, job, `the request is not JSON: ${job.message}`);
  await provideModules(env);
  let runner;
  try {
    runner = await PipelineRunner.load(job.bundle, { sha256: job.sha256 });
    const out = await runner.run({ pipeline: job.pipeline, manifest: job.manifest, inputs: job.inputs });
    return json(200, { stdout: out.stdout, stderr: out.stderr, timings: out.timings });
  } catch (err) {
    const oom = err.name === "PipelineError" && `${err.message}\n${err.stderr}`.split("\n").find((l) => OUT_OF_MEMORY.test(l));
    if (oom) return failure(503, err, `over the memory limit of ${env.MEMORY_LIMIT_MIB} MiB: ${oom.trim()}`);
    const status = { BundleError: 422, PipelineError: 422, BackendUnavailableError: 501 }[err.name] ?? 500;
    return failure(status, err);
  } finally {
    await runner?.close();
  }
}

async function gateway(request, env) {
  const limit = Number(env.CPU_LIMIT_MS);
  let timer;
  const over = new Promise((resolve) => (timer = setTimeout(resolve, limit)));
  try {
    const answer = await Promise.race([env.RUNNER.fetch(request), over]);
    if (answer) return answer;
    console.log(RESTART_LINE);
    const message = `over the CPU limit: the runner did not answer within ${limit} ms; it is restarted`;
    return json(503, { error: { name: "CpuLimitExceeded", message } });
  } catch (err) {
    return json(503, { error: { name: "RunnerUnavailable", message: `the runner is not answering: ${err.message}` } });
  } finally {
    clearTimeout(timer);
  }
}

export default {
  async fetch(request, env) {
    if (env.RUNNER) return gateway(request, env);
    const path = new URL(request.url).pathname;
    if (path === "/health") return json(200, { ok: true });
    if (path === "/probe") return json(200, await probe());
    if (path === "/run" && request.method === "POST") return run(request, env);
    return json(404, { error: { name: "NotFound", message: `no route ${request.method} ${path}` } });
  },
};
