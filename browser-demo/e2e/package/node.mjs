// Node, as any user: import the installed package by name and run bundles given as bytes,
// in this thread (worker: false). CASES.json: [{key, bundle, sha256, pipeline, inputs?}].
// Prints [{key, backend, stdout}] as JSON.
import { readFile } from "node:fs/promises";
import { PipelineRunner } from "@remotemedia/wasm-runner";

const cases = JSON.parse(await readFile(process.argv[2], "utf8"));
const results = [];
for (const c of cases) {
  const runner = await PipelineRunner.load(await readFile(c.bundle), { worker: false, sha256: c.sha256 });
  const result = await runner.run({ pipeline: c.pipeline, ...(c.inputs ? { inputs: c.inputs } : {}) });
  results.push({ key: c.key, backend: runner.backend, stdout: result.stdout });
  await runner.close();
}
console.log(JSON.stringify(results));
