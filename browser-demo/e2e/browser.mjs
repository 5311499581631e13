// Drive the demo in one browser engine: Debian Chromium (playwright-core), Firefox ESR (geckodriver)
// or WebKitGTK (WebKitWebDriver); the same checks for each (engines.mjs gives one page object).
//
//   node e2e/browser.mjs CONFIG.json
//
// CONFIG: { engine, isolatedUrl, plainUrl, controlUrl, deadUrl, expected: {"bundle/pipeline": stdout},
//          samples: {"bundle/pipeline": [items]}, audio, live: {"bundle/pipeline": {file, text, seconds}},
//          liveWav, liveWavUrl, bundlesDir, screenshots, report, and the engine's binaries }
// First what the engine can do (the runner's feature detection, in the page and in its worker) and so
// which paths it takes. Every example pipeline runs on each backend the engine supports through the
// page's UI; its raw output must equal the native runtime's (a backend the engine cannot run is
// skipped with the reason, and the page must refuse it clearly). Bundles opened from the file picker
// and the URL field run too; tampered, truncated, missing, mistyped, unreachable or non-bundle ones are
// refused with the reason on the page (#bundle-error). Sessions (runner.open) in the worker: every
// pipeline's pushes merged equal native; faults. Live captions through the AudioWorklet (Chromium:
// a fake microphone playing liveWav; elsewhere liveWav played into the worklet). The site served as
// GitHub Pages serves it (no COOP/COEP): not isolated, wasmer unavailable, auto runs the shim.
// Offline (where the engine has service workers on http://127.0.0.1): after a first visit the
// service worker serves everything; with the network cut a reload still runs every pipeline.
// The browser may reach 127.0.0.1 only. Writes a JSON report.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { launchEngine } from "./engines.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
mkdirSync(config.screenshots, { recursive: true });
const results = [];
let failures = 0;
let skipped = 0;

function record(name, ok, detail = {}) {
  results.push({ name, ok, ...detail });
  if (!ok) failures++;
  console.log(`${ok ? "ok  " : "FAIL"} [${config.engine}] ${name}${detail.message ? `: ${detail.message}` : ""}`);
}

/** A check this engine cannot do, with the reason (it still appears in the report, as skipped). */
function skip(name, reason) {
  results.push({ name, ok: true, skipped: reason });
  skipped++;
  console.log(`skip [${config.engine}] ${name}: ${reason}`);
}

const engine = await launchEngine(config);
const { page, setOffline, close } = engine;
console.log(`engine: ${engine.version}`);
async function settle(timeout = 180_000) {
  await page.waitForFunction(
    () => ["idle", "done", "error"].includes(document.getElementById("status")?.dataset.state ?? ""),
    null,
    { timeout },
  );
  return page.$eval("#status", (e) => ({ state: e.dataset.state, text: e.textContent }));
}

const loads = () => page.evaluate(() => Number(document.body.dataset.loads ?? 0));

/** What a page that has not finished its load shows: for the failure's message. */
function pageState() {
  return page
    .evaluate(() => ({
      href: location.href,
      readyState: document.readyState,
      loads: document.body?.dataset.loads ?? null,
      appRan: typeof globalThis.rmpkgDemo === "object",
      sw: navigator.serviceWorker?.controller?.state ?? null,
      status: document.getElementById("status")?.textContent ?? null,
      bundleError: document.getElementById("bundle-error")?.hidden === false ? document.getElementById("bundle-error").textContent : null,
      // every resource the page and its worker asked for, with how long each took (ms)
      resources: performance.getEntriesByType("resource").map((e) => `${new URL(e.name).pathname} ${Math.round(e.duration)}`),
    }))
    .catch((err) => ({ evaluate: String(err).slice(0, 200) }));
}

/** Open the page at `base` with `query`, without its service worker: WebKitGTK's driver now and then
 *  blocks a command for good after a navigation the worker controls (one execute/async answered
 *  "timeout" after 180 s and more while the page had loaded; the shape of microsoft/playwright#42273),
 *  so the worker is registered only by the offline checks, which need it (sw.js there). */
async function open(base, query) {
  await page.goto(`${base}?${new URLSearchParams({ ...query, sw: "off" })}`);
  // The page counts finished loads (success or failure) in body[data-loads].
  await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 }).catch(async (err) => {
    throw new Error(`${err.message}; the page: ${JSON.stringify(await pageState())}`);
  });
  return settle();
}

/** Open a bundle through the page (`trigger`); resolves when that load has finished. */
async function afterLoad(trigger) {
  const before = await loads();
  await trigger();
  await page.waitForFunction((n) => Number(document.body.dataset.loads ?? 0) > n, before, { timeout: 180_000 });
  return settle();
}

/** Open a page whose first load never ends: the page object must replace the tab, once, and the
 *  page must load in the new one. The provoked replacement is taken out of the report's list. */
async function stuckTab(base) {
  const name = "webdriver: a tab the driver is stuck on is replaced, and the page loads in a new one";
  const before = engine.recoveries.length;
  const url = `${base}__test__/first-load-never-ends/${Date.now()}`;
  try {
    await page.goto(url);
    const loaded = await page.waitForFunction(() => document.body?.dataset.loads === "1" && location.href, null, { timeout: 180_000 });
    const replaced = engine.recoveries.splice(before);
    record(name, loaded === url && replaced.length === 1 && replaced[0].url === url, { message: `${loaded}; replaced ${JSON.stringify(replaced)}` });
  } catch (err) {
    record(name, false, { message: `${err}; replaced ${JSON.stringify(engine.recoveries.slice(before))}` });
  }
}

