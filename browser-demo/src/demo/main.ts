/** The demo page: pick a bundle and pipeline, edit the manifest, run it, see outputs and timings. */
import { BundleError, PipelineError } from "../bundle/errors.js";
import { PipelineRunner } from "../runner.js";
import type { BackendChoice, RunResult } from "../types.js";
import { decodeAudioFile, recordAudio, toAudioValue, type MonoAudio } from "./audio.js";

interface IndexEntry {
  name: string;
  file: string;
  title: string;
  description: string;
  size: number;
  sha256: string;
  unpacked_size: number;
  pipelines: string[];
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const bundleSel = $<HTMLSelectElement>("bundle");
const pipelineSel = $<HTMLSelectElement>("pipeline");
const manifestBox = $<HTMLTextAreaElement>("manifest");
const runBtn = $<HTMLButtonElement>("run");
const statusEl = $("status");
const errorEl = $("error");
const outputsEl = $("outputs");
const rawEl = $("raw");
const timingsEl = $("timings");
const infoEl = $("bundle-info");
const envEl = $("env");
const transcriptEl = $("transcript");
const audioPanel = $("audio-panel");
const audioInfo = $("audio-info");

const params = new URLSearchParams(location.search);
let index: IndexEntry[] = [];
let runner: PipelineRunner | undefined;
let loading: Promise<void> = Promise.resolve();
let audio: MonoAudio | undefined;

function setStatus(state: "idle" | "loading" | "running" | "done" | "error", text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function human(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...kids);
  return node;
}

function backendChoice(): BackendChoice {
  return (document.querySelector<HTMLInputElement>('input[name="backend"]:checked')?.value ?? "shim") as BackendChoice;
}

function renderEnv(): void {
  envEl.replaceChildren(
    el("span", {
      className: `pill ${crossOriginIsolated ? "ok" : "warn"}`,
      textContent: crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated (wasmer unavailable)",
    }),
    el("span", { className: "pill", textContent: runner ? `backend: ${runner.backend}` : "backend: —", id: "backend-used" }),
  );
}

function showError(err: unknown): void {
  const title =
    err instanceof PipelineError
      ? `Pipeline failed (${err.kind}, exit ${err.exitCode})`
      : err instanceof BundleError
        ? "Bundle refused"
        : (err as Error).name === "BackendUnavailableError"
          ? "Backend unavailable"
          : (err as Error).name || "Error";
  const detail = err instanceof PipelineError && err.stderr.trim() && err.stderr.trim() !== `error: ${err.message}` ? `\n\n${err.stderr.trim()}` : "";
  errorEl.replaceChildren(el("strong", { textContent: title }), `${(err as Error).message}${detail}`);
  errorEl.hidden = false;
  errorEl.dataset.kind = err instanceof PipelineError ? err.kind : err instanceof BundleError ? "bundle" : "other";
  setStatus("error", "failed");
}

function renderInfo(entry: IndexEntry): void {
  if (!runner) return;
  const meta = runner.metadata;
  const rows: [string, string][] = [
    ["name", `${meta.name} ${meta.version}`],
    ["file", `${entry.file} — ${human(runner.info.size)} (unpacked ${human(entry.unpacked_size)})`],
    ["sha256", runner.info.sha256],
    ["target", meta.runtime_target],
    ["runtime", `${meta.runtime.module}`],
    ["mounts", [...meta.wasi_deps, ...meta.models].map((m) => `${m.source}/ → ${m.mount}`).join("\n")],
    ["verified", `${meta.members.length} members, sha256 each (${runner.info.verifyMs.toFixed(0)} ms)`],
  ];
  infoEl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
}

function renderValue(v: unknown): string {
  if (v && typeof v === "object" && "$audio" in (v as object)) {
    const a = (v as { $audio: { sample_rate: number; channels: number; data_b64?: string } }).$audio;
    return `audio ${a.sample_rate} Hz × ${a.channels} ch`;
  }
  return JSON.stringify(v);
}

function renderResult(result: RunResult): void {
  const outputs = result.result.outputs ?? {};
  const tables = Object.entries(outputs).map(([node, items]) => {
    const body = el("tbody", {}, ...items.map((v, i) => el("tr", {}, el("td", { className: "i", textContent: String(i) }), el("td", { className: "v", textContent: renderValue(v) }))));
    return el(
      "table",
      {},
      el("caption", {}, `output `, el("code", { textContent: node }), el("span", { className: "badge", textContent: `${items.length} item${items.length === 1 ? "" : "s"}` })),
      el("thead", {}, el("tr", {}, el("th", { textContent: "#" }), el("th", { textContent: "value" }))),
      body,
    );
  });
  outputsEl.replaceChildren(...(tables.length ? tables : [el("p", { className: "muted", textContent: "No outputs." })]));
  rawEl.textContent = result.stdout;
  const texts = Object.values(outputs).flat().filter((v): v is string => typeof v === "string");
  const text = texts.length ? texts.join(" ") : Object.values(outputs).flat().map((v) => (v && typeof v === "object" && "text" in v ? String((v as { text: unknown }).text) : "")).join(" ").trim();
  transcriptEl.hidden = !(currentPipeline()?.input_kind === "audio" && text);
  transcriptEl.textContent = text;

  const t = result.timings;
  const load = runner!.info;
  const bars: [string, number][] = [
    ["fetch *", load.fetchMs],
    ["verify *", load.verifyMs],
    ["compile", t.compileMs],
    ["mount", t.mountMs],
    ["run", t.runMs],
  ];
  const max = Math.max(...bars.map(([, v]) => v), 1);
  timingsEl.replaceChildren(
    ...bars.map(([name, ms]) =>
      el("div", { className: "bar" }, el("span", { textContent: name }), el("div", { className: "track" }, fill((100 * ms) / max)), el("span", { className: "ms", textContent: `${ms.toFixed(1)} ms` })),
    ),
    el("div", { className: "bar total" }, el("span", { textContent: "this run" }), el("span", { className: "muted", textContent: `${result.backend} backend${t.compileMs === 0 ? ", module cached" : ""}` }), el("span", { className: "ms", textContent: `${t.totalMs.toFixed(1)} ms` })),
    el("p", { className: "muted", textContent: "* once per bundle load" }),
  );
  timingsEl.dataset.totalMs = t.totalMs.toFixed(1);
}

function fill(percent: number): HTMLDivElement {
  const bar = el("div", { className: "fill" });
  bar.style.width = `${percent}%`;
  return bar;
}

function currentEntry(): IndexEntry | undefined {
  return index.find((b) => b.name === bundleSel.value);
}

function currentPipeline() {
  return runner?.pipelines.find((p) => p.name === pipelineSel.value);
}

async function showPipeline(): Promise<void> {
  if (!runner) return;
  const p = currentPipeline();
  $("pipeline-desc").textContent = p?.description ?? "";
  manifestBox.value = await runner.manifest(pipelineSel.value);
  audioPanel.hidden = p?.input_kind !== "audio";
  transcriptEl.hidden = true;
}

async function loadBundle(preferredPipeline?: string): Promise<void> {
  const entry = currentEntry();
  if (!entry) return;
  runBtn.disabled = true;
  errorEl.hidden = true;
  setStatus("loading", `loading ${entry.file} (${human(entry.size)})…`);
  const old = runner;
  runner = undefined;
  await old?.close();
  try {
    runner = await PipelineRunner.load(new URL(`bundles/${entry.file}`, location.href), {
      backend: backendChoice(),
      sha256: entry.sha256,
    });
  } catch (err) {
    renderEnv();
    showError(err);
    return;
  }
  renderEnv();
  renderInfo(entry);
  pipelineSel.replaceChildren(...runner.pipelines.map((p) => el("option", { value: p.name, textContent: p.title ?? p.name })));
  if (preferredPipeline && runner.pipelines.some((p) => p.name === preferredPipeline)) pipelineSel.value = preferredPipeline;
  await showPipeline();
  runBtn.disabled = false;
  setStatus("idle", `ready — verified ${runner.metadata.members.length} members in ${runner.info.verifyMs.toFixed(0)} ms`);
}

async function run(): Promise<void> {
  if (!runner) return;
  runBtn.disabled = true;
  errorEl.hidden = true;
  setStatus("running", "running…");
  try {
    const p = currentPipeline();
    const inputs = p?.input_kind === "audio" && audio ? [toAudioValue(audio)] : undefined;
    const result = await runner.run({ pipeline: pipelineSel.value, manifest: manifestBox.value, ...(inputs ? { inputs } : {}) });
    renderResult(result);
    setStatus("done", `done in ${result.timings.totalMs.toFixed(0)} ms`);
  } catch (err) {
    showError(err);
  } finally {
    runBtn.disabled = false;
  }
}

async function main(): Promise<void> {
  renderEnv();
  const backend = params.get("backend");
  if (backend) {
    const radio = document.querySelector<HTMLInputElement>(`input[name="backend"][value="${backend}"]`);
    if (radio) radio.checked = true;
  }
  try {
    const response = await fetch("bundles/index.json");
    if (!response.ok) throw new Error(`bundles/index.json: HTTP ${response.status}`);
    index = ((await response.json()) as { bundles: IndexEntry[] }).bundles;
  } catch (err) {
    showError(err);
    return;
  }
  bundleSel.replaceChildren(...index.map((b) => el("option", { value: b.name, textContent: `${b.title} — ${human(b.size)}` })));
  const wanted = params.get("bundle");
  if (wanted && index.some((b) => b.name === wanted)) bundleSel.value = wanted;
  bundleSel.onchange = () => (loading = loadBundle());
  pipelineSel.onchange = () => void showPipeline();
  document.querySelectorAll<HTMLInputElement>('input[name="backend"]').forEach((r) => (r.onchange = () => (loading = loadBundle(pipelineSel.value))));
  $("reset").onclick = () => void showPipeline();
  runBtn.onclick = () => void run();
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
      showError(err);
    }
  };
  loading = loadBundle(params.get("pipeline") ?? undefined);
  await loading;
}

// For tests and the curious: the library and the page state.
Object.assign(globalThis, { rmpkgDemo: { PipelineRunner, BundleError, PipelineError, loaded: () => loading, get runner() { return runner; } } });
void main();
