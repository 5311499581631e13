/** The demo page: open a bundle (built-in list, local file or URL), pick a pipeline, edit its manifest, run it. */
import {
  BackendUnavailableError,
  BundleError,
  mergeResults,
  PipelineError,
  PipelineRunner,
  WorkerError,
  type BackendChoice,
} from "@remotemedia/wasm-runner";
import { decodeAudioFile, recordAudio, toAudioValue, type MonoAudio } from "./audio.js";
import { LiveCaptions, type Caption } from "./live.js";
import { $, el, human } from "./dom.js";
import { clearBundle, renderInfo, renderResult } from "./render.js";
import { fetchIndex, fromFile, fromIndex, fromUrl, type IndexEntry, type Opened } from "./sources.js";

const bundleSel = $<HTMLSelectElement>("bundle");
const pipelineSel = $<HTMLSelectElement>("pipeline");
const manifestBox = $<HTMLTextAreaElement>("manifest");
const runBtn = $<HTMLButtonElement>("run");
const statusEl = $("status");
const errorEl = $("error");
const bundleErrorEl = $("bundle-error");
const urlBox = $<HTMLInputElement>("bundle-url");
const audioInfo = $("audio-info");

/** The SDK's files are served by the site (vendor/): the runner's worker imports it from there. */
const WASMER_SDK_URL = new URL("vendor/wasmer-sdk/dist/index.js", location.href);
const OTHER = ""; // the bundle list's value while a file or URL is open

const params = new URLSearchParams(location.search);
let index: IndexEntry[] = [];
let opened: Opened | undefined;
let runner: PipelineRunner | undefined;
let loading: Promise<void> = Promise.resolve();
let loads = 0;
let audio: MonoAudio | undefined;
let live: LiveCaptions | undefined;

