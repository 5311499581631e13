// The Python benchmark in Node (rmbuild/checks/peers_bench.py): our Python node through the
// PipelineRunner (shim backend, in this thread) or Pyodide (node_modules/pyodide, offline).
//   node node-python.mjs CONFIG.json   -> the JSON result in the file CONFIG.result (timings
//                                          in ms; cold start counted from this process's start)
// CONFIG: {peer: "ours"|"pyodide", result, counts, runner?, bundle?, sha256?, pipeline?, source?,
//          klass?}, or, for Pyodide, {peer: "pyodide", result, cases: {name: {source, klass, init?,
//          inputs}}, reps} (measureCases: the numpy bench). The result is written by
//          node-result.mjs (atomically, the loop kept alive until then: see there why).
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { writeResult } from "./node-result.mjs";
import { measure, measureCases, oursPeer } from "./pages/python-bench.js";

const cfg = JSON.parse(await readFile(process.argv[2], "utf8"));
if (typeof cfg.result !== "string") {
  throw new Error(`${process.argv[2]}: no "result" (the file to write the result to)`);
}

function pyodidePeer({ source, klass }) {
  let py;
  let feed;
  const load = async () => {
    const { loadPyodide } = await import("pyodide");
    const { HARNESS } = await import("./pages/harness.js");
    const t0 = performance.now();
    py = await loadPyodide();
    const loadMs = performance.now() - t0;
    py.runPython(HARNESS);
    feed = py.globals.get("feed");
    return { loadMs, version: py.version };
  };
  return {
    load,
    async run(inputs, program = { source, klass }) {
      const result = feed(program.source, program.klass, inputs, program.init);
      const out = result.toJs();
      result.destroy();
      return out;
    },
    async reload() {
      const t = performance.now();
      const info = await load();
      return { ms: performance.now() - t, loadMs: info.loadMs };
    },
    close: async () => undefined,
  };
}

await writeResult(cfg.result, async () => {
  let peer;
  if (cfg.cases && cfg.peer !== "pyodide") {
    throw new Error(`cases are for Pyodide, not ${cfg.peer}`);
  } else if (cfg.peer === "ours") {
    const { PipelineRunner } = await import(pathToFileURL(cfg.runner).href);
    peer = oursPeer(PipelineRunner, {
      bundle: async () => new Uint8Array(await readFile(cfg.bundle)),
      sha256: cfg.sha256,
      pipeline: cfg.pipeline,
      worker: false,
    });
  } else if (cfg.peer === "pyodide") {
    peer = pyodidePeer(cfg);
  } else {
    throw new Error(`unknown peer ${cfg.peer}`);
  }
  return cfg.cases
    ? measureCases(peer, cfg.cases, cfg.reps, { sinceStart: true })
    : measure(peer, cfg.peer, cfg.counts, { sinceStart: true });
});
