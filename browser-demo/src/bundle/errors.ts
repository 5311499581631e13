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

export type PipelineErrorKind = "usage" | "manifest" | "node" | "inputs" | "trap" | "unknown";

export function errorKind(exitCode: number): PipelineErrorKind {
  switch (exitCode) {
    case 1:
      return "usage";
    case 2:
      return "manifest";
    case 3:
      return "node";
    case 4:
      return "inputs";
    case 134:
      return "trap";
    default:
      return "unknown";
  }
}

/** A backend cannot run here (e.g. wasmer without cross-origin isolation). */
export class BackendUnavailableError extends Error {
  override readonly name = "BackendUnavailableError";
}
