// A user's TypeScript against the package's declarations (strict, no @types/node, no @wasmer/sdk).
import {
  audioValue,
  BundleError,
  mergeResults,
  PipelineError,
  PipelineRunner,
  WorkerError,
  type PipelineSession,
  type RunnerOptions,
  type RunResult,
  type SessionResult,
} from "@remotemedia/wasm-runner";

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

// Sessions: open, push, close; typed results and errors.
export async function live(bytes: Uint8Array, chunk: Float32Array): Promise<string> {
  const runner = await PipelineRunner.load(bytes);
  const session: PipelineSession = await runner.open("live", { manifest: { version: 1 } });
  const first: SessionResult = await session.push(audioValue(chunk, 48000));
  const samples: SessionResult = await session.pushAudio(chunk, 48000, 2);
  const many: SessionResult = await session.pushMany([audioValue(chunk, 48000), 1]);
  const rest = await session.close();
  await runner.close();
  if (first.result.outputs["out"]?.length === 0) console.log(first.timings.callMs, first.memoryBytes);
  return mergeResults([first, samples, many, rest]);
}
// @ts-expect-error: the samples are a Float32Array, not a list
export const notSamples = (s: PipelineSession) => s.pushAudio([0.5], 16000);
export const isWorkerError = (err: unknown): boolean => err instanceof WorkerError;
