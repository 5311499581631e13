/**
 * PipelineRunner: load a .rmpkg bundle (URL or bytes), verify it, run its
 * pipelines with a manifest and inputs; typed results and timings.
 *
 *   const runner = await PipelineRunner.load("bundles/multiply-add.rmpkg");
 *   const { result, timings } = await runner.run({ pipeline: "multiply_add", inputs: [1, 2] });
 *
 * In the browser the work happens in a Web Worker (the shim backend is
 * synchronous; verification hashes megabytes): the page stays responsive.
 * The worker's code is embedded in this module and started from a Blob URL,
 * so nothing has to be copied next to a page bundle; `workerUrl` starts
 * dist/worker.js (the same code) instead, for sites whose CSP forbids blob:
 * workers. With `worker: false` (or where Worker does not exist, e.g. Node) it
 * runs in the calling thread.
 */
import { WorkerError } from "./bundle/errors.js";
import type { BundleMetadata } from "./bundle/rmpkg.js";
import { chooseBackend, Engine } from "./engine.js";
import { deserializeError, type Request, type Response } from "./protocol.js";
import { PipelineSession, type SessionTransport } from "./session.js";
import type {
  BackendName,
  BundleSource,
  LoadInfo,
  OpenOptions,
  RunnerOptions,
  RunRequest,
  RunResult,
  SessionInfo,
  SessionResult,
} from "./types.js";

/** The self-contained worker script (dist/worker.js), put here by scripts/build.mjs. */
declare const __RMPKG_WORKER_SOURCE__: string;

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

const hasLocation = typeof location !== "undefined";

/** Bytes are recognised by their tag, not `instanceof`: a Uint8Array made in another realm (an iframe,
 *  or a WebDriver script's sandbox, as geckodriver runs them) is bytes too, not a URL. */
function toSource(source: BundleSource): string | Uint8Array {
  const tag = Object.prototype.toString.call(source);
  if (tag === "[object Uint8Array]") return source as Uint8Array;
  if (tag === "[object ArrayBuffer]") return new Uint8Array(source as ArrayBuffer);
  return absolute(source as string | URL, "bundle");
}

function absolute(url: string | URL, what: string): string {
  try {
    return new URL(String(url), hasLocation ? location.href : undefined).href;
  } catch {
    throw new TypeError(`${what} URL ${String(url)} is not absolute (outside a page, pass bytes or an absolute URL)`);
  }
}

/** The URL of dist/worker.js beside this module: right where the package's dist/ is served as it is. */
export function packagedWorkerUrl(): URL {
  return new URL("./worker.js", import.meta.url);
}

export class PipelineRunner {
  readonly info: LoadInfo;
  #engine: Engine | undefined;
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Why calls fail from now on (closed, terminated, the worker died); unset while it works. */
  #gone: string | undefined;

  private constructor(info: LoadInfo, engine?: Engine, worker?: Worker) {
    this.info = info;
    this.#engine = engine;
    this.#worker = worker;
  }

  get metadata(): BundleMetadata {
    return this.info.metadata;
  }

  get backend(): BackendName {
    return this.info.backend;
  }

  get pipelines(): BundleMetadata["pipelines"] {
    return this.info.metadata.pipelines;
  }

  /** Fetch (or take) a bundle and verify it; throws BundleError if it is not a valid, intact .rmpkg. */
  static async load(source: BundleSource, options: RunnerOptions = {}): Promise<PipelineRunner> {
    const useWorker = options.worker ?? typeof Worker !== "undefined";
    const chosen = chooseBackend(options.backend, options.wasmerSdkUrl);
    const load = {
      source: toSource(source),
      backend: chosen.backend,
      backendReason: chosen.reason,
      sha256: options.sha256,
      wasmerSdkUrl: options.wasmerSdkUrl === undefined ? undefined : absolute(options.wasmerSdkUrl, "wasmerSdkUrl"),
    };
    if (!useWorker) {
      const engine = await Engine.load(load.source, load);
      return new PipelineRunner(engine.info, engine);
    }
    const inline = options.workerUrl === undefined;
    const scriptUrl = inline
      ? URL.createObjectURL(new Blob([__RMPKG_WORKER_SOURCE__], { type: "text/javascript" }))
      : absolute(options.workerUrl!, "workerUrl");
    const worker = new Worker(scriptUrl, { type: "module", name: "pipeline-runner" });
    const runner = new PipelineRunner(undefined as unknown as LoadInfo, undefined, worker);
    worker.onmessage = (event: MessageEvent<Response>) => runner.#settle(event.data);
    worker.onerror = (event: ErrorEvent) => {
      const hint = inline ? " (a Content-Security-Policy without worker-src blob: forbids the inline worker: pass workerUrl)" : "";
      event.preventDefault?.();
      runner.#stop(`pipeline worker failed: ${event.message || `could not start ${scriptUrl}${hint}`}`);
    };
    try {
      (runner as { info: LoadInfo }).info = (await runner.#call({ type: "load", ...load })) as LoadInfo;
    } catch (err) {
      worker.terminate();
      throw err;
    } finally {
      if (inline) URL.revokeObjectURL(scriptUrl);
    }
    return runner;
  }

  #settle(reply: Response): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(deserializeError(reply.error));
  }

