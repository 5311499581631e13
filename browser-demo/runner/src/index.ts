export { PipelineRunner, packagedWorkerUrl } from "./runner.js";
export { FETCH_STALL_MS } from "./engine.js";
export { provideModule } from "./backends/modules.js";
export { PipelineSession, audioValue, mergeResults } from "./session.js";
export { BundleError, PipelineError, BackendUnavailableError, WorkerError, type PipelineErrorKind } from "./bundle/errors.js";
export { readBundle, type Bundle, type BundleMetadata, type PipelineEntry, type Mount, type Member } from "./bundle/rmpkg.js";
export type * from "./types.js";
export { detectFeatures, wasmerUnavailableReason, type Features } from "./features.js";
