// Drive the demo in Debian Chromium (playwright-core, no downloaded browser).
//
//   node e2e/browser.mjs CONFIG.json
//
// CONFIG: { isolatedUrl, plainUrl, expected: {"bundle/pipeline": stdout}, audio, bundlesDir, screenshots, chromium, report }
// Every example pipeline runs on each backend through the page's UI; its raw
// output must equal the native runtime's. Bundles opened from the file picker
// and the URL field run too; tampered, truncated, missing or non-bundle ones
// are refused with the reason on the page. Chromium may reach 127.0.0.1 only:
// anything else is aborted and fails the run. Writes a JSON report.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { launch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
mkdirSync(config.screenshots, { recursive: true });
const results = [];
let failures = 0;

function record(name, ok, detail = {}) {
  results.push({ name, ok, ...detail });
  if (!ok) failures++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail.message ? `: ${detail.message}` : ""}`);
}

const { page, outside, consoleErrors, close } = await launch(config.chromium);

async function settle(timeout = 180_000) {
  await page.waitForFunction(
    () => ["idle", "done", "error"].includes(document.getElementById("status")?.dataset.state ?? ""),
    null,
    { timeout },
  );
  return page.$eval("#status", (e) => ({ state: e.dataset.state, text: e.textContent }));
}

const loads = () => page.evaluate(() => Number(document.body.dataset.loads ?? 0));

async function open(base, query) {
  await page.goto(`${base}?${new URLSearchParams(query)}`);
  // The page counts finished loads (success or failure) in body[data-loads].
  await page.waitForFunction(() => Number(document.body.dataset.loads ?? 0) >= 1, null, { timeout: 180_000 });
  return settle();
}

/** Open a bundle through the page (`trigger`); resolves when that load has finished. */
async function afterLoad(trigger) {
  const before = await loads();
  await trigger();
  await page.waitForFunction((n) => Number(document.body.dataset.loads ?? 0) > n, before, { timeout: 180_000 });
  return settle();
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

const pipelines = Object.keys(config.expected).map((k) => k.split("/"));
try {
  // 1. Every pipeline, both backends, on the cross-origin isolated server.
  for (const backend of ["shim", "wasmer"]) {
    let shot = 0;
    for (const [bundle, pipeline] of pipelines) {
      const name = `${backend}: ${bundle}/${pipeline}`;
      try {
        const loaded = await open(config.isolatedUrl, { backend, bundle, pipeline });
        if (loaded.state === "error") throw new Error(`load failed: ${await page.textContent("#error")}`);
        const used = await page.textContent("#backend-used");
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

  // 4. Without COOP/COEP: auto picks the shim; wasmer refuses with a clear message.
  {
    const loaded = await open(config.plainUrl, { backend: "auto", bundle: "multiply-add" });
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
    ];
    for (const [what, trigger, pattern] of refusals) {
      const state = await afterLoad(trigger);
      const error = await page.$eval("#bundle-error", (e) => (e.hidden ? "" : e.textContent ?? ""));
      const kind = await page.$eval("#bundle-error", (e) => e.dataset.kind);
      const runDisabled = await page.$eval("#run", (e) => e.disabled);
      const ok = state.state === "error" && kind === "bundle" && runDisabled && pattern.test(error);
      record(`refused on the page (${what})`, ok, { message: error.slice(0, 240) });
      if (what === "tampered" || what === "HTTP 404") {
        await page.screenshot({ path: join(config.screenshots, `refused-${what.replace(/\W+/g, "-")}.png`), fullPage: true });
      }
    }
    const back = await afterLoad(() => page.selectOption("#bundle", "multiply-add"));
    record("the built-in list works after a refusal", back.state === "idle", { message: back.text });
  }
} finally {
  await close();
}

const unexpectedConsole = consoleErrors.filter((e) => !/Failed to load resource/.test(e));
record("no request left 127.0.0.1", outside.length === 0, outside.length ? { message: outside.join(", ") } : {});
writeFileSync(config.report, JSON.stringify({ results, outside, consoleErrors: unexpectedConsole }, null, 1));
console.log(`${results.length - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
