/**
 * The runtime as a WASI reactor (`runtime.reactor`, runtime/README.md "Reactor module")
 * on @bjorn3/browser_wasi_shim: instantiated once per session, `_initialize` called once
 * when exported (the bundles' reactor is pre-initialised at build time by Wizer, CPython
 * already started, and has none: rmbuild/build/wasm/preinit.py), then `rm_session_open` /
 * `rm_session_push` / `rm_session_close` through the exported memory. Mirrors
 * rmbuild/run/reactor.py (the Python host in wasmtime).
 *
 * Synchronous like the shim: run it in a Worker. Python's print() goes to stderr,
 * collected per call.
 */
import { ConsoleStdout, File, OpenFile, PreopenDirectory, WASI, WASIProcExit } from "@bjorn3/browser_wasi_shim";
import { PipelineError, TRAP_EXIT_CODE, errorKind, type ExitCodeTable } from "../bundle/errors.js";
import type { GuestMount } from "./backend.js";
import { holdingTheLoop } from "./modules.js";
import { preopen } from "./shim.js";
import { littleEndianBytes } from "../samples.js";

interface ReactorExports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  rm_alloc(len: number): number;
  rm_free(ptr: number, len: number): void;
  rm_session_open(manifest: number, manifestLen: number, baseDir: number, baseDirLen: number): number;
  rm_session_push(handle: number, item: number, itemLen: number): number;
  /** Absent in reactor modules older than it (the bundle then has to be packed again). */
  rm_session_push_many?(handle: number, items: number, itemsLen: number): number;
  /** Absent in reactor modules older than it, as rm_session_push_many. */
  rm_session_push_audio?(handle: number, samples: number, samplesBytes: number, sampleRate: number, channels: number): number;
  rm_session_close(handle: number): number;
  rm_output_ptr(): number;
  rm_output_len(): number;
}

