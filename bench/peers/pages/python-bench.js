// The Python benchmark, the same steps for every peer and host (Node or a Chromium page).
// A peer is {load() -> info, run(inputs[, program]) -> outputs, close()} (program: another
// {source, klass, init} for Pyodide, measureCases); load + the first run is the
// cold start, a second run of the loaded peer the warm start, and the run time at two item
// counts gives the per-item time (the slope: start-up cancels out).
import { firstItems, itemSets, peerItem } from "./items.js";

const now = () => performance.now();
const PAIRS = 3; // runs at each item count; the medians give the slope
// items per pushMany in the batched session slope (ours): in Chromium a call is one message to
// the runner's Worker and back, so a batch pays that once for all its items
const SESSION_BATCH = 1000;
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

export async function measure(peer, name, counts, { sinceStart = false } = {}) {
  const t0 = sinceStart ? 0 : now(); // Node: performance.now() counts from the process start
  const info = await peer.load();
  const loadedMs = now() - t0;
  const first = await peer.run(firstItems(name));
  const coldMs = now() - t0;
  const t1 = now();
  const second = await peer.run(firstItems(name));
  const warmMs = now() - t1;
  // ours also has sessions (the bundle's reactor module: CPython stays up between items):
  // opening one on the loaded runner and pushing the first items, the first time (which
  // compiles the reactor) and again
  let session;
  if (peer.session) {
    const a = await peer.session(firstItems(name));
    const b = await peer.session(firstItems(name));
    session = { firstMs: a.ms, warmMs: b.ms, outputs: b.outputs };
  }
  const sets = itemSets(name, counts);
  const sessionSets = counts.sessions ? itemSets(name, counts.sessions) : sets;
  const perItem = {};
  for (const [kind, { small, large }] of Object.entries(sets)) {
    const timed = async (inputs) => {
      const t = now();
      const out = await peer.run(inputs);
      return { ms: now() - t, last: out.at(-1) };
    };
    await timed(small); // once untimed: the first call of a kind warms up
    const a = [];
    const b = [];
    let last;
    for (let i = 0; i < PAIRS; i++) {
      a.push((await timed(small)).ms);
      const big = await timed(large);
      b.push(big.ms);
      last = big.last;
    }
    perItem[kind] = {
      counts: [small.length, large.length],
      ms: [a, b],
      us_per_item: ((median(b) - median(a)) * 1000) / (large.length - small.length),
      last,
    };
    if (peer.session) {
      perItem[kind].session = await sessionSlope(peer, sessionSets[kind].small, sessionSets[kind].large);
      // batched: the runs' item counts (a few hundred pushes per slope are too few to measure)
      perItem[kind].sessionMany = await sessionSlope(peer, small, large, SESSION_BATCH);
    }
  }
  const extra = peer.reload ? await peer.reload() : undefined;
  await peer.close();
  return {
    info, loadedMs, coldMs, warmMs, first, second, perItem,
    ...(extra ? { reload: extra } : {}),
    ...(session ? { session } : {}),
  };
}

/** The same slope through sessions (ours): a session opened on the loaded runner, the items
 *  pushed one by one (or `batch` at a time with pushMany), closed; the open and close cancel
 *  out as start-up does. `same_as_run`: whether the session's outputs are those of a run of
 *  the same items. */
async function sessionSlope(peer, small, large, batch) {
  const ran = await peer.run(large); // untimed: the outputs to compare with
  await peer.session(small, batch); // once untimed, as for runs
  const a = [];
  const b = [];
  let outputs;
  for (let i = 0; i < PAIRS; i++) {
    a.push((await peer.session(small, batch)).ms);
    const big = await peer.session(large, batch);
    b.push(big.ms);
    outputs = big.outputs;
  }
  return {
    counts: [small.length, large.length],
    ...(batch ? { batch } : {}),
    ms: [a, b],
    us_per_item: ((median(b) - median(a)) * 1000) / (large.length - small.length),
    same_as_run: JSON.stringify(outputs) === JSON.stringify(ran),
  };
}

/** Given cases instead of counts (the numpy bench, rmbuild/checks/numpy_bench.py): load the
 *  peer (loadedMs: the start-up), then run each case, {source, klass, init, inputs}, `reps`
 *  times on the loaded peer (`peer.run(inputs, case)`); per case the run times, the fastest,
 *  and the SHA-256 of each output (audio: its float32 bytes; numbers: their JSON). */
export async function measureCases(peer, cases, reps, { sinceStart = false } = {}) {
  const t0 = sinceStart ? 0 : now();
  const info = await peer.load();
  const loadedMs = now() - t0;
  const runs = {};
  for (const [name, c] of Object.entries(cases)) {
    const inputs = c.inputs.map(peerItem);
    const ms = [];
    let out;
    for (let i = 0; i < reps; i++) {
      const t = now();
      out = await peer.run(inputs, c);
      ms.push(now() - t);
    }
    runs[name] = { ms, bestMs: Math.min(...ms), sha256: await Promise.all(out.map(sha256)) };
  }
  await peer.close();
  return { info, loadedMs, runs };
}

async function sha256(value) {
  const bytes = value instanceof Uint8Array ? value : new TextEncoder().encode(JSON.stringify(value));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Our Python node through the PipelineRunner (shim backend). */
export function oursPeer(PipelineRunner, { bundle, sha256, pipeline, worker }) {
  let runner;
  return {
    async load() {
      const source = typeof bundle === "function" ? await bundle() : bundle; // Node: read the file here
      runner = await PipelineRunner.load(source, { backend: "shim", sha256, worker });
      return { size: runner.info.size, fetchMs: runner.info.fetchMs, verifyMs: runner.info.verifyMs };
    },
    async run(inputs) {
      const r = await runner.run({ pipeline, inputs });
      return r.result.outputs.out;
    },
    /** A session of the inputs: pushed one by one (audio with pushAudio: its samples as the
     *  Float32Array Pyodide gets, made before the clock starts), or `batch` at a time with
     *  pushMany (JSON). */
    async session(inputs, batch) {
      const samples = inputs.map((item) => (item?.$audio ? peerItem(item) : null));
      const t = now();
      const s = await runner.open(pipeline);
      const outputs = [];
      if (batch) {
        for (let i = 0; i < inputs.length; i += batch) {
          outputs.push(...(await s.pushMany(inputs.slice(i, i + batch))).result.outputs.out);
        }
      } else {
        for (const [i, item] of inputs.entries()) {
          const r = samples[i] ? await s.pushAudio(samples[i], item.$audio.sample_rate, item.$audio.channels) : await s.push(item);
          outputs.push(...r.result.outputs.out);
        }
      }
      await s.close();
      return { ms: now() - t, outputs };
    },
    close: () => runner.close(),
  };
}
