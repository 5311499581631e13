/**
 * Sessions on the real reactor module (runtime.reactor of every bundle), in this thread:
 * every demo pipeline fed item by item gives results whose lists, merged, are byte for byte
 * what one-shot `run` prints (the native runtime's and this runner's); state lives across
 * items; the compiled module is reused; faults are typed and keep the earlier results.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PipelineRunner } from "../src/runner.js";
import { BackendUnavailableError, PipelineError } from "../src/bundle/errors.js";
import { mergeResults } from "../src/session.js";
import type { SessionResult } from "../src/types.js";
import { bundleBytes, bundleIndex, expectedOutputs, sampleInputs } from "./helpers.js";

const index = bundleIndex();
const expected = expectedOutputs();
const samples = sampleInputs();
const runners: PipelineRunner[] = [];
after(async () => {
  for (const r of runners) await r.close();
});

async function load(name: string, backend: "shim" | "wasmer" = "shim"): Promise<PipelineRunner> {
  const runner = await PipelineRunner.load(bundleBytes(name), { backend, worker: false });
  runners.push(runner);
  return runner;
}

/** Every push's text, then the close's if it produced a value (as `stream` prints lines). */
function lines(results: SessionResult[], closed: SessionResult): string[] {
  const out = results.map((r) => r.text);
  if (Object.values(closed.result.outputs).some((v) => v.length)) out.push(closed.text);
  return out;
}

interface AudioJson {
  sample_rate: number;
  channels: number;
  data_b64?: string;
  samples?: number[];
}