/** What the driver answers once the browser behind its session is gone: WebKitGTK 2.50.6's MiniBrowser
 *  ended once in about six runs during an offline numpy run ("Could not parse script result", then
 *  "invalid session id" for every later command); killed, the next command gets "unknown error". */
const SESSION_ENDED = /invalid session id/;

/** Run a section of checks (`fn` records them). If a check failed and the browser has ended (no
 *  browser process under the driver, or the driver says the session is gone): once, a new driver and
 *  browser (WebDriver engines) and the whole section again; the first attempt's results are dropped,
 *  and the report's driverRecoveries says why. A section that fails again there fails. */
async function section(label, fn) {
  const mark = { results: results.length, failures, skipped };
  const attempt = async () => {
    try {
      await fn();
    } catch (err) {
      record(label, false, { message: String(err) });
    }
  };
  await attempt();
  const failed = results.slice(mark.results).filter((r) => !r.ok);
  if (failed.length === 0 || !engine.restart) return;
  const ended = failed.find((r) => SESSION_ENDED.test(r.message ?? "")) ?? (engine.browserEnded() ? failed[0] : null);
  if (!ended) return;
  results.splice(mark.results);
  ({ failures, skipped } = mark);
  await engine.restart(`the browser's session ended during "${label}" (${ended.name}: ${ended.message.slice(0, 200)})`);
  await attempt();
}

/** Kill the browser at the start of a section: `section` must go on in a new session, once, and the
 *  section's check must pass there. The provoked replacement is taken out of the report's list. */
async function deadBrowser(base) {
  const name = "webdriver: a browser that ended is replaced (a new driver and browser), and its section runs again";
  const before = engine.recoveries.length;
  let attempts = 0;
  let killed = [];
  let loaded = null;
  await section(name, async () => {
    attempts++;
    if (attempts === 1) killed = engine.killBrowser();
    loaded = await open(base, { backend: "shim", bundle: "multiply-add" });
  });
  const replaced = engine.recoveries.splice(before);
  const ok = attempts === 2 && replaced.length === 1 && "endedSession" in replaced[0] && loaded?.state === "idle";
  record(name, ok, { message: `killed ${killed.join(", ")}; ${attempts} attempts; replaced ${JSON.stringify(replaced)}; then ${JSON.stringify(loaded)}` });
}

/** A bundle with one byte of a member changed (gzip and tar stay valid; the member's sha256 does not). */
function tamper(bundle) {
  const tar = gunzipSync(bundle);
  const text = (at, n) => tar.subarray(at, at + n).toString("latin1").replace(/\0.*$/s, "");
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = text(off, 100);
    const size = parseInt(text(off + 124, 12).trim() || "0", 8);
    if (name.endsWith(".json") && name !== "rmpkg.json" && size > 0) {
      tar[off + 512] ^= 0x01;
      return gzipSync(tar);
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("no member to tamper with");
}

/** Lower case, punctuation dropped, single spaces (as rmbuild.build.whisper.normalise). */
function normalise(text) {
  return text.toLowerCase().replace(/[^a-z0-9' ]+/g, " ").split(/\s+/).filter(Boolean).join(" ");
}

async function runAndRead() {
  await page.click("#run");
  await page.waitForFunction(() => document.getElementById("status")?.dataset.state === "running", null, { timeout: 5000 }).catch(() => {});
  const status = await settle();
  const raw = await page.$eval("#raw", (e) => e.textContent ?? "");
  const error = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent ?? ""));
  return { status, raw, error };
}

/** Word-level edit distance from `ref` to the closest prefix of `hyp`, / the reference's length: the
 *  captions go on into the file's next playing, so `hyp` is cut where it matches `ref` best (cutting it
 *  at ref's length instead counts each inserted word twice: once inserted, once as a lost last word). */
function prefixWordErrorRate(ref, hyp) {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    prev = row;
  }
  return Math.min(...prev) / ref.length;
}

/** Live mode through the page: captions from the fake microphone; the words, and the first caption
 *  before the audio has finished playing. */
