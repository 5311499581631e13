/**
 * Backend on @bjorn3/browser_wasi_shim: synchronous, so run it in a Worker.
 * No special headers needed. Files live in memory; the guest may create files
 * (they vanish after the run).
 */
import {
  Directory,
  File,
  type Inode,
  OpenFile,
  PreopenDirectory,
  WASI,
  WASIProcExit,
} from "@bjorn3/browser_wasi_shim";
import { now, TRAP_EXIT_CODE, type GuestMount, type WasiBackend, type WasiJob, type WasiOutcome } from "./backend.js";
import { compileModule, holdingTheLoop } from "./modules.js";
import { ReadonlyFile } from "./readonly-file.js";

type Tree = Map<string, Tree | Uint8Array>;

function toTree(files: ReadonlyMap<string, Uint8Array>): Tree {
  const root: Tree = new Map();
  for (const [path, data] of files) {
    const parts = path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let next = dir.get(part);
      if (!(next instanceof Map)) dir.set(part, (next = new Map()));
      dir = next;
    }
    dir.set(parts[parts.length - 1]!, data);
  }
  return root;
}

function toInodes(tree: Tree): Map<string, Inode> {
  const out = new Map<string, Inode>();
  for (const [name, node] of tree) {
    // Read-only, sharing the bundle's bytes (no copy per run: readonly-file.ts).
    out.set(name, node instanceof Map ? new Directory(toInodes(node)) : new ReadonlyFile(node));
  }
  return out;
}

export function preopen(mount: GuestMount): PreopenDirectory {
  return new PreopenDirectory(mount.guest, toInodes(toTree(mount.files)));
}

export class ShimBackend implements WasiBackend {
  readonly name = "shim" as const;
  #modules = new Map<string, WebAssembly.Module>();

  /** The compiled module for `key` (its sha256), compiled on first use; compileMs 0 when cached. */
  async compile(key: string, bytes: Uint8Array): Promise<{ module: WebAssembly.Module; compileMs: number }> {
    const t = now();
    let module = this.#modules.get(key);
    if (module) return { module, compileMs: 0 };
    module = await compileModule(bytes, key);
    this.#modules.set(key, module);
    return { module, compileMs: now() - t };
  }

  async run(job: WasiJob): Promise<WasiOutcome> {
    const { module, compileMs } = await this.compile(job.moduleKey, job.module);
    let t = now();
    const stdin = new OpenFile(new File(job.stdin, { readonly: true }));
    const stdout = new OpenFile(new File(new Uint8Array(0)));
    const stderr = new OpenFile(new File(new Uint8Array(0)));
    // A writable scratch folder at /tmp, in memory, new (empty) for each run and gone after
    // it: Python's tempfile (the runtime points TMPDIR at it). The bundle's mounts stay read-only.
    const scratch = job.mounts.some((m) => m.guest === "/tmp") ? [] : [new PreopenDirectory("/tmp", new Map())];
    const fds = [stdin, stdout, stderr, ...job.mounts.map(preopen), ...scratch];
    const env = Object.entries(job.env).map(([k, v]) => `${k}=${v}`);
    const wasi = new WASI([...job.argv], env, fds, { debug: false });
    const mountMs = now() - t;
    t = now();
    let exitCode: number;
    let trap = "";
    try {
      const instance = await holdingTheLoop(() => WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport }));
      exitCode = wasi.start(instance as unknown as Parameters<WASI["start"]>[0]);
    } catch (err) {
      if (err instanceof WASIProcExit) {
        exitCode = err.code;
      } else {
        exitCode = TRAP_EXIT_CODE;
        trap = `error: the wasm module trapped: ${(err as Error).message ?? String(err)}\n`;
      }
    }
    const runMs = now() - t;
    const errBytes = trap
      ? new Uint8Array([...stderr.file.data, ...new TextEncoder().encode(trap)])
      : stderr.file.data;
    return { exitCode, stdout: stdout.file.data, stderr: errBytes, compileMs, mountMs, runMs };
  }

  async close(): Promise<void> {
    this.#modules.clear();
  }
}
