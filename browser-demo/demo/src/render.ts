/** Rendering a loaded bundle and a run's result: outputs, raw document, transcript, timings. */
import type { LoadInfo, RunResult } from "@remotemedia/wasm-runner";
import { $, el, human } from "./dom.js";
import type { Opened } from "./sources.js";

export function renderInfo(info: LoadInfo, opened: Opened): void {
  const meta = info.metadata;
  const unpacked = meta.members.reduce((sum, m) => sum + m.size, 0);
  const rows: [string, string][] = [
    ["name", `${meta.name} ${meta.version}`],
    ["source", opened.label],
    ["size", `${human(info.size)} (unpacked ${human(unpacked)})`],
    ["sha256", `${info.sha256}${opened.sha256 ? " (pinned by bundles/index.json)" : " (not pinned)"}`],
    ["target", meta.runtime_target],
    ["runtime", meta.runtime.module],
    ["mounts", [...meta.wasi_deps, ...meta.models].map((m) => `${m.source}/ → ${m.mount}`).join("\n")],
    ["verified", `${meta.members.length} members, sha256 each (${info.verifyMs.toFixed(0)} ms)`],
  ];
  $("bundle-info").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
}

/** Back to an empty page (a bundle is loading, or was refused). */
export function clearBundle(): void {
  $("bundle-info").replaceChildren();
  $("outputs").replaceChildren(el("p", { className: "muted", textContent: "Run a pipeline to see its outputs." }));
  $("raw").textContent = "";
  $("timings").replaceChildren(el("p", { className: "muted", textContent: "—" }));
  $("transcript").hidden = true;
  $("pipeline").replaceChildren();
  $("pipeline-desc").textContent = "";
  $<HTMLTextAreaElement>("manifest").value = "";
  $("audio-panel").hidden = true;
}

function renderValue(v: unknown): string {
  if (v && typeof v === "object" && "$audio" in (v as object)) {
    const a = (v as { $audio: { sample_rate: number; channels: number } }).$audio;
    return `audio ${a.sample_rate} Hz × ${a.channels} ch`;
  }
  return JSON.stringify(v);
}

function outputTable(node: string, items: unknown[]): HTMLTableElement {
  const rows = items.map((v, i) =>
    el("tr", {}, el("td", { className: "i", textContent: String(i) }), el("td", { className: "v", textContent: renderValue(v) })),
  );
  const count = `${items.length} item${items.length === 1 ? "" : "s"}`;
  return el(
    "table",
    {},
    el("caption", {}, "output ", el("code", { textContent: node }), el("span", { className: "badge", textContent: count })),
    el("thead", {}, el("tr", {}, el("th", { textContent: "#" }), el("th", { textContent: "value" }))),
    el("tbody", {}, ...rows),
  );
}

/** The words of a transcription: string outputs, or the `text` of object outputs. */
function transcriptOf(outputs: Record<string, unknown[]>): string {
  const items = Object.values(outputs).flat();
  const texts = items.filter((v): v is string => typeof v === "string");
  if (texts.length) return texts.join(" ");
  return items
    .map((v) => (v && typeof v === "object" && "text" in v ? String((v as { text: unknown }).text) : ""))
    .join(" ")
    .trim();
}

export function renderResult(result: RunResult, load: LoadInfo, audioPipeline: boolean): void {
  const outputs = result.result.outputs ?? {};
  const tables = Object.entries(outputs).map(([node, items]) => outputTable(node, items));
  $("outputs").replaceChildren(...(tables.length ? tables : [el("p", { className: "muted", textContent: "No outputs." })]));
  $("raw").textContent = result.stdout;
  const text = transcriptOf(outputs);
  const transcript = $("transcript");
  transcript.hidden = !(audioPipeline && text);
  transcript.textContent = text;
  renderTimings(result, load);
}

function renderTimings(result: RunResult, load: LoadInfo): void {
  const t = result.timings;
  const bars: [string, number][] = [
    ["fetch *", load.fetchMs],
    ["verify *", load.verifyMs],
    ["compile", t.compileMs],
    ["mount", t.mountMs],
    ["run", t.runMs],
  ];
  const max = Math.max(...bars.map(([, v]) => v), 1);
  const fill = (ms: number) => {
    const bar = el("div", { className: "fill" });
    bar.style.width = `${(100 * ms) / max}%`;
    return el("div", { className: "track" }, bar);
  };
  const ms = (v: number) => el("span", { className: "ms", textContent: `${v.toFixed(1)} ms` });
  const backend = `${result.backend} backend${t.compileMs === 0 ? ", module cached" : ""}`;
  const timings = $("timings");
  timings.replaceChildren(
    ...bars.map(([name, v]) => el("div", { className: "bar" }, el("span", { textContent: name }), fill(v), ms(v))),
    el("div", { className: "bar total" }, el("span", { textContent: "this run" }), el("span", { className: "muted", textContent: backend }), ms(t.totalMs)),
    el("p", { className: "muted", textContent: "* once per bundle load" }),
  );
  timings.dataset.totalMs = t.totalMs.toFixed(1);
}
