/** What a WASI backend runs: one command, its files and its streams. */
import type { BackendName } from "../types.js";

export interface GuestMount {
  /** Absolute guest folder (a preopen). */
  guest: string;
  /** Files below it, by relative path. */
  files: ReadonlyMap<string, Uint8Array>;
}

export interface WasiJob {
  module: Uint8Array;
  /** Identifies the module bytes (sha256) for compile caching. */
  moduleKey: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  stdin: Uint8Array;
  mounts: readonly GuestMount[];
}

export interface WasiOutcome {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  compileMs: number;
  mountMs: number;
  runMs: number;
}

export interface WasiBackend {
  readonly name: BackendName;
  run(job: WasiJob): Promise<WasiOutcome>;
  close(): Promise<void>;
}

export { TRAP_EXIT_CODE } from "../bundle/errors.js";
export const now = (): number => performance.now();