const REQUIRED = ["memory", "rm_alloc", "rm_free", "rm_session_open", "rm_session_push", "rm_session_close", "rm_output_ptr", "rm_output_len"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one call produced: the output text, what the module wrote on stderr meanwhile, and the
 *  files it opened (guest paths). */
export interface ReactorReply {
  text: string;
  stderr: string;
  filesOpened: string[];
}

const OFLAGS_DIRECTORY = 2;

/** Wrap path_open to list the regular files the module opens (a model read once per session shows once). */
function countOpens(wasi: WASI, opened: string[]): void {
  const imports = wasi.wasiImport as Record<string, (...args: number[]) => number>;
  const pathOpen = imports["path_open"]!;
  const dirs = new Map<number, string>();
  imports["path_open"] = (...args: number[]) => {
    const [fd, , pathPtr, pathLen, oflags] = args as [number, number, number, number, number];
    const ret = pathOpen(...args);
    if (ret !== 0) return ret;
    const memory = (wasi.inst.exports["memory"] as WebAssembly.Memory).buffer;
    const rel = decoder.decode(new Uint8Array(memory, pathPtr, pathLen));
    const base = wasi.fds[fd] instanceof PreopenDirectory ? (wasi.fds[fd] as PreopenDirectory).prestat_name : dirs.get(fd) ?? "";
    const path = `${base.replace(/\/$/, "")}/${rel}`;
    const newFd = wasi.fds.length - 1;
    if ((oflags & OFLAGS_DIRECTORY) !== 0 || !(wasi.fds[newFd] instanceof OpenFile)) dirs.set(newFd, path);
    else opened.push(path);
    return ret;
  };
}

export class ShimReactor {
  readonly #ex: ReactorExports;
  readonly #exitCodes: ExitCodeTable | undefined;
  #stderr: Uint8Array[] = [];
  #opened: string[];
  /** Set when the instance trapped or exited: nothing may run in it any more. */
  #dead: PipelineError | undefined;

  private constructor(ex: ReactorExports, exitCodes: ExitCodeTable | undefined, stderr: Uint8Array[], opened: string[]) {
    this.#opened = opened;
    this.#ex = ex;
    this.#exitCodes = exitCodes;
    this.#stderr = stderr;
  }

  /** Instantiate `module` with the bundle's mounts and environment; runs `_initialize`. */
  static async instantiate(
    module: WebAssembly.Module,
    env: Readonly<Record<string, string>>,
    mounts: readonly GuestMount[],
    exitCodes?: ExitCodeTable,
  ): Promise<ShimReactor> {
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    const missing = REQUIRED.filter((n) => !exports.includes(n));
    if (missing.length) {
      throw new PipelineError(`the reactor module lacks the session ABI (missing exports: ${missing.join(", ")})`, 1, "usage", "");
    }
    const stderr: Uint8Array[] = [];
    const fds = [
      new OpenFile(new File(new Uint8Array(0), { readonly: true })),
      new ConsoleStdout(() => undefined), // stdout belongs to the host: the module writes nothing there
      new ConsoleStdout((bytes) => stderr.push(bytes.slice())),
      ...mounts.map(preopen),
    ];
    const wasi = new WASI(["pipeline_reactor"], Object.entries(env).map(([k, v]) => `${k}=${v}`), fds, { debug: false });
    const opened: string[] = [];
    countOpens(wasi, opened);
    const instance = await holdingTheLoop(() => WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport }));
    const reactor = new ShimReactor(instance.exports as unknown as ReactorExports, exitCodes, stderr, opened);
    reactor.#guard(() => wasi.initialize(instance as unknown as Parameters<WASI["initialize"]>[0]));
    return reactor;
  }

  /** Bytes of the instance's linear memory (it only grows). */
  get memoryBytes(): number {
    return this.#ex.memory.buffer.byteLength;
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  /** Open a session: its handle, and the files opened (Python's stdlib and modules, models). */
  open(manifest: string, baseDir: string): { handle: number; filesOpened: string[] } {
    const m = this.#write(manifest);
    const b = this.#write(baseDir);
    try {
      const handle = this.#guard(() => this.#ex.rm_session_open(m.ptr, m.len, b.ptr, b.len));
      const { filesOpened } = this.#checked(handle);
      return { handle, filesOpened };
    } finally {
      this.#free(m);
      this.#free(b);
    }
  }

  push(handle: number, item: string): ReactorReply {
    const it = this.#write(item);
    try {
      return this.#checked(this.#guard(() => this.#ex.rm_session_push(handle, it.ptr, it.len)));
    } finally {
      this.#free(it);
    }
  }

  /** Several items in one call (`items`: a JSON array): one document for them all. */
  pushMany(handle: number, items: string): ReactorReply {
    const call = this.#optional("rm_session_push_many");
    const it = this.#write(items);
    try {
      return this.#checked(this.#guard(() => call(handle, it.ptr, it.len)));
    } finally {
      this.#free(it);
    }
  }

  /** One audio item given as its samples: their bytes copied into the module's memory (no JSON,
   *  no base64). The module reads them as little-endian f32, as wasm memory is. */
  pushAudio(handle: number, samples: Float32Array, sampleRate: number, channels: number): ReactorReply {
    const call = this.#optional("rm_session_push_audio");
    const it = this.#writeBytes(littleEndianBytes(samples));
    try {
      return this.#checked(this.#guard(() => call(handle, it.ptr, it.len, sampleRate, channels)));
    } finally {
      this.#free(it);
    }
  }

  close(handle: number): ReactorReply {
    return this.#checked(this.#guard(() => this.#ex.rm_session_close(handle)));
  }

  /** Run a call into the module; a trap or an exit kills the instance (PipelineError, kind trap). */
  #guard<T>(call: () => T): T {
    const dead = this.#dead;
    if (dead) throw new PipelineError(`session failed earlier: ${dead.message}`, dead.exitCode, dead.kind, `error: session failed earlier: ${dead.message}\n`);
    try {
      return call();
    } catch (err) {
      this.#opened.length = 0;
      const why =
        err instanceof WASIProcExit
          ? `the wasm module exited with code ${err.code} during a session call`
          : `the wasm module trapped: ${(err as Error)?.message ?? String(err)}`;
      const stderr = this.#takeStderr();
      this.#dead = new PipelineError(why, TRAP_EXIT_CODE, "trap", `${stderr}error: ${why}\n`);
      throw this.#dead;
    }
  }

  /** An export that reactor modules older than it lack: a usage error naming it if absent. */
  #optional<K extends "rm_session_push_many" | "rm_session_push_audio">(name: K): NonNullable<ReactorExports[K]> {
    const call = this.#ex[name];
    if (!call) {
      const why = `this bundle's reactor module has no ${name} (it is older): pack the bundle again`;
      throw new PipelineError(why, 1, "usage", `error: ${why}\n`);
    }
    return call as NonNullable<ReactorExports[K]>; // wasm exports need no `this`
  }

  #write(text: string): { ptr: number; len: number } {
    return this.#writeBytes(encoder.encode(text));
  }

  #writeBytes(bytes: Uint8Array): { ptr: number; len: number } {
    const ptr = this.#guard(() => this.#ex.rm_alloc(bytes.length));
    if (ptr === 0) throw new PipelineError(`the module could not allocate ${bytes.length} bytes`, 1, "usage", "");
    new Uint8Array(this.#ex.memory.buffer, ptr, bytes.length).set(bytes);
    return { ptr, len: bytes.length };
  }

  #free(block: { ptr: number; len: number }): void {
    if (!this.#dead) this.#ex.rm_free(block.ptr, block.len);
  }

  #output(): string {
    const ptr = this.#ex.rm_output_ptr();
    const len = this.#ex.rm_output_len();
    return decoder.decode(new Uint8Array(this.#ex.memory.buffer, ptr, len));
  }

  #takeStderr(): string {
    const text = this.#stderr.map((b) => decoder.decode(b, { stream: true })).join("") + decoder.decode();
    this.#stderr.length = 0;
    return text;
  }

  /** The call's output, or a PipelineError with the runtime's message (the CLI's stderr shape). */
  #checked(code: number): ReactorReply {
    const text = this.#output();
    const stderr = this.#takeStderr();
    if (code < 0) {
      const exitCode = -code;
      const first = text.split("\n", 1)[0] ?? "";
      this.#opened.length = 0;
      throw new PipelineError(first, exitCode, errorKind(exitCode, this.#exitCodes), `${stderr}error: ${text}\n`);
    }
    return { text, stderr, filesOpened: this.#opened.splice(0) };
  }
}
