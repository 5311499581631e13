// A user's TypeScript against the package's declarations (strict, no @types/node, no @wasmer/sdk).
import { BundleError, PipelineError, PipelineRunner, type RunnerOptions, type RunResult } from "@remotemedia/wasm-runner";

const options: RunnerOptions = { backend: "auto", sha256: "0".repeat(64), workerUrl: new URL("https://example.org/worker.js") };
export async function run(bytes: Uint8Array): Promise<RunResult> {
  const runner = await PipelineRunner.load(bytes, options);
  const names: string[] = runner.pipelines.map((p) => p.name);
  try {
    return await runner.run({ pipeline: names[0], inputs: [1, 2.5] });
  } catch (err) {
    if (err instanceof PipelineError) console.log(err.kind, err.exitCode, err.stderr);
    if (err instanceof BundleError) console.log(err.message);
    throw err;
  } finally {
    await runner.close();
  }
}
// @ts-expect-error: not a backend
export const wrong: RunnerOptions = { backend: "wasm3" };