/** The float32 samples of an `{"$audio": ...}` value (base64 bytes or a list of numbers). */
function floats(a: AudioJson): Float32Array {
  if (a.samples) return Float32Array.from(a.samples);
  const bytes = Buffer.from(a.data_b64!, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function rejectsWith(kind: string, exitCode: number, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.equal(err.exitCode, exitCode, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

const inlineManifest = (source: string) =>
  JSON.stringify({
    version: 1,
    nodes: [
      { id: "p", type: "Python", params: { class: "P", source } },
      { id: "out", type: "Output" },
    ],
    connections: [{ from: "p", to: "out" }],
  });

describe("every demo pipeline as a session", () => {
  for (const entry of index) {
    for (const pipeline of entry.pipelines) {
      const key = `${entry.name}/${pipeline}`;
      it(`${key}: the pushes merged equal one-shot run (native and this runner), byte for byte`, { skip: !(key in expected) && "no native result" }, async () => {
        const runner = await load(entry.name);
        const manifest = JSON.parse(await runner.manifest(pipeline)) as { inputs?: unknown[] };
        const items = samples[key] ?? manifest.inputs ?? [];
        assert.ok(items.length > 0, "items to push");
        const session = await runner.open(pipeline);
        assert.equal(session.info.pipeline, pipeline);
        const results: SessionResult[] = [];
        for (const item of items) results.push(await session.push(item));
        const closed = await session.close();
        const merged = mergeResults([...results, closed]);
        assert.equal(merged, expected[key]!.trim());
        const oneShot = await runner.run({ pipeline, inputs: items });
        assert.equal(merged, oneShot.stdout.trim());
        assert.ok(lines(results, closed).length >= items.length);
        results.forEach((r, i) => assert.equal(r.index, i));
        assert.ok(results.every((r) => r.memoryBytes > 0 && r.timings.callMs >= 0));
      });
    }
  }
});

describe("a warm session", () => {
  it("python_inline keeps its running total across items: one Python instance per session", async () => {
    const runner = await load("python-node");
    const session = await runner.open("python_inline");
    const totals = [];
    for (const x of [1, 2, 3]) totals.push(((await session.push(x)).result.outputs["out"]![0] as { total: number }).total);
    assert.deepEqual(totals, [101, 103, 106]);
    await session.close();
  });

  it("a second open of the same bundle reuses the compiled reactor module", async () => {
    const runner = await load("multiply-add");
    const first = await runner.open("multiply_add");
    const second = await runner.open("fan_out_fan_in");
    assert.ok(first.info.compileMs > 0, "the first open compiles");
    assert.equal(second.info.compileMs, 0, "the second does not");
    const { instantiateMs, openMs } = second.info;
    assert.ok(instantiateMs >= 0 && instantiateMs <= openMs, `instantiateMs ${instantiateMs} is a part of openMs ${openMs}`);
    // Two sessions at once, each with its own instance.
    assert.deepEqual((await first.push(1)).result.outputs["out"], [3]);
    assert.equal((await second.push(1)).text, (await runner.run({ pipeline: "fan_out_fan_in", inputs: [1] })).stdout.trim());
    await first.close();
    await second.close();
  });

  it("the Whisper model is read once, at open: no push opens a file", async () => {
    const key = "whisper/live";
    const items = samples[key];
    if (!items) return;
    const runner = await load("whisper");
    const session = await runner.open("live");
    assert.ok(session.info.filesOpened.includes("/models/whisper/ggml-tiny.en-q5_1.bin"), session.info.filesOpened.join(", "));
    const opened = [];
    for (const item of items) opened.push(...(await session.push(item)).filesOpened);
    opened.push(...(await session.close()).filesOpened);
    assert.deepEqual(opened, []);
  });

  it("pushMany is the pushes in one call: one result with their values, indexes counted on", async () => {
    for (const [bundle, pipeline] of [["multiply-add", "multiply_add"], ["python-node", "python_inline"]] as const) {
      const runner = await load(bundle);
      const items = JSON.parse(await runner.manifest(pipeline)).inputs as unknown[];
      const session = await runner.open(pipeline);
      const many = await session.pushMany(items);
      const empty = await session.pushMany([]);
      const closed = await session.close();
      assert.equal(mergeResults([many, empty, closed]), (await runner.run({ pipeline, inputs: items })).stdout.trim());
      assert.deepEqual([many.index, empty.index, closed.index], [0, items.length, items.length]);
    }
  });

  it("pushMany checks every item first: a malformed one pushes none, and is named", async () => {
    const runner = await load("multiply-add");
    const session = await runner.open("multiply_add");
    await assert.rejects(
      session.pushMany([1, { $f64: "bogus" }]),
      rejectsWith("inputs", 4, /^invalid inputs: items\[1\]\.\$f64: /),
    );
    const next = await session.push(2);
    assert.deepEqual([next.index, next.text], [0, '{"outputs":{"out":[5]}}']);
    await assert.rejects(session.pushMany(3 as unknown as unknown[]), /pushMany takes an array of items/);
    await session.close();
    await assert.rejects(session.pushMany([1]), rejectsWith("usage", 1, /^the session is closed$/));
  });

  it("pushAudio of a Float32Array is the audio item pushed as JSON: the same results, byte for byte", async () => {
    const runner = await load("python-node");
    const pipeline = "numpy_biquad";
    const items = JSON.parse(await runner.manifest(pipeline)).inputs as { $audio: AudioJson }[];
    const session = await runner.open(pipeline);
    const results: SessionResult[] = [];
    for (const { $audio: a } of items) {
      const samples = floats(a);
      results.push(await session.pushAudio(samples, a.sample_rate, a.channels));
      samples.fill(0); // copied: reusing the array changes nothing pushed
    }
    results.push(await session.close());
    assert.equal(mergeResults(results), (await runner.run({ pipeline, inputs: items })).stdout.trim());
    assert.deepEqual(results.map((r) => r.index), [...items.keys(), items.length]);
  });

  it("pushAudio refuses what is not audio before it runs, and the session goes on", async () => {
    const runner = await load("multiply-add");
    const session = await runner.open("multiply_add");
    const two = new Float32Array([0.5, -0.25, 1, 2, 3]);
    await assert.rejects(
      session.pushAudio(two, 16000, 2),
      rejectsWith("inputs", 4, /^invalid inputs: audio: 5 samples is not a whole number of frames for 2 channels$/),
    );
    await assert.rejects(
      session.pushAudio(two, 0),
      rejectsWith("inputs", 4, /^invalid inputs: audio: sample rate must be an integer from 1 to 768000, got 0$/),
    );
    await assert.rejects(session.pushAudio([0.5] as unknown as Float32Array, 16000), /pushAudio takes the samples as a Float32Array/);
    await assert.rejects(session.pushAudio(two, 16000.5), /pushAudio: sampleRate must be a whole number, got 16000.5/);
    const next = await session.push(2);
    assert.deepEqual([next.index, next.text], [0, '{"outputs":{"out":[5]}}']);
    await session.close();
    await assert.rejects(session.pushAudio(two, 16000), rejectsWith("usage", 1, /^the session is closed$/));
  });

  it("Python's print() output comes back with its item (stderr), not in the result", async () => {
    const runner = await load("python-node");
    const session = await runner.open(undefined, {
      manifest: inlineManifest("class P:\n    def process(self, x):\n        print('seen', x)\n        return x\n"),
    });
    const r = await session.push(7);
    assert.equal(r.text, '{"outputs":{"out":[7]}}');
    assert.equal(r.stderr, "seen 7\n");
    await session.close();
  });
});

describe("session faults", () => {
  it("a malformed item is an inputs error (exit 4) and the session goes on", async () => {
    const runner = await load("multiply-add");
    const session = await runner.open("multiply_add");
    const first = await session.push(1);
    await assert.rejects(session.pushJson("[oops"), rejectsWith("inputs", 4, /^invalid inputs: not valid JSON: /));
    await assert.rejects(session.push({ $f64: "bogus" }), rejectsWith("inputs", 4, /^invalid inputs: item\.\$f64: /));
    const second = await session.push(2);
    assert.deepEqual([first.text, second.text], ['{"outputs":{"out":[3]}}', '{"outputs":{"out":[5]}}']);
    await session.close();
  });

  it("a push after close, and a second close, are refused (exit 1)", async () => {
    const runner = await load("multiply-add");
    const session = await runner.open("multiply_add");
    await session.push(1);
    await session.close();
    assert.ok(session.closed);
    await assert.rejects(session.push(2), rejectsWith("usage", 1, /^the session is closed$/));
    await assert.rejects(session.close(), rejectsWith("usage", 1, /^the session is closed$/));
  });

  it("two pushes without awaiting are answered in order", async () => {
    const runner = await load("multiply-add");
    const session = await runner.open("multiply_add");
    const all = await Promise.all([1, 2, 3, 4].map((x) => session.push(x)));
    assert.deepEqual(
      all.map((r) => r.result.outputs["out"]),
      [[3], [5], [7], [9]],
    );
    await session.close();
  });

  it("a model that fails at open is a node error (exit 3) naming it", async () => {
    const runner = await load("whisper");
    const manifest = JSON.parse(await runner.manifest("live")) as { nodes: { type: string; params: { model?: string } }[] };
    manifest.nodes.find((n) => n.type === "Whisper")!.params.model = "/app/whisper/live.json";
    await assert.rejects(
      runner.open("live", { manifest }),
      rejectsWith("node", 3, /^node 'asr' \(Whisper\) failed to initialise: cannot load whisper model '\/app\/whisper\/live.json': not a whisper ggml model \(bad magic\)$/),
    );
    manifest.nodes.find((n) => n.type === "Whisper")!.params.model = "/models/whisper/missing.bin";
    await assert.rejects(runner.open("live", { manifest }), rejectsWith("node", 3, /cannot read model '\/models\/whisper\/missing.bin': file not found/));
  });

  it("a Python exception on item 2: its traceback as in run; earlier results kept; later pushes fail", async () => {
    const runner = await load("python-node");
    const manifest = inlineManifest("class P:\n    def process(self, x):\n        return 10 // x\n");
    const session = await runner.open(undefined, { manifest });
    const kept = [await session.push(5), await session.push(2)];
    assert.deepEqual(kept.map((r) => r.result.outputs["out"]), [[2], [5]]);
    let failure: PipelineError | undefined;
    await assert.rejects(session.push(0), (err: unknown) => {
      failure = err as PipelineError;
      return rejectsWith("node", 3, /^node 'p' \(Python\) failed on item 2: ZeroDivisionError: integer division or modulo by zero$/)(err);
    });
    assert.match(failure!.stderr, /Traceback \(most recent call last\):/);
    assert.match(failure!.stderr, /return 10 \/\/ x/);
    // The same message and traceback as one-shot run on the same items.
    await assert.rejects(runner.run({ manifest, inputs: [5, 2, 0] }), (err: unknown) => {
      assert.ok(err instanceof PipelineError);
      assert.equal(err.message, failure!.message);
      assert.equal(err.stderr, failure!.stderr);
      return true;
    });
    await assert.rejects(session.push(1), rejectsWith("node", 3, /^session failed earlier: node 'p' \(Python\) failed on item 2: /));
    const closed = await session.close();
    assert.equal(closed.text, '{"outputs":{"out":[]}}');
  });

  it("an invalid manifest at open is a manifest error (exit 2)", async () => {
    const runner = await load("multiply-add");
    await assert.rejects(
      runner.open(undefined, { manifest: '{"version": 1, "nodes": [{"id": "a", "type": "Multply"}]}' }),
      rejectsWith("manifest", 2, /did you mean 'Multiply'/),
    );
  });

  it("the wasmer backend refuses to open a session, saying why", async () => {
    const runner = await load("multiply-add", "wasmer");
    await assert.rejects(runner.open("multiply_add"), (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError, String(err));
      assert.match(err.message, /@wasmer\/sdk runs WASI commands .*not reactors/);
      return true;
    });
  });
});

describe("mergeResults", () => {
  it("keeps every value's text as written", () => {
    const merged = mergeResults(['{"outputs":{"a":[1,2.0],"b":[]}}', '{"outputs":{"a":[{"$f64":"NaN"}],"b":["x]\\"y"]}}', '{"outputs":{"a":[],"b":[]}}']);
    assert.equal(merged, '{"outputs":{"a":[1,2.0,{"$f64":"NaN"}],"b":["x]\\"y"]}}');
  });
});
