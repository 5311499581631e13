// A page using the installed @remotemedia/wasm-runner as any site would: bundled by esbuild
// (bundled.html) or as it is, through an import map (unbundled.html). ?bundle=&sha256=&pipeline=
// say what to run; ?worker=file starts dist/worker.js instead of the inline worker.
import { PipelineRunner, packagedWorkerUrl } from "@remotemedia/wasm-runner";

const params = new URLSearchParams(location.search);
const out = document.getElementById("out");
try {
  const runner = await PipelineRunner.load(params.get("bundle"), {
    sha256: params.get("sha256") ?? undefined,
    workerUrl: params.get("worker") === "file" ? packagedWorkerUrl() : undefined,
  });
  const result = await runner.run({ pipeline: params.get("pipeline") ?? undefined });
  await runner.close();
  out.textContent = result.stdout;
  out.dataset.state = "done";
} catch (err) {
  out.textContent = `${err.name}: ${err.message}`;
  out.dataset.state = "error";
}
