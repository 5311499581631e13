/**
 * The runner's engine: verifies a bundle, mounts it, runs pipelines on a
 * backend. Runs wherever it is created: inside the Web Worker (worker.ts) in
 * the browser, or in the calling thread (Node tests, `worker: false`).
 */
import { BackendUnavailableError, BundleError, errorKind, PipelineError } from "./bundle/errors.js";
import { concatBytes, findPipeline, guestPath, mountFiles, mountOf, readBundle, type Bundle } from "./bundle/rmpkg.js";
import type { GuestMount, WasiBackend } from "./backends/backend.js";
import { ShimReactor, type ReactorReply } from "./backends/reactor.js";
import { ShimBackend } from "./backends/shim.js";
import { checkWasmerAvailable, isNode, WasmerBackend } from "./backends/wasmer.js";
import { detectFeatures, simdPath, wasmerUnavailableReason } from "./features.js";
import type {
  BackendChoice,
  BackendName,
  LoadInfo,
  OpenOptions,
  PipelineOutputs,
  RunRequest,
  RunResult,
  SessionInfo,
  SessionResult,
} from "./types.js";

type WasmerSdk = typeof import("@wasmer/sdk");

export interface EngineOptions {
  backend: BackendName;
  /** Why this backend (from chooseBackend). */
  backendReason?: string;
  sha256?: string;
  /** Browser: URL of @wasmer/sdk's ES module entry. Node: unset, the package is imported. */
  wasmerSdkUrl?: string;
}

/** Default: the shim (no headers needed; measured 3-10x faster per run than wasmer here).
 *  `auto` picks wasmer where it can run: Node, or a cross-origin isolated page with shared memory
 *  that names the SDK's URL; elsewhere the shim. */
export function resolveBackend(choice: BackendChoice = "shim", wasmerSdkUrl?: unknown): BackendName {
  return chooseBackend(choice, wasmerSdkUrl).backend;
}

/** The backend for `choice`, and why (what `auto` found: the runner records it in `LoadInfo.backendReason`). */
export function chooseBackend(choice: BackendChoice = "shim", wasmerSdkUrl?: unknown): { backend: BackendName; reason: string } {
  if (choice !== "auto") return { backend: choice, reason: `${choice} was asked for` };
  if (isNode()) return { backend: "shim", reason: "auto: the shim under Node" };
  const why = wasmerUnavailableReason();
  if (why !== undefined) return { backend: "shim", reason: `auto fell back to the shim: ${why}` };
  if (wasmerSdkUrl === undefined) return { backend: "shim", reason: "auto fell back to the shim: no wasmerSdkUrl given" };
  return { backend: "wasmer", reason: "auto: cross-origin isolated with shared memory, wasmer" };
}

// Not a string literal: page bundlers must not try to resolve the optional peer dependency.
const WASMER_SDK_PACKAGE = "@wasmer/sdk";

function wasmerSdkLoader(url: string | undefined): () => Promise<WasmerSdk> {
  if (url === undefined && !isNode()) {
    throw new BackendUnavailableError(
      "the wasmer backend in a browser needs the wasmerSdkUrl option: the URL of @wasmer/sdk's dist/index.js, served by your site",
    );
  }
  // Bundlers: leave this import alone (it is the user's URL, or the optional package at run time).
  return () => import(/* webpackIgnore: true */ /* @vite-ignore */ url ?? WASMER_SDK_PACKAGE) as Promise<WasmerSdk>;
}

const decoder = new TextDecoder();

/** A download that gets no answer and no data for this long fails (a stalled server, network or
 *  service worker would otherwise leave the load pending for ever); a slow one that still sends
 *  data goes on. */
export const FETCH_STALL_MS = 60_000;

