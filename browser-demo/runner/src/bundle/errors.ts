/** The bundle is unreadable, corrupted, tampered with or not a valid .rmpkg. */
export class BundleError extends Error {
  override readonly name = "BundleError";
}

/** The pipeline ran and failed: invalid manifest, node error, bad inputs, trap. */
export class PipelineError extends Error {
  override readonly name = "PipelineError";
  constructor(
    message: string,
    /** Exit code of the runtime module (2 manifest, 3 node, 4 inputs, 134 trap). */
    readonly exitCode: number,
    /** What kind of failure the exit code stands for. */
    readonly kind: PipelineErrorKind,
    /** Everything the module wrote on stderr. */
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The runtime's kinds (`pipeline_executor exit-codes --json`), a trap, or unknown. */
export type PipelineErrorKind = "usage" | "manifest" | "node" | "inputs" | "trap" | "unknown";

/** A wasm trap: the host's exit code (what a shell reports for an abort), not the runtime's. */
export const TRAP_EXIT_CODE = 134;

/** The exit-code table a bundle carries (`runtime.exit_codes`), as the runtime printed it. */
export type ExitCodeTable = Readonly<Record<string, { readonly kind: string }>>;

const KINDS: readonly string[] = ["usage", "manifest", "node", "inputs"];

/** What kind of failure `exitCode` is, by the bundle's own table. */
export function errorKind(exitCode: number, table: ExitCodeTable | undefined): PipelineErrorKind {
  if (exitCode === TRAP_EXIT_CODE) return "trap";
  const kind = table?.[String(exitCode)]?.kind;
  return kind !== undefined && KINDS.includes(kind) ? (kind as PipelineErrorKind) : "unknown";
}

/** A backend cannot run here (e.g. wasmer without cross-origin isolation). */
export class BackendUnavailableError extends Error {
  override readonly name = "BackendUnavailableError";
}

/** The runner's worker is gone (the runner was closed or terminated, or the worker died):
 *  the calls it had not answered are rejected with this. */
export class WorkerError extends Error {
  override readonly name = "WorkerError";
}