async function liveCaptions(name, live) {
  if (config.engine !== "chromium") {
    // The same page, told to play the WAV into its AudioWorklet (?mic=): no file-backed fake microphone here.
    const url = new URL(await page.evaluate(() => location.href));
    url.searchParams.set("mic", config.liveWavUrl);
    await page.goto(url.href);
    await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 });
    await settle();
  }
  await page.click("#live-start");
  await page.waitForFunction(() => ["listening", "error"].includes(document.body.dataset.live ?? ""), null, { timeout: 120_000 });
  const want = live.text;
  const started = Date.now();
  // Until the captions hold every word of one playing of the file (or 40 s).
  await page
    .waitForFunction(
      (n) => {
        const text = [...document.querySelectorAll("#captions p.caption")].map((p) => p.firstChild?.textContent ?? "").join(" ");
        return text.toLowerCase().replace(/[^a-z0-9' ]+/g, " ").split(/\s+/).filter(Boolean).length >= n;
      },
      want.split(" ").length,
      { timeout: 40_000 },
    )
    .catch(() => {});
  await page.screenshot({ path: join(config.screenshots, "live-captions.png"), fullPage: true });
  const liveError = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent ?? ""));
  if (liveError) console.log(`live error: ${liveError}`);
  await page.click("#live-stop");
  await page.waitForFunction(() => document.body.dataset.live === "stopped", null, { timeout: 60_000 });
  const captions = await page.$$eval("#captions p.caption", (ps) =>
    ps.map((p) => ({ text: p.firstChild?.textContent ?? "", latencyMs: Number(p.dataset.latencyMs), atMs: Number(p.dataset.atMs), flush: p.dataset.flush === "true" })),
  );
  const error = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent ?? ""));
  const words = normalise(captions.map((c) => c.text).join(" "));
  const first = captions[0];
  const live_ = captions.filter((c) => !c.flush);
  // tiny.en on windows of at most 3 s cut at pauses misses a word's onset now and then
  // ("ask" -> "as"): the first playing's words, in order, with a word error rate of at most 25%.
  const wer = prefixWordErrorRate(want.split(" "), words.split(" "));
  const okWords = wer <= 0.25;
  const okFirst = first !== undefined && !first.flush && first.atMs < live.seconds * 1000;
  record(`${name}: live captions have the words`, okWords && !error, { message: `WER ${wer.toFixed(2)}: ${words} | want ${want} ${error}` });
  record(`${name}: the first caption arrives before the audio has finished playing`, okFirst, {
    message: first ? `first at ${first.atMs} ms (audio ${live.seconds} s), latency ${first.latencyMs} ms` : "no caption",
  });
  liveReport.push({ source: engine.liveSource, captions, wer, seconds: live.seconds, elapsedMs: Date.now() - started, latencyMs: live_.map((c) => c.latencyMs) });
  record(name, okWords && okFirst, {});
}

async function liveRefused(name) {
  await page.click("#live-start");
  await page.waitForFunction(() => !document.getElementById("error")?.hidden, null, { timeout: 30_000 });
  const error = await page.$eval("#error", (e) => e.textContent ?? "");
  const ok = /Backend unavailable/.test(error) && /cannot open sessions: @wasmer\/sdk runs WASI commands/.test(error);
  record(name, ok, { message: error.slice(0, 240) });
}

