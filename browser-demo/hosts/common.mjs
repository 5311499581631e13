// What every host adapter shares: the probe of node:wasi, and running a job's cases with
// PipelineRunner (the installed package), one runner per bundle as a server keeps it.
// Each adapter (node.mjs, deno.mjs, bun.mjs, workerd.mjs) adds only what its host differs in.
import { PipelineRunner } from "@remotemedia/wasm-runner";

/** "ok", or what this host's node:wasi lacks for WASI preview1 (the project's node:wasi path). */
export async function nodeWasi() {
  try {
    const { WASI } = await import("node:wasi");
    const wasi = new WASI({ version: "preview1", args: [], env: {}, returnOnExit: true });
    return typeof wasi.getImportObject === "function"
      ? "ok"
      : "node:wasi has no WASI.getImportObject() (Node's preview1 API)";
  } catch (err) {
    return `node:wasi: ${err.message}`;
  }
}

/** The host's own facts plus what it offers. */
export async function probe(host) {
  return { ...host, webAssembly: typeof WebAssembly === "object", nodeWasi: await nodeWasi() };
}

/** Every case ({key, bundle: file or URL, sha256?, pipeline?, manifest?, inputs?}) with timings;
 *  ``readBytes(path)`` reads a bundle file the host's way. */
export async function runCases(host, cases, readBytes) {
  const runners = new Map();
  const results = [];
  for (const c of cases) {
    const result = { key: c.key, ok: false, loadMs: 0, runMs: 0 };
    try {
      let t = performance.now();
      const id = `${c.bundle}#${c.sha256 ?? ""}`;
      let runner = runners.get(id);
      if (!runner) {
        const source = /^https?:/.test(c.bundle) ? c.bundle : await readBytes(c.bundle);
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
