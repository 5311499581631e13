// Bun: run bundles with PipelineRunner from the installed package, in the runner's inline
// Web Worker (Bun has Worker).
//   bun bun.mjs JOB.json   (JOB: see node.mjs)
//   bun bun.mjs --probe
// Prints one JSON document (rmbuild/checks/hosts.py reads it).
import { PipelineRunner } from "@remotemedia/wasm-runner";

const host = { host: "bun", version: Bun.version, worker: typeof Worker !== "undefined" };

async function probe() {
  let nodeWasi = "ok";
  try {
    const { WASI } = await import("node:wasi");
    const wasi = new WASI({ version: "preview1", args: [], env: {}, returnOnExit: true });
    if (typeof wasi.getImportObject !== "function") nodeWasi = "node:wasi has no WASI.getImportObject() (Node's preview1 API)";
  } catch (err) {
    nodeWasi = `node:wasi: ${err.message}`;
  }
  return { ...host, webAssembly: typeof WebAssembly === "object", nodeWasi };
}

async function run(cases) {
  const runners = new Map(); // one per bundle, as a server keeps it
  const results = [];
  for (const c of cases) {
    const result = { key: c.key, ok: false, loadMs: 0, runMs: 0 };
    try {
      let t = performance.now();
      const id = `${c.bundle}#${c.sha256 ?? ""}`;
      let runner = runners.get(id);
      if (!runner) {
        const source = /^https?:/.test(c.bundle) ? c.bundle : await Bun.file(c.bundle).bytes();
        runners.set(id, (runner = await PipelineRunner.load(source, { sha256: c.sha256 })));
        result.loadMs = performance.now() - t;
      }
      t = performance.now();
      const out = await runner.run({ pipeline: c.pipeline, manifest: c.manifest, inputs: c.inputs });
      Object.assign(result, { ok: true, stdout: out.stdout, stderr: out.stderr, runMs: performance.now() - t });
    } catch (err) {
      result.error = { name: err.name, message: err.message, kind: err.kind, exitCode: err.exitCode };
    }
    results.push(result);
  }
  for (const runner of runners.values()) await runner.close();
  return { ...host, results };
}

const arg = Bun.argv[2];
const answer = arg === "--probe" ? await probe() : await run((await Bun.file(arg).json()).cases);
console.log(JSON.stringify(answer));
