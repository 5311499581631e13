/**
 * PipelineRunner under Node against the real runtime module: every pipeline
 * of every bundle, on both backends, compared byte for byte with the native
 * runtime's output; manifest errors come back as typed PipelineErrors.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PipelineRunner } from "../src/runner.js";
import { PipelineError } from "../src/bundle/errors.js";
import type { BackendName } from "../src/types.js";
import { bundleBytes, bundleIndex, expectedOutputs, sampleInputs } from "./helpers.js";

const index = bundleIndex();
const expected = expectedOutputs();
const samples = sampleInputs();
const backends: BackendName[] = (process.env.RMPKG_BACKENDS ?? "shim,wasmer").split(",") as BackendName[];

for (const backend of backends) {
  describe(`${backend} backend`, () => {
    const runners: PipelineRunner[] = [];
    after(async () => {
      for (const r of runners) await r.close();
    });

    for (const entry of index) {
      for (const pipeline of entry.pipelines) {
        const key = `${entry.name}/${pipeline}`;
        it(`${key} equals the native runtime`, { skip: !(key in expected) && "no native result" }, async () => {
          const runner = await PipelineRunner.load(bundleBytes(entry.name), { backend, worker: false, sha256: entry.sha256 });
          runners.push(runner);
          assert.equal(runner.backend, backend);
          const inputs = samples[key];
          const result = await runner.run({ pipeline, ...(inputs ? { inputs } : {}) });
          assert.equal(result.stdout.trim(), expected[key]!.trim());
          assert.ok(typeof result.result.outputs === "object");
          for (const t of ["compileMs", "mountMs", "runMs", "totalMs"] as const) {
            assert.ok(result.timings[t] >= 0, `${t} is a duration`);
          }
        });
      }
    }

    it("inputs replace the manifest's inputs", async () => {
      const runner = await PipelineRunner.load(bundleBytes("multiply-add"), { backend, worker: false });
      runners.push(runner);
      const result = await runner.run({ pipeline: "multiply_add", inputs: [0, 1, 2.5] });
      assert.deepEqual(result.result.outputs["out"], [1, 3, 6.0]);
    });

    it("an edited manifest runs where the shipped one is: its relative module_path still resolves", async () => {
      const runner = await PipelineRunner.load(bundleBytes("python-node"), { backend, worker: false });
      runners.push(runner);
      const manifest = JSON.parse(await runner.manifest("python_node")) as { inputs: unknown[] };
      manifest.inputs = [2, -1, 10];
      const result = await runner.run({ pipeline: "python_node", manifest });
      assert.deepEqual(result.result.outputs["out"], [7, 31]); // 3x + 1, negatives dropped
    });

    it("an invalid manifest is a PipelineError of kind 'manifest' with the runtime's message", async () => {
      const runner = await PipelineRunner.load(bundleBytes("multiply-add"), { backend, worker: false });
      runners.push(runner);
      const manifest = JSON.parse(await runner.manifest("multiply_add")) as { nodes: { type: string }[] };
      manifest.nodes[0]!.type = "Multiplyy";
      await assert.rejects(runner.run({ pipeline: "multiply_add", manifest }), (err: unknown) => {
        assert.ok(err instanceof PipelineError);
        assert.equal(err.exitCode, 2);
        assert.equal(err.kind, "manifest");
        assert.match(err.message, /invalid manifest: nodes\[0\]\.type/);
        return true;
      });
    });

    it("a manifest that is not JSON", async () => {
      const runner = await PipelineRunner.load(bundleBytes("multiply-add"), { backend, worker: false });
      runners.push(runner);
      await assert.rejects(runner.run({ pipeline: "multiply_add", manifest: "{ not json" }), (err: unknown) => {
        assert.ok(err instanceof PipelineError);
        assert.equal(err.kind, "manifest");
        assert.match(err.message, /not valid JSON/);
        return true;
      });
    });

    it("an unknown pipeline name", async () => {
      const runner = await PipelineRunner.load(bundleBytes("multiply-add"), { backend, worker: false });
      runners.push(runner);
      await assert.rejects(runner.run({ pipeline: "nope" }), /has no pipeline 'nope' \(it has: multiply_add, fan_out_fan_in\)/);
    });
  });
}

describe("Node's event loop", () => {
  it("is held open while the module compiles: on an empty loop Node 20 can deadlock (nodejs/node#54918)", async () => {
    const { compileModule } = await import("../src/backends/modules.js");
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]); // "\0asm", version 1
    const pending = compileModule(empty, "0".repeat(64));
    assert.equal(timers(), before + 1, "a timer holds the loop while WebAssembly.compile is pending");
    assert.ok((await pending) instanceof WebAssembly.Module);
    assert.equal(timers(), before, "and is gone once it is done");
  });
});