function setStatus(state: "idle" | "loading" | "running" | "done" | "error", text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function backendChoice(): BackendChoice {
  return (document.querySelector<HTMLInputElement>('input[name="backend"]:checked')?.value ?? "shim") as BackendChoice;
}

function renderEnv(): void {
  $("env").replaceChildren(
    el("span", {
      className: `pill ${crossOriginIsolated ? "ok" : "warn"}`,
      textContent: crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated (wasmer unavailable)",
    }),
    el("span", { className: "pill", textContent: runner ? `backend: ${runner.backend}` : "backend: —", id: "backend-used" }),
  );
}

function errorTitle(err: unknown): string {
  if (err instanceof PipelineError) return `Pipeline failed (${err.kind}, exit ${err.exitCode})`;
  if (err instanceof BundleError) return "Bundle refused";
  const name = (err as Error).name;
  return name === "BackendUnavailableError" ? "Backend unavailable" : name || "Error";
}

/** Show a failure in `box` (#bundle-error for opening a bundle, #error for a run). */
function showError(box: HTMLElement, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const stderr = err instanceof PipelineError ? err.stderr.trim() : "";
  const detail = stderr && stderr !== `error: ${message}` ? `\n\n${stderr}` : "";
  box.replaceChildren(el("strong", { textContent: errorTitle(err) }), `${message}${detail}`);
  box.hidden = false;
  box.dataset.kind = err instanceof PipelineError ? err.kind : err instanceof BundleError ? "bundle" : "other";
  setStatus("error", "failed");
}

function currentPipeline() {
  return runner?.pipelines.find((p) => p.name === pipelineSel.value);
}

async function showPipeline(): Promise<void> {
  if (!runner) return;
  const p = currentPipeline();
  $("pipeline-desc").textContent = p?.description ?? "";
  manifestBox.value = await runner.manifest(pipelineSel.value);
  $("audio-panel").hidden = p?.input_kind !== "audio";
  $("live-panel").hidden = p?.input_kind !== "audio-stream";
  $("transcript").hidden = true;
}

/** Open a bundle (or the current one again, e.g. on another backend); every outcome ends with `data-loads` + 1. */
async function open(next: () => Opened | Promise<Opened>, preferredPipeline?: string): Promise<void> {
  runBtn.disabled = true;
  errorEl.hidden = true;
  bundleErrorEl.hidden = true;
  setStatus("loading", "loading…");
  clearBundle();
  const old = runner;
  runner = undefined;
  try {
    await stopLive();
    await old?.close();
    opened = await next();
    setStatus("loading", `loading ${opened.label}…`);
    const loaded = await PipelineRunner.load(opened.source, {
      backend: backendChoice(),
      sha256: opened.sha256,
      wasmerSdkUrl: WASMER_SDK_URL,
    });
    runner = loaded;
    renderInfo(loaded.info, opened);
    pipelineSel.replaceChildren(...loaded.pipelines.map((p) => el("option", { value: p.name, textContent: p.title ?? p.name })));
    if (preferredPipeline && loaded.pipelines.some((p) => p.name === preferredPipeline)) pipelineSel.value = preferredPipeline;
    await showPipeline();
    runBtn.disabled = false;
    setStatus("idle", `ready — verified ${loaded.metadata.members.length} members in ${loaded.info.verifyMs.toFixed(0)} ms`);
  } catch (err) {
    showError(bundleErrorEl, err);
  } finally {
    renderEnv();
    document.body.dataset.loads = String(++loads);
  }
}

/** Loads run one after the other (open() never rejects). */
function queue(next: () => Opened | Promise<Opened>, preferredPipeline?: string): void {
  loading = loading.then(() => open(next, preferredPipeline));
}

function openFromList(preferredPipeline?: string): void {
  const entry = index.find((b) => b.name === bundleSel.value);
  if (entry) queue(() => fromIndex(entry), preferredPipeline);
}

function openOther(next: () => Opened | Promise<Opened>): void {
  bundleSel.value = OTHER;
  queue(next);
}

async function run(): Promise<void> {
  if (!runner) return;
  runBtn.disabled = true;
  errorEl.hidden = true;
  setStatus("running", "running…");
  try {
    const audioPipeline = currentPipeline()?.input_kind === "audio";
    const inputs = audioPipeline && audio ? [toAudioValue(audio)] : undefined;
    const result = await runner.run({ pipeline: pipelineSel.value, manifest: manifestBox.value, ...(inputs ? { inputs } : {}) });
    renderResult(result, runner.info, audioPipeline);
    setStatus("done", `done in ${result.timings.totalMs.toFixed(0)} ms`);
  } catch (err) {
    showError(errorEl, err);
  } finally {
    runBtn.disabled = false;
  }
}

const captionsEl = $("captions");
const liveStart = $<HTMLButtonElement>("live-start");
const liveStop = $<HTMLButtonElement>("live-stop");
const liveStatus = $("live-status");
let captionCount = 0;

function showCaption(c: Caption): void {
  if (!c.text) return; // a window without words (silence, [BLANK_AUDIO])
  if (captionCount++ === 0) {
    captionsEl.replaceChildren();
    captionsEl.dataset.firstAtMs = c.atMs.toFixed(0);
  }
  const lat = c.audioSeconds > 0 ? `${c.latencyMs.toFixed(0)} ms after its audio` : "at stop (the flush)";
  const p = el("p", { className: "caption" }, c.text, el("span", { className: "lat", textContent: lat }));
  p.dataset.latencyMs = c.latencyMs.toFixed(1);
  p.dataset.atMs = c.atMs.toFixed(0);
  p.dataset.flush = String(c.audioSeconds === 0);
  captionsEl.append(p);
  captionsEl.scrollTop = captionsEl.scrollHeight;
  captionsEl.dataset.count = String(captionCount);
  if (c.audioSeconds > 0) {
    $("latency").textContent =
      `latency: ${c.latencyMs.toFixed(0)} ms from the end of the window's audio to its caption ` +
      `(first caption ${(Number(captionsEl.dataset.firstAtMs) / 1000).toFixed(1)} s after the first sample)`;
  }
}

async function startLive(): Promise<void> {
  if (!runner || live) return;
  liveStart.disabled = true;
  errorEl.hidden = true;
  captionCount = 0;
  captionsEl.dataset.count = "0";
  delete captionsEl.dataset.firstAtMs;
  captionsEl.replaceChildren(el("p", { className: "muted", textContent: "listening…" }));
  try {
    live = await LiveCaptions.start(runner, pipelineSel.value, manifestBox.value, {
      caption: showCaption,
      status: (text) => (liveStatus.textContent = text),
      error: (err) => showError(errorEl, err),
    });
    liveStop.disabled = false;
    document.body.dataset.live = "listening";
  } catch (err) {
    showError(errorEl, err);
    liveStart.disabled = false;
    document.body.dataset.live = "error";
  }
}

async function stopLive(): Promise<void> {
  const current = live;
  if (!current) return;
  live = undefined;
  liveStop.disabled = true;
  liveStatus.textContent = "stopping (the last window)…";
  try {
    await current.stop();
    liveStatus.textContent = "stopped";
  } catch (err) {
    showError(errorEl, err);
  } finally {
    liveStart.disabled = false;
    document.body.dataset.live = "stopped";
  }
}

function wireAudio(): void {
  liveStart.onclick = () => void startLive();
  liveStop.onclick = () => void stopLive();
  $<HTMLInputElement>("audio-file").onchange = async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    audio = await decodeAudioFile(file);
    audioInfo.textContent = `${file.name}: ${audio.seconds.toFixed(1)} s, resampled to 16 kHz mono`;
  };
  const recordBtn = $<HTMLButtonElement>("record");
  let stop: (() => Promise<MonoAudio>) | undefined;
  recordBtn.onclick = async () => {
    if (stop) {
      audio = await stop();
      stop = undefined;
      recordBtn.classList.remove("recording");
      recordBtn.textContent = "● Record";
      audioInfo.textContent = `recording: ${audio.seconds.toFixed(1)} s at 16 kHz mono`;
      return;
    }
    try {
      stop = await recordAudio();
      recordBtn.classList.add("recording");
      recordBtn.textContent = "■ Stop";
    } catch (err) {
      showError(errorEl, err);
    }
  };
}

