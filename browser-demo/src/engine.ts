/**
 * The runner's engine: verifies a bundle, mounts it, runs pipelines on a
 * backend. Runs wherever it is created: inside the Web Worker (worker.ts) in
 * the browser, or in the calling thread (Node tests, `worker: false`).
 */
import { BundleError, errorKind, PipelineError } from "./bundle/errors.js";
import { findPipeline, mountFiles, readBundle, type Bundle } from "./bundle/rmpkg.js";
import type { GuestMount, WasiBackend } from "./backends/backend.js";
import { ShimBackend } from "./backends/shim.js";
import { checkWasmerAvailable, isNode, WasmerBackend } from "./backends/wasmer.js";
import type { BackendChoice, BackendName, LoadInfo, PipelineOutputs, RunRequest, RunResult } from "./types.js";

export interface EngineOptions {
  backend?: BackendChoice;
  sha256?: string;
  /** How to import @wasmer/sdk (browser: its URL; Node: the package). */
  loadWasmerSdk?: () => Promise<typeof import("@wasmer/sdk")>;
}

/** Default: the shim (no headers needed; measured 3-10x faster per run than wasmer here). */
export function resolveBackend(choice: BackendChoice = "shim"): BackendName {
  if (choice !== "auto") return choice;
  if (isNode()) return "shim";
  return globalThis.crossOriginIsolated ? "wasmer" : "shim";
}

const decoder = new TextDecoder();

export async function fetchBytes(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new BundleError(`cannot fetch bundle ${url}: ${(err as Error).message}`);
  }
  if (!response.ok) throw new BundleError(`cannot fetch bundle ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function guestJoin(dir: string, name: string): string {
  return `${dir.replace(/\/$/, "")}/${name}`;
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

  private constructor(bundle: Bundle, backend: WasiBackend, info: LoadInfo) {
    this.bundle = bundle;
    this.backend = backend;
    this.info = info;
  }

  static async load(source: string | Uint8Array, options: EngineOptions = {}): Promise<Engine> {
    const name = resolveBackend(options.backend);
    if (name === "wasmer") checkWasmerAvailable();
    let t = performance.now();
    const bytes = typeof source === "string" ? await fetchBytes(source) : source;
    const fetchMs = typeof source === "string" ? performance.now() - t : 0;
    t = performance.now();
    const bundle = await readBundle(bytes, options.sha256);
    const verifyMs = performance.now() - t;
    let backend: WasiBackend;
    if (name === "wasmer") {
      const load = options.loadWasmerSdk;
      if (!load) throw new Error("the wasmer backend needs loadWasmerSdk");
      backend = new WasmerBackend(load);
    } else {
      backend = new ShimBackend();
    }
    const info: LoadInfo = {
      metadata: bundle.metadata,
      size: bundle.size,
      sha256: bundle.sha256,
      backend: name,
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

  async run(request: RunRequest = {}): Promise<RunResult> {
    const started = performance.now();
    const meta = this.bundle.metadata;
    const entry = findPipeline(this.bundle, request.pipeline);
    let manifest =
      request.manifest === undefined
        ? this.manifestText(entry.name)
        : typeof request.manifest === "string"
          ? request.manifest
          : JSON.stringify(request.manifest, null, 2);
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
    const manifestName = entry.manifest.split("/").at(-1)!;
    const manifestPath = guestJoin(meta.runtime.manifest_dir, manifestName);
    const mounts: GuestMount[] = [...meta.wasi_deps, ...meta.models].map((m) => ({
      guest: m.mount,
      files: mountFiles(this.bundle, m),
    }));
    // Put the manifest to run into the mount holding manifest_dir (or a new preopen).
    const holder = mounts.find((m) => manifestPath.startsWith(m.guest + "/"));
    const manifestBytes = new TextEncoder().encode(manifest);
    if (holder) {
      const files = new Map(holder.files);
      files.set(manifestPath.slice(holder.guest.length + 1), manifestBytes);
      holder.files = files;
    } else {
      mounts.push({ guest: meta.runtime.manifest_dir, files: new Map([[manifestName, manifestBytes]]) });
    }
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

  close(): Promise<void> {
    return this.backend.close();
  }
}