/** In the page: sessions through the runner's worker (the package's API), every pipeline and the faults. */
async function sessionsInTheWorker(base) {
  await page.goto(`${base}?${new URLSearchParams({ backend: "shim", bundle: "multiply-add", sw: "off" })}`);
  await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 });
  const cases = Object.keys(config.expected).map((key) => ({ key, items: config.samples?.[key] ?? null }));
  const got = await page.evaluate(async (cases) => {
    const { PipelineRunner, mergeResults } = globalThis.rmpkgDemo;
    const out = {};
    const runners = new Map();
    for (const { key, items } of cases) {
      const [bundle, pipeline] = key.split("/");
      try {
        if (!runners.has(bundle)) runners.set(bundle, await PipelineRunner.load(`bundles/${bundle}.rmpkg`));
        const runner = runners.get(bundle);
        const list = items ?? JSON.parse(await runner.manifest(pipeline)).inputs;
        const session = await runner.open(pipeline);
        const results = await Promise.all(list.map((item) => session.push(item))); // queued, in order
        results.push(await session.close());
        out[key] = { merged: mergeResults(results), compileMs: session.info.compileMs, opened: results.flatMap((r) => r.filesOpened) };
        if (bundle !== "whisper") { // the same items in one pushMany (one message to the worker); whisper's take too long twice
          const again = await runner.open(pipeline);
          out[key].mergedMany = mergeResults([await again.pushMany(list), await again.close()]);
        }
      } catch (err) {
        out[key] = { error: `${err.name}: ${err.message}` };
      }
    }
    for (const r of runners.values()) await r.close();
    return out;
  }, cases);
  const compiled = new Set();
  for (const { key } of cases) {
    const r = got[key];
    const ok = r.merged === config.expected[key].trim() && r.opened.length === 0;
    record(`session in the worker: ${key} merged equals native`, ok, ok ? {} : { message: r.error ?? `${r.merged} opened ${r.opened}` });
    const bundle = key.split("/")[0];
    if (compiled.has(bundle)) record(`session in the worker: ${key} reuses the compiled module`, r.compileMs === 0, { message: String(r.compileMs) });
    if (bundle !== "whisper") {
      const many = r.mergedMany === config.expected[key].trim();
      record(`session in the worker: ${key} in one pushMany equals native`, many, many ? {} : { message: r.error ?? String(r.mergedMany) });
    }
    compiled.add(bundle);
  }

  // audio items as Float32Arrays (pushAudio: no JSON, no base64), copied to the worker
  const audioKey = "python-node/numpy_biquad";
  const viaSamples = await page.evaluate(async (pipeline) => {
    const { PipelineRunner, mergeResults } = globalThis.rmpkgDemo;
    const runner = await PipelineRunner.load("bundles/python-node.rmpkg");
    try {
      const items = JSON.parse(await runner.manifest(pipeline)).inputs;
      const s = await runner.open(pipeline);
      const results = [];
      for (const { $audio: a } of items) {
        const samples = a.samples ? Float32Array.from(a.samples) : new Float32Array(Uint8Array.from(atob(a.data_b64), (c) => c.charCodeAt(0)).buffer);
        results.push(await s.pushAudio(samples, a.sample_rate, a.channels));
      }
      results.push(await s.close());
      return { merged: mergeResults(results) };
    } catch (err) {
      return { error: `${err.name}: ${err.message}` };
    } finally {
      await runner.close();
    }
  }, audioKey.split("/")[1]);
  const audioOk = viaSamples.merged === config.expected[audioKey].trim();
  record(`session in the worker: ${audioKey} pushed as Float32Arrays equals native`, audioOk, audioOk ? {} : { message: viaSamples.error ?? String(viaSamples.merged) });

  const faults = await page.evaluate(async () => {
    const { PipelineRunner, PipelineError, WorkerError } = globalThis.rmpkgDemo;
    const describe = (err) => ({ name: err.name, message: err.message, exitCode: err.exitCode, kind: err.kind, stderr: err.stderr, pipelineError: err instanceof PipelineError, workerError: err instanceof WorkerError });
    const settle = (promises) => Promise.all(promises.map((p) => p.then((r) => ({ ok: r.text }), (e) => ({ err: describe(e) }))));
    const out = {};
    const math = await PipelineRunner.load("bundles/multiply-add.rmpkg");
    let s = await math.open("multiply_add");
    out.malformed = await settle([s.push(1), s.pushJson("[oops"), s.push(2)]);
    await s.close();
    out.afterClose = await settle([s.push(3)]);
    s = await math.open("multiply_add");
    out.malformedMany = await settle([s.pushMany([1, { $f64: "bogus" }]), s.push(2)]);
    await s.close();
    const py = await PipelineRunner.load("bundles/python-node.rmpkg");
    const source = "class P:\n    def process(self, x):\n        return 10 // x\n";
    const manifest = { version: 1, nodes: [{ id: "p", type: "Python", params: { class: "P", source } }, { id: "out", type: "Output" }], connections: [{ from: "p", to: "out" }] };
    s = await py.open(undefined, { manifest });
    out.python = await settle([s.push(5), s.push(2), s.push(0), s.push(1)]);
    out.pythonClose = (await s.close()).text;
    const whisper = await PipelineRunner.load("bundles/whisper.rmpkg");
    const live = JSON.parse(await whisper.manifest("live"));
    live.nodes.find((n) => n.type === "Whisper").params.model = "/app/whisper/live.json";
    out.badModel = await settle([whisper.open("live", { manifest: live })]);
    // A long push still running: close() rejects it and what is queued behind it.
    const tone = { $audio: { sample_rate: 16000, channels: 1, samples: Array.from({ length: 48000 }, (_, i) => 0.3 * Math.sin(i / 5)) } };
    s = await whisper.open("transcribe");
    const pending = [s.push(tone), s.push(tone)];
    await new Promise((r) => setTimeout(r, 200));
    await whisper.close();
    out.closed = await settle([...pending, s.push(tone)]);
    // terminate(): the worker is stopped in the middle of an item.
    s = await py.open("python_inline");
    const first = await s.push(1);
    const slow = { version: 1, nodes: [{ id: "p", type: "Python", params: { class: "P", source: "class P:\n    def process(self, x):\n        while True:\n            pass\n" } }] };
    const stuck = await py.open(undefined, { manifest: slow });
    const hanging = stuck.push(1);
    await new Promise((r) => setTimeout(r, 300));
    py.terminate();
    out.terminated = await settle([hanging, s.push(2)]);
    out.terminatedFirst = first.text;
    await math.close();
    return out;
  });
  const f = faults;
  const isErr = (r, kind, code, re) => r.err && r.err.pipelineError && r.err.kind === kind && r.err.exitCode === code && re.test(r.err.message);
  record("session fault: a malformed item (exit 4), the session goes on",
    f.malformed[0].ok === '{"outputs":{"out":[3]}}' && isErr(f.malformed[1], "inputs", 4, /^invalid inputs: not valid JSON/) && f.malformed[2].ok === '{"outputs":{"out":[5]}}',
    { message: JSON.stringify(f.malformed).slice(0, 300) });
  record("session fault: pushMany with a malformed item (exit 4, named) pushes none, the session goes on",
    isErr(f.malformedMany[0], "inputs", 4, /^invalid inputs: items\[1\]\.\$f64: /) && f.malformedMany[1].ok === '{"outputs":{"out":[5]}}',
    { message: JSON.stringify(f.malformedMany).slice(0, 300) });
  record("session fault: push after close (exit 1)", isErr(f.afterClose[0], "usage", 1, /^the session is closed$/), { message: JSON.stringify(f.afterClose) });
  const py = f.python;
  record("session fault: a Python exception on item 2 (traceback), earlier results kept, later pushes fail",
    py[0].ok === '{"outputs":{"out":[2]}}' && py[1].ok === '{"outputs":{"out":[5]}}' &&
      isErr(py[2], "node", 3, /^node 'p' \(Python\) failed on item 2: ZeroDivisionError/) && /Traceback \(most recent call last\)/.test(py[2].err.stderr) &&
      isErr(py[3], "node", 3, /^session failed earlier: node 'p' \(Python\) failed on item 2/) && f.pythonClose === '{"outputs":{"out":[]}}',
    { message: JSON.stringify(py).slice(0, 400) });
  record("session fault: a model that fails at open (exit 3)", isErr(f.badModel[0], "node", 3, /failed to initialise: cannot load whisper model .*bad magic/), { message: JSON.stringify(f.badModel) });
  const closedOk = f.closed.every((r) => r.err?.workerError) && /the runner was closed/.test(f.closed[0].err?.message ?? "");
  record("session fault: runner.close() rejects the pushes it had not answered (WorkerError)", closedOk, { message: JSON.stringify(f.closed).slice(0, 300) });
  const termOk = f.terminated.every((r) => r.err?.workerError) && /terminated/.test(f.terminated[0].err?.message ?? "") && /"total":101/.test(f.terminatedFirst);
  record("session fault: a terminated worker rejects the pending push and later ones (WorkerError)", termOk, { message: JSON.stringify(f.terminated).slice(0, 300) });
}

