/** Messages between PipelineRunner (main thread) and its Web Worker. */
import { BackendUnavailableError, BundleError, PipelineError, WorkerError, type PipelineErrorKind } from "./bundle/errors.js";
import type { BackendName, LoadInfo, OpenOptions, RunRequest, RunResult, SessionInfo, SessionResult } from "./types.js";

export type Request =
  | {
      id: number;
      type: "load";
      source: string | Uint8Array;
      backend: BackendName;
      backendReason?: string;
      sha256?: string;
      wasmerSdkUrl?: string;
    }
  | { id: number; type: "run"; request: RunRequest }
  | { id: number; type: "manifest"; pipeline?: string }
  | { id: number; type: "open"; pipeline?: string; options: OpenOptions }
  | { id: number; type: "push"; session: number; item: string }
  | { id: number; type: "push-many"; session: number; items: string; count: number }
  | { id: number; type: "push-audio"; session: number; samples: Float32Array; sampleRate: number; channels: number }
  | { id: number; type: "session-close"; session: number }
  | { id: number; type: "close" };

export interface SerializedError {
  name: string;
  message: string;
  exitCode?: number;
  kind?: PipelineErrorKind;
  stderr?: string;
}

export type Response =
  | { id: number; ok: true; value: LoadInfo | RunResult | SessionInfo | SessionResult | string | null }
  | { id: number; ok: false; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof PipelineError) {
    return { name: err.name, message: err.message, exitCode: err.exitCode, kind: err.kind, stderr: err.stderr };
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

export function deserializeError(e: SerializedError): Error {
  switch (e.name) {
    case "PipelineError":
      return new PipelineError(e.message, e.exitCode ?? -1, e.kind ?? "unknown", e.stderr ?? "");
    case "BundleError":
      return new BundleError(e.message);
    case "BackendUnavailableError":
      return new BackendUnavailableError(e.message);
    case "WorkerError":
      return new WorkerError(e.message);
    default: {
      const err = new Error(e.message);
      err.name = e.name;
      return err;
    }
  }
}