export async function fetchBytes(url: string, stallMs = FETCH_STALL_MS): Promise<Uint8Array> {
  const abort = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort.abort();
    }, stallMs);
  };
  const stallError = (what: string) =>
    new BundleError(`cannot fetch bundle ${url}: ${what} for ${stallMs / 1000} s: the download stalled (server, network or service worker)`);
  watch();
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: abort.signal });
    } catch (err) {
      if (stalled) throw stallError("no answer");
      const why = (err as Error).message;
      throw new BundleError(`cannot fetch bundle ${url}: ${why} (network error, or the server does not allow cross-origin requests)`);
    }
    if (!response.ok) {
      throw new BundleError(`cannot fetch bundle ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
    }
    const type = response.headers.get("content-type") ?? "";
    if (/^text\/html\b/i.test(type)) {
      await response.body?.cancel().catch(() => undefined);
      throw new BundleError(`not a .rmpkg: ${url} is an HTML page (Content-Type ${type}), not a bundle: is the URL right?`);
    }
    if (!response.body) return new Uint8Array(await response.arrayBuffer());
    // Read chunk by chunk: each one restarts the stall timer.
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        watch();
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.length;
      }
    } catch (err) {
      if (stalled) throw stallError("no data");
      throw new BundleError(`cannot fetch bundle ${url}: the download broke off after ${size} bytes: ${(err as Error).message}`);
    }
    return concatBytes(chunks, size);
  } finally {
    clearTimeout(timer);
  }
}

/** The first line that starts with 'error:' (the runtime's contract), else the last line. */
function firstErrorLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => l.startsWith("error:"))?.slice("error:".length).trim() ?? lines.at(-1) ?? "no message";
}

export class Engine {
  readonly bundle: Bundle;
  readonly backend: WasiBackend;
  readonly info: LoadInfo;
  #sessions = new Map<number, EngineSession>();
  #nextSession = 1;

  private constructor(bundle: Bundle, backend: WasiBackend, info: LoadInfo) {
    this.bundle = bundle;
    this.backend = backend;
    this.info = info;
  }

  static async load(source: string | Uint8Array, options: EngineOptions): Promise<Engine> {
    const name = options.backend;
    if (name === "wasmer") checkWasmerAvailable();
    const loadSdk = name === "wasmer" ? wasmerSdkLoader(options.wasmerSdkUrl) : undefined;
    let t = performance.now();
    const bytes = typeof source === "string" ? await fetchBytes(source) : source;
    const fetchMs = typeof source === "string" ? performance.now() - t : 0;
    t = performance.now();
    const bundle = await readBundle(bytes, options.sha256);
    const verifyMs = performance.now() - t;
    const backend: WasiBackend = loadSdk ? new WasmerBackend(loadSdk) : new ShimBackend();
    const info: LoadInfo = {
      metadata: bundle.metadata,
      size: bundle.size,
      sha256: bundle.sha256,
      backend: name,
      backendReason: options.backendReason ?? `${name} was asked for`,
      features: detectFeatures(),
      simd: simdPath(),
      fetchMs,
      verifyMs,
    };
    return new Engine(bundle, backend, info);
  }

  /** The text of a pipeline's manifest as shipped in the bundle. */
  manifestText(pipeline?: string): string {
    const entry = findPipeline(this.bundle, pipeline);
    return decoder.decode(this.bundle.files.get(entry.manifest)!);
  }

  #manifestOf(entryName: string, manifest: string | object | undefined): string {
    if (manifest === undefined) return this.manifestText(entryName);
    return typeof manifest === "string" ? manifest : JSON.stringify(manifest, null, 2);
  }

  async run(request: RunRequest = {}): Promise<RunResult> {
    const started = performance.now();
    const meta = this.bundle.metadata;
    const entry = findPipeline(this.bundle, request.pipeline);
    let manifest = this.#manifestOf(entry.name, request.manifest);
    if (request.inputs !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(manifest);
      } catch (err) {
        throw new PipelineError(
          `invalid manifest: not valid JSON: ${(err as Error).message}`,
          2,
          "manifest",
          "",
        );
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new PipelineError("invalid manifest: expected a JSON object at the top level", 2, "manifest", "");
      }
      manifest = JSON.stringify({ ...(parsed as object), inputs: request.inputs }, null, 2);
    }
    // The manifest to run goes where the shipped one is (SPEC), shadowing it: its relative paths resolve as natively.
    const manifestPath = guestPath(meta, entry.manifest);
    const holder = mountOf(meta, entry.manifest)!;
    const mounts: GuestMount[] = [...meta.wasi_deps, ...meta.models].map((m) => {
      const files = mountFiles(this.bundle, m);
      if (m === holder.mount) files.set(holder.rel, new TextEncoder().encode(manifest));
      return { guest: m.mount, files };
    });
    const moduleKey = meta.members.find((m) => m.path === meta.runtime.module)!.sha256;
    const outcome = await this.backend.run({
      module: this.bundle.files.get(meta.runtime.module)!,
      moduleKey,
      argv: meta.runtime.argv.map((a) => a.replaceAll("{manifest}", manifestPath)),
      env: meta.runtime.env,
      stdin: new Uint8Array(0),
      mounts,
    });
    const stdout = decoder.decode(outcome.stdout);
    const stderr = decoder.decode(outcome.stderr);
    if (outcome.exitCode !== 0) {
      const kind = errorKind(outcome.exitCode, meta.runtime.exit_codes);
      throw new PipelineError(firstErrorLine(stderr), outcome.exitCode, kind, stderr);
    }
    let result: PipelineOutputs;
    try {
      result = JSON.parse(stdout) as PipelineOutputs;
    } catch {
      throw new PipelineError(
        `the runtime exited 0 but printed no JSON result (stdout: ${JSON.stringify(stdout.slice(0, 200))})`,
        0,
        "unknown",
        stderr,
      );
    }
    return {
      pipeline: entry.name,
      backend: this.backend.name,
      result,
      stdout,
      stderr,
      exitCode: 0,
      manifest,
      timings: {
        fetchMs: 0,
        verifyMs: 0,
        compileMs: outcome.compileMs,
        mountMs: outcome.mountMs,
        runMs: outcome.runMs,
        totalMs: performance.now() - started,
      },
    };
  }

  /** Open a session on the bundle's reactor module: one instance per session, kept warm
   *  (CPython, Python instances, models) until `closeSession`. */
  async openSession(pipeline?: string, options: OpenOptions = {}): Promise<SessionInfo & { id: number }> {
    const meta = this.bundle.metadata;
    if (!(this.backend instanceof ShimBackend)) {
      throw new BackendUnavailableError(
        `the ${this.backend.name} backend cannot open sessions: @wasmer/sdk runs WASI commands (a _start that runs to ` +
          "exit), not reactors, whose functions a session calls item by item; open sessions on the shim backend",
      );
    }
    const reactorPath = meta.runtime.reactor;
    if (reactorPath === undefined) {
      throw new BundleError(
        `bundle '${meta.name}' has no reactor module (runtime.reactor), which sessions need: pack it again with a current rmbuild`,
      );
    }
    const entry = findPipeline(this.bundle, pipeline);
    const manifest = this.#manifestOf(entry.name, options.manifest);
    const manifestPath = guestPath(meta, entry.manifest);
    const baseDir = manifestPath.slice(0, manifestPath.lastIndexOf("/")) || "/";
    const key = meta.members.find((m) => m.path === reactorPath)!.sha256;
    const { module, compileMs } = await this.backend.compile(key, this.bundle.files.get(reactorPath)!);
    const t = performance.now();
    const mounts: GuestMount[] = [...meta.wasi_deps, ...meta.models].map((m) => ({ guest: m.mount, files: mountFiles(this.bundle, m) }));
    const reactor = await ShimReactor.instantiate(module, meta.runtime.env, mounts, meta.runtime.exit_codes);
    const instantiateMs = performance.now() - t;
    const { handle, filesOpened } = reactor.open(manifest, baseDir);
    const openMs = performance.now() - t;
    const id = this.#nextSession++;
    this.#sessions.set(id, { reactor, handle, pushed: 0, closed: false });
    return { id, pipeline: entry.name, backend: this.backend.name, manifest, compileMs, instantiateMs, openMs, memoryBytes: reactor.memoryBytes, filesOpened };
  }

  #session(id: number): EngineSession {
    const s = this.#sessions.get(id);
    if (!s) throw new PipelineError(`unknown session ${id}`, 1, "usage", `error: unknown session ${id}\n`);
    if (s.closed) throw new PipelineError("the session is closed", 1, "usage", "error: the session is closed\n");
    return s;
  }

  /** Push one item (JSON text in the runtime's value encoding) -> that item's result. */
  pushSession(id: number, item: string): SessionResult {
    const s = this.#session(id);
    const t = performance.now();
    const reply = s.reactor.push(s.handle, item);
    const index = s.pushed++;
    return sessionResult(reply, index, s.reactor.memoryBytes, performance.now() - t);
  }

  /** Push `count` items at once (`items`: their JSON array) -> one result for them all. */
  pushManySession(id: number, items: string, count: number): SessionResult {
    const s = this.#session(id);
    const t = performance.now();
    const reply = s.reactor.pushMany(s.handle, items);
    const index = s.pushed;
    s.pushed += count;
    return sessionResult(reply, index, s.reactor.memoryBytes, performance.now() - t);
  }

  /** Push one audio item given as its samples (interleaved) -> that item's result. */
  pushAudioSession(id: number, samples: Float32Array, sampleRate: number, channels: number): SessionResult {
    const s = this.#session(id);
    const t = performance.now();
    const reply = s.reactor.pushAudio(s.handle, samples, sampleRate, channels);
    const index = s.pushed++;
    return sessionResult(reply, index, s.reactor.memoryBytes, performance.now() - t);
  }

  /** Close: flush the nodes -> what that produced; the instance is dropped either way. */
  closeSession(id: number): SessionResult {
    const s = this.#session(id);
    s.closed = true;
    const t = performance.now();
    try {
      const reply = s.reactor.close(s.handle);
      return sessionResult(reply, s.pushed, s.reactor.memoryBytes, performance.now() - t);
    } finally {
      this.#sessions.delete(id);
    }
  }

  close(): Promise<void> {
    this.#sessions.clear();
    return this.backend.close();
  }
}

interface EngineSession {
  reactor: ShimReactor;
  handle: number;
  pushed: number;
  closed: boolean;
}

function sessionResult(reply: ReactorReply, index: number, memoryBytes: number, callMs: number): SessionResult {
  const { text, stderr, filesOpened } = reply;
  let result: PipelineOutputs;
  try {
    result = JSON.parse(text) as PipelineOutputs;
  } catch {
    throw new PipelineError(`the reactor returned no JSON result (${JSON.stringify(text.slice(0, 200))})`, 0, "unknown", stderr);
  }
  return { result, text, stderr, index, memoryBytes, filesOpened, timings: { callMs, totalMs: callMs } };
}