/** Offline after the first visit (static/sw.js); body[data-sw] says when it controls the page. */
function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator) || params.get("sw") === "off") return;
  const mark = () => (document.body.dataset.sw = navigator.serviceWorker.controller ? "controlled" : "installing");
  navigator.serviceWorker.addEventListener("controllerchange", mark);
  navigator.serviceWorker.register("sw.js").then(mark, (err) => {
    document.body.dataset.sw = "failed";
    console.warn(`service worker not registered: ${(err as Error).message}`);
  });
  mark();
}

async function main(): Promise<void> {
  registerServiceWorker();
  renderEnv();
  const backend = params.get("backend");
  if (backend) {
    const radio = document.querySelector<HTMLInputElement>(`input[name="backend"][value="${backend}"]`);
    if (radio) radio.checked = true;
  }
  pipelineSel.onchange = () => void showPipeline();
  $("reset").onclick = () => void showPipeline();
  runBtn.onclick = () => void run();
  bundleSel.onchange = () => openFromList();
  $<HTMLInputElement>("bundle-file").onchange = (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) openOther(() => fromFile(file));
  };
  $<HTMLFormElement>("bundle-url-form").onsubmit = (e) => {
    e.preventDefault();
    const text = urlBox.value;
    openOther(() => fromUrl(text));
  };
  document.querySelectorAll<HTMLInputElement>('input[name="backend"]').forEach(
    (r) => (r.onchange = () => opened && queue(() => opened!, pipelineSel.value)),
  );
  wireAudio();
  try {
    index = await fetchIndex();
  } catch (err) {
    showError(bundleErrorEl, err); // the file picker and the URL field still work
  }
  const other = el("option", { value: OTHER, textContent: "another bundle (file or URL)", hidden: true });
  bundleSel.replaceChildren(other, ...index.map((b) => el("option", { value: b.name, textContent: `${b.title} — ${human(b.size)}` })));
  const url = params.get("url");
  if (url !== null) {
    urlBox.value = url;
    openOther(() => fromUrl(url));
  } else if (index.length) {
    const wanted = params.get("bundle");
    bundleSel.value = wanted && index.some((b) => b.name === wanted) ? wanted : index[0]!.name;
    openFromList(params.get("pipeline") ?? undefined);
  }
  await loading;
}

// For tests and the curious: the library and the page state.
Object.assign(globalThis, {
  rmpkgDemo: {
    PipelineRunner,
    BundleError,
    PipelineError,
    BackendUnavailableError,
    WorkerError,
    mergeResults,
    loaded: () => loading,
    get runner() {
      return runner;
    },
  },
});
void main();
