/** Public types of the PipelineRunner. */
import type { BundleMetadata } from "./bundle/rmpkg.js";
import type { Features } from "./features.js";

/** `shim`: @bjorn3/browser_wasi_shim (built in), runs anywhere, no headers needed.
 *  `wasmer`: @wasmer/sdk (an optional peer dependency), needs a cross-origin isolated page (COOP/COEP).
 *  `auto`: wasmer where the page is cross-origin isolated and `wasmerSdkUrl` is set, else shim.
 *  Default: `shim` (works everywhere, and was faster per run in our measurements). */
export type BackendName = "shim" | "wasmer";
export type BackendChoice = BackendName | "auto";

/** Where a bundle comes from: a URL (fetched) or its bytes. */
export type BundleSource = string | URL | Uint8Array | ArrayBuffer;

export interface RunnerOptions {
  backend?: BackendChoice;
  /** Pin the sha256 of the whole .rmpkg file (hex): anything else is refused. */
  sha256?: string;
  /** Run in a Web Worker (default: true where `Worker` exists, i.e. in browsers). */
  worker?: boolean;
  /** Start this worker script instead of the inline one (a Blob URL), for a CSP without `worker-src blob:`.
   *  The package ships it as `dist/worker.js` (`@remotemedia/wasm-runner/worker.js`; `packagedWorkerUrl()`
   *  where dist/ is served as it is). Relative URLs resolve against the page. */
  workerUrl?: string | URL;
  /** Browser: URL of @wasmer/sdk's ES module entry (its `dist/index.js`, served by your site with its
   *  other files), needed for the wasmer backend; `auto` picks wasmer only when it is given.
   *  Node: leave it unset, the optional peer dependency `@wasmer/sdk` is imported. */
  wasmerSdkUrl?: string | URL;
}

export interface RunRequest {
  /** Name of a pipeline of the bundle (default: the bundle's default pipeline). */
  pipeline?: string;
  /** Manifest to run instead of the bundle's own (text or object). */
  manifest?: string | object;
  /** Input items: replace the manifest's `inputs`. */
  inputs?: unknown[];
}

/** `{"outputs": {"<output node id>": [value per item]}}` as the runtime prints it. */
export interface PipelineOutputs {
  outputs: Record<string, unknown[]>;
  [key: string]: unknown;
}

export interface Timings {
  /** Fetching the bundle (0 for bytes). */
  fetchMs: number;
  /** gunzip, tar, schema and sha256 of every member. */
  verifyMs: number;
  /** Compiling the wasm module (0 when cached from an earlier run). */
  compileMs: number;
  /** Building the guest file system (preopens). */
  mountMs: number;
  /** Instantiating and running the module to exit. */
  runMs: number;
  /** This run, end to end, as seen by the caller. */
  totalMs: number;
}

export interface RunResult {
  pipeline: string;
  backend: BackendName;
  /** The parsed result document. */
  result: PipelineOutputs;
  /** The result document exactly as printed (compact JSON). */
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The manifest text that ran. */
  manifest: string;
  timings: Timings;
}

export interface LoadInfo {
  metadata: BundleMetadata;
  size: number;
  sha256: string;
  backend: BackendName;
  /** Why this backend: asked for, or what `auto` found (e.g. "auto fell back to the shim: ... cross-origin isolated ..."). */
  backendReason: string;
  /** What the context that runs the bundle (the worker, or the calling thread) can do. */
  features: Features;
  /** The module variant run (SIMD128; relaxed SIMD is reported, bundles have no such build). */
  simd: string;
  fetchMs: number;
  verifyMs: number;
}

export interface OpenOptions {
  /** Manifest to open instead of the pipeline's own (text or object). Its relative paths resolve
   *  where the shipped manifest is, as for `run`. */
  manifest?: string | object;
}

/** An open session (`runner.open`). */
export interface SessionInfo {
  pipeline: string;
  backend: BackendName;
  /** The manifest text that was opened. */
  manifest: string;
  /** Compiling the reactor module (0 when cached from an earlier open of the same bundle). */
  compileMs: number;
  /** Instantiating the reactor, `_initialize` and `rm_session_open` (every node built: Python
   *  modules imported and classes instantiated, models loaded). */
  openMs: number;
  /** The part of `openMs` before `rm_session_open`: the mounts, instantiating, `_initialize`
   *  (none in the bundles' reactor, pre-initialised at build time). */
  instantiateMs: number;
  /** The reactor's linear memory after the open, in bytes. */
  memoryBytes: number;
  /** The files the module opened (guest paths): the Python stdlib, modules, models, read once here. */
  filesOpened: string[];
}

/** What one push (or the close) produced. */
export interface SessionResult {
  /** The result document for this item (close: the flush's): `{"outputs": {...}}`, parsed. */
  result: PipelineOutputs;
  /** The same document exactly as the runtime wrote it (compact JSON, no newline). */
  text: string;
  /** What the module wrote on stderr during the call (Python's print()). */
  stderr: string;
  /** Items accepted before this one (0 for the first push; malformed items are not counted); the close's: all of them. */
  index: number;
  /** The reactor's linear memory after the call, in bytes. */
  memoryBytes: number;
  /** The files the module opened during the call (none for a Whisper item: the model stays loaded). */
  filesOpened: string[];
  timings: {
    /** In the module: writing the item, the call, reading the result. */
    callMs: number;
    /** This call end to end as seen by the caller (queueing and the worker's messages included). */
    totalMs: number;
  };
}
