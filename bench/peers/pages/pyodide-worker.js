// Pyodide in a module Worker, loaded offline from /pyodide/ (node_modules/pyodide, served on
// 127.0.0.1). Messages: {type: "load"} -> timings; {type: "run", source, klass, init?, inputs} ->
// {out: [process(item) for each item]}. Numbers go in as floats, Float32Array items (1 s of
// audio) as an Audio object whose samples are a Python list: the same class our Python node
// runs, list-based (Pyodide's numpy is not in the npm package).
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { HARNESS } from "/pages/harness.js";

let py;
let feed;

async function load() {
  const t0 = performance.now();
  py = await loadPyodide({ indexURL: "/pyodide/" });
  const loadMs = performance.now() - t0;
  py.runPython(HARNESS);
  feed = py.globals.get("feed");
  return { loadMs, version: py.version };
}

function run({ source, klass, init, inputs }) {
  const result = feed(source, klass, inputs, init);
  const out = result.toJs();
  result.destroy();
  return { out };
}

self.onmessage = async (e) => {
  const msg = e.data;
  try {
    const value = msg.type === "load" ? await load() : run(msg);
    self.postMessage({ id: msg.id, value });
  } catch (err) {
    self.postMessage({ id: msg.id, error: String(err && err.stack ? err.stack : err) });
  }
};