/** Offline: a first visit (the service worker caches the page, the runner and the bundles it opens),
 *  then the network is cut and a reload runs every pipeline from the cache. */
async function offline(base, label) {
  const q = (bundle, pipeline) => `${base}?${new URLSearchParams({ backend: "shim", bundle, ...(pipeline ? { pipeline } : {}) })}`;
  await page.goto(q("multiply-add"));
  await page.waitForFunction(() => document.body.dataset.sw === "controlled", null, { timeout: 60_000 });
  const bundles = [...new Set(pipelines.map(([b]) => b))];
  for (const bundle of bundles) {
    await page.goto(q(bundle));
    await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 });
    await settle();
  }
  const { cached, pages } = await page.evaluate(async (bundles) => {
    const keys = await Promise.all((await caches.keys()).map(async (k) => (await (await caches.open(k)).keys()).map((r) => new URL(r.url))));
    const urls = keys.flat();
    return {
      cached: bundles.filter((b) => urls.some((u) => u.pathname === `/bundles/${b}.rmpkg`)),
      // the page once, under its path, however many ?bundle=... URLs were visited
      pages: urls.filter((u) => u.pathname === "/").map((u) => u.href),
    };
  }, bundles);
  record(`offline (${label}): the service worker cached every bundle opened`, cached.length === bundles.length && pages.length === 1, {
    message: `cached ${cached.join(", ")}; the page as ${pages.join(", ")}`,
  });
  await setOffline(true);
  let unloaded = "";
  try {
    for (const [bundle, pipeline] of pipelines) {
      const key = `${bundle}/${pipeline}`;
      const name = `offline (${label}): ${key}`;
      if (unloaded) {
        // One page that never loads offline would cost every later pipeline the full wait.
        record(name, false, { message: `not tried: ${unloaded}` });
        continue;
      }
      try {
        await page.goto(q(bundle, pipeline)).catch(() => page.reload());
        const loadedOffline = await page
          .waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 120_000 })
          .then(() => true, () => false);
        if (!loadedOffline) {
          unloaded = `the page did not finish a load offline within 120 s: ${JSON.stringify(await pageState())}`;
          throw new Error(unloaded);
        }
        const loaded = await settle();
        if (loaded.state === "error") throw new Error(`load failed: ${await page.textContent("#bundle-error")}`);
        let raw;
        if (config.live?.[key]) {
          raw = await page.evaluate(async ({ pipeline, items }) => {
            const { runner, mergeResults } = globalThis.rmpkgDemo;
            const s = await runner.open(pipeline);
            const results = [];
            for (const item of items) results.push(await s.push(item));
            results.push(await s.close());
            return mergeResults(results);
          }, { pipeline, items: config.samples[key] });
        } else if (config.audio?.[key]) {
          await page.setInputFiles("#audio-file", config.audio[key].file);
          await page.waitForFunction(() => (document.getElementById("audio-info")?.textContent ?? "") !== "", null, { timeout: 30_000 });
          const { status } = await runAndRead();
          const transcript = await page.$eval("#transcript", (e) => (e.hidden ? "" : e.textContent ?? ""));
          record(name, status.state === "done" && normalise(transcript) === config.audio[key].text, { message: transcript });
          continue;
        } else {
          raw = (await runAndRead()).raw;
        }
        const ok = raw.trim() === config.expected[key].trim();
        record(name, ok, ok ? {} : { message: raw.slice(0, 300) });
      } catch (err) {
        record(name, false, { message: String(err) });
      }
    }
    await page.screenshot({ path: join(config.screenshots, `offline-${label}.png`), fullPage: true });
  } finally {
    await setOffline(false);
  }
}

const liveReport = [];
const pipelines = Object.keys(config.expected).map((k) => k.split("/"));

/** What the page and the runner's worker can do here, and what the page says about it. */
async function detect(base, label) {
  await open(base, { backend: "auto", bundle: "multiply-add", sw: "off" });
  const got = await page.evaluate(() => {
    const info = globalThis.rmpkgDemo.runner?.info;
    return {
      page: JSON.parse(document.body.dataset.features ?? "{}"),
      worker: info?.features ?? null,
      backend: info?.backend ?? null,
      backendReason: info?.backendReason ?? null,
      simd: info?.simd ?? null,
      env: document.getElementById("env")?.textContent ?? "",
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      userAgent: navigator.userAgent,
      // The platform asked directly, not through the runner's detectFeatures(): what the test compares it with.
      raw: {
        crossOriginIsolated: globalThis.crossOriginIsolated === true,
        sharedArrayBuffer: typeof SharedArrayBuffer === "function",
        serviceWorker: typeof navigator.serviceWorker?.register === "function",
        audioWorklet: typeof AudioWorkletNode === "function",
        getUserMedia: typeof navigator.mediaDevices?.getUserMedia === "function",
      },
    };
  });
  await page.screenshot({ path: join(config.screenshots, `features-${label}.png`), fullPage: true });
  return got;
}

