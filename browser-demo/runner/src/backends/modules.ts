/**
 * Compiling the bundle's module on any JavaScript host, with clear errors where a host
 * cannot. Workers (Cloudflare, workerd) forbid compiling WebAssembly from bytes at run
 * time: a Worker declares the module with its code and hands it over precompiled,
 * `provideModule(sha256, module)`, before it loads the bundle. The bundle is still read
 * and verified as everywhere; only the compile step is skipped.
 */
import { BackendUnavailableError } from "../bundle/errors.js";
import { detectFeatures } from "../features.js";

const provided = new Map<string, WebAssembly.Module>();

/** Run the bundle module whose bytes have this sha256 (hex, the `members` entry of the bundle's
 *  metadata) as `module` instead of compiling those bytes. The caller vouches that `module` was
 *  compiled from exactly those bytes (e.g. its build extracted it from the same bundle). */
export function provideModule(sha256: string, module: WebAssembly.Module): void {
  if (!/^[0-9a-f]{64}$/i.test(sha256)) throw new TypeError(`provideModule: ${sha256} is not a sha256 (64 hex digits)`);
  if (typeof WebAssembly === "undefined" || !(module instanceof WebAssembly.Module)) {
    throw new TypeError("provideModule: expected a WebAssembly.Module");
  }
  provided.set(sha256.toLowerCase(), module);
}

type Globals = {
  navigator?: { userAgent?: string };
  Deno?: { version?: { deno?: string } };
  Bun?: { version?: string };
  process?: { versions?: { node?: string } };
};

/** This JavaScript host, for messages: "workerd", "Deno 2.9.6", "Bun 1.4.5", "Node 20.20.2", ... */
export function hostName(): string {
  const g = globalThis as Globals;
  if (g.navigator?.userAgent === "Cloudflare-Workers") return "workerd (Cloudflare Workers)";
  if (g.Deno?.version?.deno) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun?.version) return `Bun ${g.Bun.version}`;
  if (g.process?.versions?.node) return `Node ${g.process.versions.node}`;
  return g.navigator?.userAgent ? `this browser (${g.navigator.userAgent})` : "this JavaScript host";
}

/**
 * `work()` with the host's event loop held open (a referenced timer) until it settles. A pending
 * WebAssembly.compile or instantiate holds no handle of Node's loop (nodejs/node#36616): a script
 * whose only pending work is one lets the loop run empty, and there Node 20 can deadlock for good
 * draining its platform's tasks while a background compile waits for a GC (nodejs/node#54918;
 * seen in 5 of 42 runs of the peers bench's Node script, none with the timer). Elsewhere the
 * timer costs nothing.
 */
export async function holdingTheLoop<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 2 ** 30);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** The provided module for `sha256`, else `bytes` compiled; BackendUnavailableError, naming the host, where it cannot be. */
export async function compileModule(bytes: Uint8Array, sha256: string): Promise<WebAssembly.Module> {
  const given = provided.get(sha256.toLowerCase());
  if (given) return given;
  if (typeof WebAssembly === "undefined" || typeof WebAssembly.compile !== "function") {
    throw new BackendUnavailableError(
      `${hostName()} has no WebAssembly (Node, for one, has none with --jitless): ` +
        "the bundle's runtime is a wasm32-wasi (WASI preview1) module and needs it",
    );
  }
  try {
    return await holdingTheLoop(() => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
  } catch (err) {
    const why = (err as Error).message ?? String(err);
    if (/disallowed by embedder|code generation/i.test(why)) {
      throw new BackendUnavailableError(
        `${hostName()} forbids compiling WebAssembly at run time (${why}): declare the bundle's module with ` +
          `the Worker and hand it over first, provideModule("${sha256}", module)`,
      );
    }
    if (!detectFeatures().simd128) {
      throw new BackendUnavailableError(
        `${hostName()} has no WebAssembly SIMD (SIMD128), which the bundle's module is built for (${why})`,
      );
    }
    throw err;
  }
}
