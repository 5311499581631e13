// The Chromium half of `nox -s sessions_bench`: one-shot runs vs sessions in the runner's
// worker, on the demo site (served plain, like GitHub Pages), 127.0.0.1 only.
//
//   node e2e/sessions-bench.mjs CONFIG.json
//
// CONFIG: { url, chromium, report, python: {bundle, manifest, items, reps},
//           whisper: {bundle, pipeline, chunks2s, stream, chunkSeconds},
//           start: {bundles: {NAME: url}, pipeline, item, reps} }  (each case optional)
import { readFileSync, writeFileSync } from "node:fs";
import { launch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { page, outside, close } = await launch(config.chromium);
let report;
try {
  await page.goto(`${config.url}?sw=off`);
  await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 });
  report = await page.evaluate(async ({ python, whisper, start: startCase }) => {
    const { PipelineRunner } = globalThis.rmpkgDemo;
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const out = {};

    // The reactor's start from a cached compiled module: per bundle (the plain reactor, the
    // pre-initialised one), one runner loaded and opened once (`first`: the open compiles the
    // reactor, the runner keeps it), then `reps` fresh sessions: open, the first push (the same
    // JSON text as in wasmtime), close.
    if (startCase) {
      out.start = {};
      for (const [name, bundle] of Object.entries(startCase.bundles)) {
        const runner = await PipelineRunner.load(bundle);
        const meta = runner.metadata;
        const reactor = meta.members.find((m) => m.path === meta.runtime.reactor);
        const warm = await runner.open(startCase.pipeline);
        const warmPush = await warm.pushJson(startCase.item);
        await warm.close();
        const { compileMs, instantiateMs, openMs } = warm.info;
        const first = { compileMs, instantiateMs, openMs: openMs - instantiateMs, firstPushMs: warmPush.timings.callMs, text: warmPush.text };
        const reps = [];
        for (let i = 0; i < startCase.reps; i++) {
          const t0 = performance.now();
          const s = await runner.open(startCase.pipeline);
          const t1 = performance.now();
          const r = await s.pushJson(startCase.item);
          const t2 = performance.now();
          await s.close();
          const { compileMs, instantiateMs, openMs } = s.info;
          reps.push({
            compileMs,
            instantiateMs,
            openMs: openMs - instantiateMs,
            firstPushMs: r.timings.callMs,
            openCallMs: t1 - t0,
            pushCallMs: t2 - t1,
            text: r.text,
          });
        }
        await runner.close();
        out.start[name] = { first, reactorSha256: reactor.sha256, reactorBytes: reactor.size, reps };
      }
    }
    if (!python) return out;

    // A Python node: one-shot run of one item vs pushes into a warm session.
    const py = await PipelineRunner.load(python.bundle);
    await py.run({ manifest: python.manifest, inputs: [0] }); // compile once
    const oneShot = [];
    for (let i = 0; i < python.reps; i++) oneShot.push((await py.run({ manifest: python.manifest, inputs: [i] })).timings.totalMs);
    const s = await py.open(undefined, { manifest: python.manifest });
    const total = [];
    const call = [];
    const memory = {};
    for (let i = 0; i < Math.max(python.items, 1000); i++) {
      const r = await s.push(i);
      total.push(r.timings.totalMs);
      call.push(r.timings.callMs);
      if (i + 1 === 10 || i + 1 === 1000) memory[String(i + 1)] = r.memoryBytes;
    }
    await s.close();
    out.python = { oneShotMs: median(oneShot), pushMs: median(total.slice(10)), callMs: median(call.slice(10)), openMs: s.info.openMs, memory };
    await py.close();

    // Whisper live: 2 s chunks, one-shot vs session; then a 60 s stream pushed in real time.
    const w = await PipelineRunner.load(whisper.bundle);
    const one = await w.run({ pipeline: whisper.pipeline, inputs: [whisper.chunks2s[1]] });
    const ws = await w.open(whisper.pipeline);
    const pushes = [];
    for (const chunk of whisper.chunks2s) pushes.push((await ws.push(chunk)).timings.totalMs);
    await ws.close();
    out.whisper = { oneShotMs: one.timings.totalMs, pushMs: pushes.reduce((a, b) => a + b, 0) / pushes.length };

    const live = await w.open(whisper.pipeline);
    const modelOpens = live.info.filesOpened.filter((f) => f.startsWith("/models/")).length;
    let extraOpens = 0;
    const step = whisper.chunkSeconds * 1000;
    const start = performance.now();
    let compute = 0;
    let first = null;
    const latencies = [];
    const mem = {};
    const pending = [];
    for (let i = 0; i < whisper.stream.length; i++) {
      const due = start + (i + 1) * step; // the chunk is "captured" when its last sample is
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = performance.now();
      pending.push(
        live.push(whisper.stream[i]).then((r) => {
          compute += r.timings.callMs;
          extraOpens += r.filesOpened.length;
          if (whisper.memoryAt.includes(i + 1)) mem[String(i + 1)] = r.memoryBytes;
          if ((r.result.outputs.out ?? []).length) {
            const now = performance.now();
            latencies.push(now - sent);
            if (first === null) first = { captionS: (now - start) / 1000, windowEndS: (i + 1) * whisper.chunkSeconds, text: r.result.outputs.out[0].text };
          }
        }),
      );
    }
    await Promise.all(pending);
    await live.close();
    await w.close();
    out.whisper.rtf = compute / 1000 / (whisper.stream.length * whisper.chunkSeconds);
    out.whisper.memory = mem;
    out.whisper.live = {
      firstCaptionS: first?.captionS ?? null,
      firstWindowEndS: first?.windowEndS ?? null,
      firstText: first?.text ?? null,
      windowLatencyMs: latencies,
      medianLatencyMs: median(latencies),
      modelOpens,
      opensAfterOpen: extraOpens,
    };
    return out;
  }, { python: config.python, whisper: config.whisper, start: config.start });
} finally {
  await close();
}
report.outside = outside;
writeFileSync(config.report, JSON.stringify(report, null, 1));
const startTotals = Object.fromEntries(
  Object.entries(report.start ?? {}).map(([name, got]) => [name, got.reps.map((r) => +(r.instantiateMs + r.openMs + r.firstPushMs).toFixed(2))]),
);
const whisperSummary = report.whisper && { ...report.whisper, live: { ...report.whisper.live, windowLatencyMs: undefined } };
console.log(JSON.stringify({ start: startTotals, python: report.python, whisper: whisperSummary }));
if (outside.length) process.exit(1);
