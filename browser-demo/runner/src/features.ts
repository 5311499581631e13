/**
 * What this JavaScript context can do, found by trying (never by the user agent): the runner
 * chooses its paths from it (`auto` picks wasmer only where it can run; a module that needs
 * SIMD128 gets a clear refusal where wasm SIMD is missing), and pages and tests can show it.
 *
 * The bundle's modules are built for SIMD128 (`-msimd128`); bundles carry no relaxed-SIMD build
 * today, so `relaxedSimd` is reported, and the module run is always the SIMD128 one.
 */

/** The smallest module using a v128 instruction (i8x16.splat; i8x16.popcnt), and one using a
 *  relaxed-SIMD instruction (i8x16.relaxed_swizzle). `WebAssembly.validate` answers for each. */
const SIMD128_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
const RELAXED_SIMD_PROBE = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11,
];

export interface Features {
  /** WebAssembly exists and can compile modules. */
  webAssembly: boolean;
  /** Fixed-width SIMD (the bundle's module needs it). */
  simd128: boolean;
  /** Relaxed SIMD (Chrome 114+, Firefox 120+; not every WebKit). */
  relaxedSimd: boolean;
  /** The context is cross-origin isolated (COOP same-origin + COEP require-corp). */
  crossOriginIsolated: boolean;
  /** SharedArrayBuffer and shared WebAssembly memory exist (wasmer's threads need them). */
  sharedMemory: boolean;
  /** Window-only features (false in a worker): the demo's offline mode and live captions. */
  serviceWorker: boolean;
  audioWorklet: boolean;
  getUserMedia: boolean;
  /** Workers of type "module" start here (the runner's worker is one). Unknown (null) until tried. */
  moduleWorker?: boolean | null;
}

function validates(bytes: number[]): boolean {
  try {
    return typeof WebAssembly !== "undefined" && WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

function sharedMemory(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof WebAssembly === "undefined") return false;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

type Globals = {
  crossOriginIsolated?: boolean;
  navigator?: { serviceWorker?: unknown; mediaDevices?: { getUserMedia?: unknown } };
  AudioWorkletNode?: unknown;
  AudioContext?: { prototype?: object };
};

export function detectFeatures(): Features {
  const g = globalThis as Globals;
  const webAssembly = typeof WebAssembly !== "undefined" && typeof WebAssembly.compile === "function";
  return {
    webAssembly,
    simd128: webAssembly && validates(SIMD128_PROBE),
    relaxedSimd: webAssembly && validates(RELAXED_SIMD_PROBE),
    crossOriginIsolated: g.crossOriginIsolated === true,
    sharedMemory: sharedMemory(),
    serviceWorker: !!g.navigator && "serviceWorker" in g.navigator && !!g.navigator.serviceWorker,
    audioWorklet: typeof g.AudioWorkletNode === "function" && !!g.AudioContext?.prototype && "audioWorklet" in g.AudioContext.prototype,
    getUserMedia: typeof g.navigator?.mediaDevices?.getUserMedia === "function",
  };
}

/** Why the wasmer backend cannot run in this browser context, or undefined where it can. */
export function wasmerUnavailableReason(features: Features = detectFeatures()): string | undefined {
  if (!features.crossOriginIsolated) {
    return (
      "the wasmer backend needs a cross-origin isolated page: serve it with " +
      "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' " +
      "(or use the shim backend, which needs no special headers)"
    );
  }
  if (!features.sharedMemory) {
    return "the wasmer backend needs SharedArrayBuffer and shared WebAssembly memory, which this browser does not offer here (use the shim backend)";
  }
  return undefined;
}

/** The module variant a bundle's module is run as here: always SIMD128 (see the file's comment). */
export function simdPath(features: Features = detectFeatures()): string {
  return features.relaxedSimd
    ? "simd128 (relaxed SIMD available; the bundle has no relaxed-SIMD build)"
    : "simd128 (no relaxed SIMD here)";
}
