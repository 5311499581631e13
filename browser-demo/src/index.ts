export { PipelineRunner } from "./runner.js";
export { BundleError, PipelineError, BackendUnavailableError, type PipelineErrorKind } from "./bundle/errors.js";
export { readBundle, type Bundle, type BundleMetadata, type PipelineEntry, type Mount } from "./bundle/rmpkg.js";
export type * from "./types.js";
