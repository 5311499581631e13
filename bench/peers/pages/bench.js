// The page side of the peers and whisper benchmarks (rmbuild/checks/peers_bench.py,
// whisper_bench.py), loaded by chromium.mjs from a server on 127.0.0.1 that serves
//   /runner/   the built @remotemedia/wasm-runner (dist/)
//   /bundles/  the bundles under test
//   /pyodide/  node_modules/pyodide (Pyodide, offline)
//   /pages/    this folder
// Every function takes a plain config and returns plain JSON (timings in ms).
import { PipelineRunner } from "/runner/index.js";
import { measure, measureCases, oursPeer } from "./python-bench.js";

const now = () => performance.now();

/** Our Whisper node: PipelineRunner on a bundle, shim backend, in its Web Worker.
 *  cases: [{key, manifest, inputs}], each run `repeats` times in the same runner. */
export async function whisper({ bundle, sha256, pipeline, cases, repeats = 2 }) {
  const t0 = now();
  const runner = await PipelineRunner.load(bundle, { backend: "shim", sha256 });
  const loadMs = now() - t0;
  const rows = [];
  try {
    for (const c of cases) {
      const runs = [];
      for (let i = 0; i < repeats; i++) {
        const r = await runner.run({ pipeline, manifest: c.manifest, inputs: c.inputs });
        runs.push({ timings: r.timings, stdout: r.stdout });
      }
      rows.push({ key: c.key, runs });
    }
  } finally {
    await runner.close();
  }
  return { loadMs, info: { size: runner.info.size, fetchMs: runner.info.fetchMs, verifyMs: runner.info.verifyMs }, rows };
}

/** Our Python node (PipelineRunner, shim backend, in its Worker) against Pyodide (in a module Worker).
 *  With `cases` (Pyodide only: the numpy bench), measureCases instead of measure. */
export async function python({ peer, bundle, sha256, pipeline, source, klass, counts, cases, reps }) {
  if (cases) {
    if (peer !== "pyodide") throw new Error(`cases are for Pyodide, not ${peer}`);
    return measureCases(pyodideInWorker(source, klass), cases, reps);
  }
  const subject =
    peer === "ours" ? oursPeer(PipelineRunner, { bundle, sha256, pipeline }) : pyodideInWorker(source, klass);
  return measure(subject, peer, counts);
}

function pyodideInWorker(source, klass) {
  let worker;
  let nextId = 1;
  const pending = new Map();
  const call = (msg) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  return {
    async load() {
      worker = new Worker("/pages/pyodide-worker.js", { type: "module", name: "pyodide" });
      worker.onmessage = (e) => {
        const p = pending.get(e.data.id);
        pending.delete(e.data.id);
        if (e.data.error) p.reject(new Error(e.data.error));
        else p.resolve(e.data.value);
      };
      worker.onerror = (e) => {
        for (const p of pending.values()) p.reject(new Error(`pyodide worker: ${e.message}`));
      };
      return call({ type: "load" });
    },
    run: async (inputs, program = { source, klass }) =>
      (await call({ type: "run", source: program.source, klass: program.klass, init: program.init, inputs })).out,
    // a second loadPyodide() in the same page (what a page that starts it again waits for)
    reload: async () => {
      const t = now();
      const info = await call({ type: "load" });
      return { ms: now() - t, loadMs: info.loadMs };
    },
    close: async () => worker.terminate(),
  };
}

/** whisper-cli.wasm on the runner's shim backend in a module Worker: runs {argv, mounts} each
 *  `repeats` times (the module compiled once, as the runner does). */
export async function cli({ module, runs, repeats = 2 }) {
  const worker = new Worker("/pages/cli-worker.js", { type: "module", name: "whisper-cli" });
  let nextId = 1;
  const pending = new Map();
  worker.onmessage = (e) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.error) p.reject(new Error(e.data.error));
    else p.resolve(e.data.value);
  };
  worker.onerror = (e) => {
    for (const p of pending.values()) p.reject(new Error(`cli worker: ${e.message}`));
  };
  const call = (msg) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  const rows = [];
  try {
    for (const run of runs) {
      const outs = [];
      for (let i = 0; i < repeats; i++) outs.push(await call({ module, argv: run.argv, mounts: run.mounts }));
      rows.push({ key: run.key, runs: outs });
    }
  } finally {
    worker.terminate();
  }
  return { rows };
}
