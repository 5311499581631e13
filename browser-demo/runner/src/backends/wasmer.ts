/**
 * Backend on @wasmer/sdk 0.16 (the proposal's choice). In the browser it
 * needs a cross-origin isolated page (COOP same-origin + COEP require-corp):
 * without it the SDK cannot share memory with its workers, so we refuse to
 * start rather than fail silently. The SDK is not bundled (it loads its own
 * workers relative to its URL): it is imported at run time.
 *
 * Bundle files become files of an in-memory Wasmer package at their guest
 * paths; a package is created per distinct manifest (cheap after the first).
 */
import { BackendUnavailableError } from "../bundle/errors.js";
import { wasmerUnavailableReason } from "../features.js";
import { now, type WasiBackend, type WasiJob, type WasiOutcome } from "./backend.js";

type Sdk = typeof import("@wasmer/sdk");
type Wasmer = InstanceType<Sdk["Wasmer"]>;
type Package = Awaited<ReturnType<Wasmer["packages"]["create"]>>;

export const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/** Throw unless this context can run the wasmer backend (cross-origin isolated, with shared memory). */
export function checkWasmerAvailable(): void {
  if (isNode()) return;
  const why = wasmerUnavailableReason();
  if (why !== undefined) throw new BackendUnavailableError(why);
}

const PACKAGES_KEPT = 4;

export class WasmerBackend implements WasiBackend {
  readonly name = "wasmer" as const;
  #client: Promise<Wasmer> | undefined;
  #packages = new Map<string, Promise<Package>>();

  constructor(private readonly loadSdk: () => Promise<Sdk>) {
    checkWasmerAvailable();
  }

  #wasmer(): Promise<Wasmer> {
    this.#client ??= this.loadSdk().then((sdk) => new sdk.Wasmer({ cache: false }).ready());
    return this.#client;
  }

  #package(wasmer: Wasmer, job: WasiJob): Promise<Package> {
    const files: Record<string, Uint8Array> = {};
    for (const mount of job.mounts) {
      for (const [rel, data] of mount.files) files[`${mount.guest}/${rel}`] = data;
    }
    // Key: module plus the exact file set (the per-run manifest changes it).
    const key = `${job.moduleKey}\0${Object.entries(files)
      .map(([p, d]) => `${p}:${d.length}:${fingerprint(d)}`)
      .join("\0")}`;
    let pkg = this.#packages.get(key);
    if (!pkg) {
      pkg = wasmer.packages.create({
        modules: { runtime: job.module },
        commands: { run: { module: "runtime" } },
        files,
      });
      this.#packages.set(key, pkg);
      pkg.catch(() => this.#packages.delete(key));
      while (this.#packages.size > PACKAGES_KEPT) this.#packages.delete(this.#packages.keys().next().value!);
    }
    return pkg;
  }

  async run(job: WasiJob): Promise<WasiOutcome> {
    let t = now();
    const wasmer = await this.#wasmer();
    const compileMs = now() - t;
    t = now();
    const pkg = await this.#package(wasmer, job);
    const sandbox = await wasmer.sandboxes.create({
      packages: [pkg],
      env: { ...job.env },
      network: { mode: "disabled" },
    });
    const mountMs = now() - t;
    t = now();
    try {
      const out = await sandbox.command(pkg, job.argv.slice(1)).run({ stdin: job.stdin, check: false });
      const runMs = now() - t;
      let stderr = out.stderr.bytes;
      if (out.reason !== "exited") {
        stderr = concat(stderr, new TextEncoder().encode(`error: the wasm module was ${out.reason}\n`));
      }
      return { exitCode: out.exitCode, stdout: out.stdout.bytes, stderr, compileMs, mountMs, runMs };
    } finally {
      await sandbox.close();
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#packages.clear();
    if (client) await (await client).close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A cheap content fingerprint (FNV-1a over a sample) for the package cache key. */
function fingerprint(data: Uint8Array): string {
  let h = 0x811c9dc5;
  const step = Math.max(1, Math.floor(data.length / 4096));
  for (let i = 0; i < data.length; i += step) h = Math.imul(h ^ data[i]!, 0x01000193);
  return (h >>> 0).toString(16);
}