  /** The worker is gone: every unanswered call is rejected with a WorkerError, and so is every later one. */
  #stop(why: string): void {
    this.#gone ??= why;
    const err = new WorkerError(`${why}: the call was not answered`);
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #call(msg: WithoutId<Request>): Promise<unknown> {
    if (this.#gone !== undefined) return Promise.reject(new WorkerError(this.#gone));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker!.postMessage({ ...msg, id } as Request);
    });
  }

  /** The manifest text a pipeline ships with. */
  async manifest(pipeline?: string): Promise<string> {
    if (this.#engine) return this.#engine.manifestText(pipeline);
    return (await this.#call({ type: "manifest", ...(pipeline !== undefined ? { pipeline } : {}) })) as string;
  }

  /** Run a pipeline. Throws PipelineError (with exitCode, kind, stderr) if the runtime reports an error. */
  async run(request: RunRequest = {}): Promise<RunResult> {
    const started = performance.now();
    const result = this.#engine
      ? await this.#engine.run(request)
      : ((await this.#call({ type: "run", request })) as RunResult);
    result.timings.totalMs = performance.now() - started;
    return result;
  }

  /** Open a pipeline as a session on the bundle's reactor module (`runtime.reactor`): its nodes are
   *  built once (CPython started, Python classes instantiated, models loaded) and kept, warm, for
   *  every item pushed until `close()`. Shim backend only: on wasmer it throws BackendUnavailableError.
   *  A start-up failure (e.g. a model that does not load) is a PipelineError. */
  async open(pipeline?: string, options: OpenOptions = {}): Promise<PipelineSession> {
    if (this.#engine) {
      const engine = this.#engine;
      const { id, ...info } = await engine.openSession(pipeline, options);
      const local: SessionTransport = {
        push: async (session, item) => engine.pushSession(session, item),
        pushMany: async (session, items, count) => engine.pushManySession(session, items, count),
        pushAudio: async (session, samples, rate, channels) => engine.pushAudioSession(session, samples, rate, channels),
        close: async (session) => engine.closeSession(session),
      };
      return new PipelineSession(id, info, local);
    }
    const { id, ...info } = (await this.#call({
      type: "open",
      ...(pipeline !== undefined ? { pipeline } : {}),
      options,
    })) as SessionInfo & { id: number };
    const remote: SessionTransport = {
      push: (session, item) => this.#call({ type: "push", session, item }) as Promise<SessionResult>,
      pushMany: (session, items, count) =>
        this.#call({ type: "push-many", session, items, count }) as Promise<SessionResult>,
      // the samples are copied (structured clone), so the caller may reuse its array
      pushAudio: (session, samples, sampleRate, channels) =>
        this.#call({ type: "push-audio", session, samples, sampleRate, channels }) as Promise<SessionResult>,
      close: (session) => this.#call({ type: "session-close", session }) as Promise<SessionResult>,
    };
    return new PipelineSession(id, info, remote);
  }

  /** Close the runner: its worker ends, and with it every session. Calls not answered yet
   *  (a push still running or queued) are rejected with a WorkerError. */
  async close(): Promise<void> {
    if (this.#engine) await this.#engine.close();
    if (this.#worker && this.#gone === undefined) {
      if (this.#pending.size === 0) await this.#call({ type: "close" }).catch(() => undefined);
      this.#stop("the runner was closed");
      this.#worker.terminate();
    }
  }

  /** Stop the worker at once, without waiting for what it is doing (e.g. a long push): every
   *  unanswered call is rejected with a WorkerError, the runner and its sessions are unusable. */
  terminate(): void {
    if (this.#worker) {
      this.#worker.terminate();
      this.#stop("the pipeline worker was terminated");
    }
  }
}
