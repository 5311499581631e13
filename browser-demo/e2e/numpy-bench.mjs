// The Chromium half of `nox -s numpy_bench`: the gain + biquad pipelines (lists vs numpy)
// and their pass-throughs, one 60 s audio item each, in the runner's worker on the
// python-node bundle (its numpy.zip beside the stdlib), 127.0.0.1 only.
//
//   node e2e/numpy-bench.mjs CONFIG.json
//
// CONFIG: { url, chromium, report, bundle, manifests: {case: manifest}, item, reps }
// Report: { runMs: {case: fastest runMs}, totalMs: {...}, digests: {case: sha-256 of stdout}, outside }
import { readFileSync, writeFileSync } from "node:fs";
import { launch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { page, outside, close } = await launch(config.chromium);
let report;
try {
  await page.goto(`${config.url}?sw=off`);
  await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 });
  report = await page.evaluate(async ({ bundle, manifests, item, reps }) => {
    const { PipelineRunner } = globalThis.rmpkgDemo;
    const runner = await PipelineRunner.load(bundle);
    const hex = async (text) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
    const out = { runMs: {}, totalMs: {}, digests: {} };
    await runner.run({ manifest: manifests["pass-list"], inputs: [0] }).catch(() => {}); // compile once
    for (const [name, manifest] of Object.entries(manifests)) {
      const run = [];
      const total = [];
      let stdout = "";
      for (let i = 0; i < reps; i++) {
        const r = await runner.run({ manifest, inputs: [item] });
        run.push(r.timings.runMs);
        total.push(r.timings.totalMs);
        stdout = r.stdout;
      }
      out.runMs[name] = Math.min(...run);
      out.totalMs[name] = Math.min(...total);
      out.digests[name] = await hex(stdout);
    }
    await runner.close();
    return out;
  }, { bundle: config.bundle, manifests: config.manifests, item: config.item, reps: config.reps });
} finally {
  await close();
}
report.outside = outside;
writeFileSync(config.report, JSON.stringify(report, null, 1));
console.log(JSON.stringify(report));
if (outside.length) process.exit(1);