const report = { engine: config.engine, version: engine.version, features: {}, paths: {} };
try {
  // 0. What this engine can do; the paths the runner and the page take.
  const isolated = await detect(config.isolatedUrl, "isolated");
  const plain = await detect(config.plainUrl, "plain");
  report.userAgent = isolated.userAgent;
  report.features = { isolated: { ...isolated.page, worker: isolated.worker }, plain: { ...plain.page, worker: plain.worker } };
  report.platform = { isolated: isolated.raw, plain: plain.raw };
  const wasmerWhy = isolated.page.wasmerUnavailable;
  const hasSw = isolated.page.serviceWorker === true;
  report.paths = {
    "auto backend (COOP/COEP)": `${isolated.backend}: ${isolated.backendReason}`,
    "auto backend (plain, as GitHub Pages)": `${plain.backend}: ${plain.backendReason}`,
    wasmer: wasmerWhy ? `unavailable: ${wasmerWhy}` : "runs (cross-origin isolated, shared memory)",
    simd: isolated.simd,
    live: isolated.page.audioWorklet ? engine.liveSource : "no AudioWorklet: live captions refused",
    offline: hasSw ? "service worker" : "no service worker on http://127.0.0.1: no offline mode",
  };
  console.log(`features (isolated page): ${JSON.stringify(isolated.page)}`);
  console.log(`paths: ${JSON.stringify(report.paths, null, 1)}`);
  record("features: the page and the worker report them", isolated.worker !== null && typeof isolated.page.simd128 === "boolean", {
    message: JSON.stringify({ page: isolated.page, worker: isolated.worker }).slice(0, 400),
  });
  record("features: WebAssembly with SIMD128 (the bundle's module needs it)", isolated.page.simd128 === true && isolated.worker?.simd128 === true, {});
  record("auto picks a backend that runs here (COOP/COEP)", isolated.backend === (wasmerWhy ? "shim" : "wasmer"), { message: `${isolated.backend}: ${isolated.backendReason}` });

  // 1. Every pipeline, each backend, on the cross-origin isolated server.
  for (const backend of ["shim", "wasmer"]) {
    if (backend === "wasmer" && wasmerWhy) {
      for (const [bundle, pipeline] of pipelines) skip(`${backend}: ${bundle}/${pipeline}`, `wasmer unavailable in this engine: ${wasmerWhy}`);
      const refused = await open(config.isolatedUrl, { backend: "wasmer", bundle: "multiply-add" });
      const error = await page.$eval("#bundle-error", (e) => (e.hidden ? "" : e.textContent ?? ""));
      record("wasmer unavailable: the page says why", refused.state === "error" && /Backend unavailable/.test(error), { message: error.slice(0, 240) });
      continue;
    }
    let shot = 0;
    for (const [bundle, pipeline] of pipelines) {
      const name = `${backend}: ${bundle}/${pipeline}`;
      try {
        const loaded = await open(config.isolatedUrl, { backend, bundle, pipeline });
        if (loaded.state === "error") throw new Error(`load failed: ${await page.textContent("#bundle-error")}`);
        const used = await page.textContent("#backend-used");
        const live = config.live?.[`${bundle}/${pipeline}`];
        if (live) {
          if (backend === "shim" && !isolated.page.audioWorklet) skip(`${name}: live captions have the words`, "no AudioWorklet in this engine");
          else if (backend === "shim") await liveCaptions(name, live);
          else await liveRefused(name);
          continue;
        }
        const sample = config.audio?.[`${bundle}/${pipeline}`];
        if (sample) {
          // An audio pipeline: upload the sample as a user would. The page decodes and
          // resamples it with WebAudio, so the samples (and so the timestamps) may differ
          // from the native run's: the transcript's words must match.
          await page.setInputFiles("#audio-file", sample.file);
          await page.waitForFunction(() => (document.getElementById("audio-info")?.textContent ?? "") !== "", null, { timeout: 30_000 });
          for (const round of ["", " (second run)"]) {
            const { status, error } = await runAndRead();
            const transcript = await page.$eval("#transcript", (e) => (e.hidden ? "" : e.textContent ?? ""));
            const ok = status.state === "done" && normalise(transcript) === sample.text && used === `backend: ${backend}`;
            const totalMs = Number(await page.$eval("#timings", (e) => e.dataset.totalMs ?? "NaN"));
            record(`${name}${round}`, ok, ok ? { totalMs } : { message: `status ${status.state} (${error || status.text}); transcript ${transcript}; ${used}` });
            if (!round) await page.screenshot({ path: join(config.screenshots, `${backend}-${bundle}-${pipeline}.png`), fullPage: true });
          }
          continue;
        }
        const { status, raw, error } = await runAndRead();
        const want = config.expected[`${bundle}/${pipeline}`].trim();
        const ok = status.state === "done" && raw.trim() === want && used === `backend: ${backend}`;
        const totalMs = Number(await page.$eval("#timings", (e) => e.dataset.totalMs ?? "NaN"));
        record(name, ok, ok ? { totalMs } : { message: `status ${status.state} (${error || status.text}); got ${raw.trim()} want ${want}; ${used}` });
        if (shot++ < 2 || pipeline.startsWith("python")) {
          await page.screenshot({ path: join(config.screenshots, `${backend}-${bundle}-${pipeline}.png`), fullPage: true });
        }
        // A second run reuses the compiled module: must give the same bytes.
        const again = await runAndRead();
        record(`${name} (second run)`, again.raw.trim() === want, again.raw.trim() === want ? {} : { message: again.raw });
      } catch (err) {
        record(name, false, { message: String(err) });
      }
    }
  }

  // 2. A manifest error is shown clearly (and the page recovers).
  {
    await open(config.isolatedUrl, { backend: "shim", bundle: "multiply-add", pipeline: "multiply_add" });
    const text = await page.inputValue("#manifest");
    await page.fill("#manifest", text.replace('"Multiply"', '"Multiplyy"'));
    const { status, error } = await runAndRead();
    const kind = await page.$eval("#error", (e) => e.dataset.kind);
    const ok = status.state === "error" && kind === "manifest" && /invalid manifest: nodes\[0\]\.type/.test(error);
    record("manifest error is reported", ok, ok ? {} : { message: `${status.state} ${kind} ${error}` });
    await page.screenshot({ path: join(config.screenshots, "error-manifest.png"), fullPage: true });
    await page.click("#reset");
    const back = await runAndRead();
    record("page recovers after an error", back.status.state === "done", {});
  }

  // 3. Tampered / mispinned bundles are refused inside the worker, typed as BundleError.
  for (const [what, mutate, pin, pattern] of [
    ["flipped byte", "flip", false, /gzip layer is damaged|checksum|sha256/],
    ["wrong sha256 pin", "none", true, /bundle sha256 is [0-9a-f]{64}, expected 0{64}/],
    ["truncated", "truncate", false, /truncated|damaged/],
  ]) {
    const got = await page.evaluate(
      async ({ mutate, pin }) => {
        const bytes = new Uint8Array(await (await fetch("bundles/multiply-add.rmpkg")).arrayBuffer());
        let data = bytes;
        if (mutate === "flip") data[Math.floor(data.length * 0.6)] ^= 0x55;
        if (mutate === "truncate") data = data.slice(0, data.length - 64);
        try {
          await globalThis.rmpkgDemo.PipelineRunner.load(data, pin ? { sha256: "0".repeat(64) } : {});
          return { name: "none", message: "accepted" };
        } catch (err) {
          return { name: err.name, message: err.message, isBundleError: err instanceof globalThis.rmpkgDemo.BundleError };
        }
      },
      { mutate, pin },
    );
    const ok = got.isBundleError && pattern.test(got.message);
    record(`tampered bundle refused (${what})`, ok, { message: got.message });
  }

  // 4. The site as GitHub Pages serves it (no COOP/COEP): not isolated, the page says wasmer is
  //    unavailable, auto runs the shim, wasmer refuses with a clear message.
  {
    const loaded = await open(config.plainUrl, { backend: "auto", bundle: "multiply-add" });
    const env = await page.$eval("#env", (e) => e.textContent ?? "");
    const isolatedHere = await page.evaluate(() => globalThis.crossOriginIsolated === true);
    record("pages (plain): crossOriginIsolated is false and the page says wasmer is unavailable",
      !isolatedHere && /not cross-origin isolated \(wasmer unavailable\)/.test(env), { message: env });
    const used = await page.textContent("#backend-used");
    const { raw } = await runAndRead();
    const ok = loaded.state !== "error" && used === "backend: shim" && raw.trim() === config.expected["multiply-add/multiply_add"].trim();
    record("no isolation: auto runs on the shim", ok, ok ? {} : { message: `${used} ${raw}` });
    await page.screenshot({ path: join(config.screenshots, "plain-auto-shim.png"), fullPage: true });
    const refused = await open(config.plainUrl, { backend: "wasmer", bundle: "multiply-add" });
    const error = await page.$eval("#bundle-error", (e) => (e.hidden ? "" : e.textContent ?? ""));
    const ok2 = refused.state === "error" && /cross-origin isolated/.test(error);
    record("no isolation: wasmer refuses clearly", ok2, { message: error.slice(0, 200) });
    await page.screenshot({ path: join(config.screenshots, "plain-wasmer-refused.png"), fullPage: true });
  }
  // 5. Any bundle: from the file picker and the URL field; a refused one says why on the page.
  {
    await open(config.isolatedUrl, { backend: "shim", bundle: "multiply-add" });
    const runDefault = async (name, bundle) => {
      const key = `${bundle}/${await page.inputValue("#pipeline")}`;
      const { status, raw, error } = await runAndRead();
      const ok = status.state === "done" && raw.trim() === config.expected[key]?.trim();
      record(`${name}: ${key} equals native`, ok, ok ? {} : { message: `${status.state} ${error} ${raw}` });
    };
    const file = join(config.bundlesDir, "python-node.rmpkg");
    const fromFile = await afterLoad(() => page.setInputFiles("#bundle-file", file));
    record("file picker: bundle opens", fromFile.state === "idle", { message: fromFile.text });
    await runDefault("file picker", "python-node");
    await page.screenshot({ path: join(config.screenshots, "open-file.png"), fullPage: true });
    const openUrl = (url) =>
      afterLoad(async () => {
        await page.fill("#bundle-url", url);
        await page.click("#bundle-url-open");
      });
    const fromUrl = await openUrl(`${config.isolatedUrl}bundles/multiply-add.rmpkg`);
    record("URL field: bundle opens", fromUrl.state === "idle", { message: fromUrl.text });
    await runDefault("URL field", "multiply-add");

    const good = readFileSync(join(config.bundlesDir, "multiply-add.rmpkg"));
    const refusals = [
      ["tampered", () => page.setInputFiles("#bundle-file", { name: "tampered.rmpkg", mimeType: "application/octet-stream", buffer: tamper(good) }), /has sha256 [0-9a-f]{64}, rmpkg.json says [0-9a-f]{64}: the bundle is corrupted or was tampered with/],
      ["truncated", () => page.setInputFiles("#bundle-file", { name: "truncated.rmpkg", mimeType: "application/octet-stream", buffer: good.subarray(0, good.length >> 1) }), /truncated|damaged/],
      ["not a bundle", () => page.setInputFiles("#bundle-file", { name: "notes.rmpkg", mimeType: "text/plain", buffer: Buffer.from("just some notes\n".repeat(8)) }), /no gzip header/],
      ["HTTP 404", () => openUrl(`${config.isolatedUrl}bundles/missing.rmpkg`), /cannot fetch bundle \S+missing.rmpkg: HTTP 404/],
      ["an HTML page", () => openUrl(`${config.isolatedUrl}index.html`), /is an HTML page \(Content-Type text\/html/],
      // A bundle served with the wrong MIME type: HTML (a server's error page, or a misconfigured one) is refused
      // before its bytes are read; any other type is read and must be a valid bundle.
      ["a bundle served as text/html", () => openUrl(`${config.isolatedUrl}__test__/as-html/multiply-add.rmpkg`), /is an HTML page \(Content-Type text\/html/],
      ["a text file served as text/plain", () => openUrl(`${config.isolatedUrl}__test__/as-text/notes.rmpkg`), /no gzip header/],
      ["a server that is not there", () => openUrl(`${config.deadUrl}bundles/multiply-add.rmpkg`), /cannot fetch bundle \S+: .*network error/],
      ["another origin without CORS", () => openUrl(`${config.plainUrl}bundles/multiply-add.rmpkg`), /cannot fetch bundle \S+: .*(network error|cross-origin)/],
    ];
    for (const [what, trigger, pattern] of refusals) {
      const state = await afterLoad(trigger);
      const error = await page.$eval("#bundle-error", (e) => (e.hidden ? "" : e.textContent ?? ""));
      const kind = await page.$eval("#bundle-error", (e) => e.dataset.kind);
      const runDisabled = await page.$eval("#run", (e) => e.disabled);
      const ok = state.state === "error" && kind === "bundle" && runDisabled && pattern.test(error);
      record(`refused on the page (${what})`, ok, { message: error.slice(0, 240) });
      if (["tampered", "HTTP 404", "a bundle served as text/html", "a server that is not there"].includes(what)) {
        await page.screenshot({ path: join(config.screenshots, `refused-${what.replace(/\W+/g, "-")}.png`), fullPage: true });
      }
    }
    const back = await afterLoad(() => page.selectOption("#bundle", "multiply-add"));
    record("the built-in list works after a refusal", back.state === "idle", { message: back.text });
  }
  // 6. WebKitGTK: the page object's way out of a tab the driver stays stuck on (webdriver.mjs), on a
  //    page whose first load never ends (the test server holds it open; the next load ends). Before
  //    the offline checks: their service worker would answer for that page itself.
  if (config.engine === "webkit") await stuckTab(config.isolatedUrl);
  if (config.engine === "webkit") await deadBrowser(config.isolatedUrl);

  // 7. Offline after the first visit, without COOP/COEP (GitHub Pages) and with.
  for (const [base, label] of [[config.plainUrl, "plain"], [config.isolatedUrl, "isolated"]]) {
    if (!hasSw) {
      skip(`offline (${label})`, "no service worker API on http://127.0.0.1 in this engine");
      continue;
    }
    await section(`offline (${label})`, () => offline(base, label));
  }

  // 8. Sessions through the worker: every pipeline, and the faults. Last: one fault terminates a
  //    worker stuck in a Python `while True`, and WebKitGTK 2.50.6 does not stop a wasm loop on
  //    terminate() (the web process stays at 100% of a core); with this before the offline checks,
  //    no offline reload there ever finished loading (with it after them, the plain site's all pass).
  await section("sessions in the worker", () => sessionsInTheWorker(config.isolatedUrl));
} catch (err) {
  record("the checks ran to their end", false, { message: String(err?.stack ?? err).slice(0, 600) });
} finally {
  await close();
}

const outside = await engine.outside();
const unexpectedConsole = engine.consoleErrors.filter((e) => !/Failed to load resource/.test(e));
record("no request left 127.0.0.1", outside.length === 0, outside.length ? { message: outside.join(", ") } : {});
writeFileSync(
  config.report,
  JSON.stringify({ ...report, results, outside, consoleErrors: unexpectedConsole, live: liveReport, driverRecoveries: engine.recoveries }, null, 1),
);
console.log(`[${config.engine}] ${results.length - failures - skipped} passed, ${failures} failed, ${skipped} skipped`);
process.exit(failures ? 1 : 0);
