/**
 * Reading and verifying .rmpkg bundles (format version 1, packaging/SPEC.md):
 * gzip -> ustar -> rmpkg.json first, validated against rmpkg.schema.json, then
 * the size and sha256 of every member. Mirrors packaging/rmpkg.py.
 */
import schemaJson from "../../../../packaging/rmpkg.schema.json";
import { BundleError } from "./errors.js";
import { validate, type Schema } from "./schema.js";
import { readTar } from "./tar.js";

export const METADATA = "rmpkg.json";
export const FORMAT_VERSION = 1;
export const RUNTIME_TARGET = "wasm32-wasi";
const schema = schemaJson as unknown as Schema;

export interface Member {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface Mount {
  readonly name: string;
  /** Folder of the archive mounted at `mount`. */
  readonly source: string;
  /** Guest path (WASI preopen). */
  readonly mount: string;
  readonly description?: string;
}

export interface PipelineEntry {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly manifest: string;
  readonly input_kind?: "json" | "audio" | "audio-stream";
}

export interface BundleMetadata {
  readonly format: "rmpkg";
  readonly format_version: 1;
  readonly name: string;
  readonly version: string;
  readonly title?: string;
  readonly description?: string;
  readonly runtime_target: "wasm32-wasi";
  readonly runtime: {
    readonly module: string;
    readonly program?: string;
    readonly argv: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    /** The runtime as a WASI reactor (a member); not used by this runner yet. */
    readonly reactor?: string;
    readonly output: "json-stdout";
    readonly exit_codes?: Readonly<Record<string, { readonly kind: string; readonly meaning: string }>>;
  };
  readonly wasi_deps: readonly Mount[];
  readonly models: readonly Mount[];
  readonly pipelines: readonly PipelineEntry[];
  readonly default_pipeline?: string;
  /** The pure-Python wheels whose files the bundle carries (informational). */
  readonly requirements?: readonly { readonly name: string; readonly version: string; readonly file: string; readonly sha256: string }[];
  readonly provenance?: Readonly<Record<string, string>>;
  readonly members: readonly Member[];
}

/** A verified bundle: metadata and the bytes of every member. */
export interface Bundle {
  readonly metadata: BundleMetadata;
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Bytes of the .rmpkg file. */
  readonly size: number;
  /** sha256 (hex) of the .rmpkg file. */
  readonly sha256: string;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) {
    throw new BundleError("not a .rmpkg (no gzip header: is this the right file?)");
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
    }
  } catch (err) {
    // Browsers say little ("Failed to fetch", "The compressed data was not valid"): name the cause ourselves.
    const why = (err as Error).message;
    const detail = why && !/fetch/i.test(why) ? `: ${why}` : "";
    throw new BundleError(`not a readable .rmpkg (gzip layer is damaged or truncated${detail})`);
  }
  return concatBytes(chunks, total);
}

/** The chunks of a stream as one array (`total`: their summed length); one chunk is returned as is. */
export function concatBytes(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function checkSemantics(meta: BundleMetadata): void {
  const paths = meta.members.map((m) => m.path);
  const listed = new Set(paths);
  const sorted = [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (paths.some((p, i) => p !== sorted[i])) throw new BundleError("metadata: members are not sorted by path");
  if (listed.size !== paths.length) throw new BundleError("metadata: a member is listed twice");
  if (!listed.has(meta.runtime.module)) {
    throw new BundleError(`metadata: runtime.module '${meta.runtime.module}' is not a listed member`);
  }
  const mounts = [...meta.wasi_deps, ...meta.models];
  if (new Set(mounts.map((m) => m.mount)).size !== mounts.length) {
    throw new BundleError("metadata: two mounts use the same guest folder");
  }
  for (const m of mounts) {
    if (!paths.some((p) => p.startsWith(m.source + "/"))) {
      throw new BundleError(`metadata: mount '${m.name}': no member below '${m.source}'`);
    }
  }
  const names = meta.pipelines.map((p) => p.name);
  if (new Set(names).size !== names.length) throw new BundleError("metadata: two pipelines have the same name");
  for (const p of meta.pipelines) {
    if (!listed.has(p.manifest)) {
      throw new BundleError(`metadata: pipeline '${p.name}': manifest '${p.manifest}' is not a listed member`);
    }
    if (mountOf(meta, p.manifest) === undefined) {
      throw new BundleError(`metadata: pipeline '${p.name}': manifest '${p.manifest}' is in no mounted folder`);
    }
  }
  const reactor = meta.runtime.reactor;
  if (reactor !== undefined && !listed.has(reactor)) {
    throw new BundleError(`metadata: runtime.reactor '${reactor}' is not a listed member`);
  }
  if (meta.default_pipeline !== undefined && !names.includes(meta.default_pipeline)) {
    throw new BundleError(`metadata: default_pipeline '${meta.default_pipeline}' is not one of the pipelines`);
  }
  if (!meta.runtime.argv.join(" ").includes("{manifest}")) {
    throw new BundleError("metadata: runtime.argv has no {manifest} placeholder");
  }
}

/** Parse and fully verify a bundle. Throws BundleError with a precise reason. */
export async function readBundle(data: Uint8Array, expectedSha256?: string): Promise<Bundle> {
  const digest = await sha256Hex(data);
  if (expectedSha256 !== undefined && digest !== expectedSha256.toLowerCase()) {
    throw new BundleError(`bundle sha256 is ${digest}, expected ${expectedSha256.toLowerCase()}: refusing it`);
  }
  const entries = readTar(await gunzip(data));
  if (entries.length === 0 || entries[0]!.path !== METADATA) {
    throw new BundleError(`not a .rmpkg: the first member must be ${METADATA}`);
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of entries.slice(1)) {
    if (files.has(entry.path) || entry.path === METADATA) {
      throw new BundleError(`member '${entry.path}' appears twice`);
    }
    files.set(entry.path, entry.data);
  }
  let meta: BundleMetadata;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(entries[0]!.data)) as BundleMetadata;
  } catch (err) {
    throw new BundleError(`${METADATA} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    validate(meta, schema);
  } catch (err) {
    if (err instanceof BundleError) throw new BundleError(`${METADATA} does not follow the schema: ${err.message}`);
    throw err;
  }
  checkSemantics(meta);
  const listed = new Map(meta.members.map((m) => [m.path, m]));
  for (const path of files.keys()) {
    if (!listed.has(path)) {
      throw new BundleError(`member '${path}' is not listed in ${METADATA}: refusing an altered bundle`);
    }
  }
  for (const [path, entry] of listed) {
    const blob = files.get(path);
    if (blob === undefined) {
      throw new BundleError(`member '${path}' is listed in ${METADATA} but missing from the archive`);
    }
    if (blob.length !== entry.size) {
      throw new BundleError(
        `member '${path}' has ${blob.length} bytes, ${METADATA} says ${entry.size}: ` +
          "the bundle is corrupted or was tampered with",
      );
    }
    const actual = await sha256Hex(blob);
    if (actual !== entry.sha256) {
      throw new BundleError(
        `member '${path}' has sha256 ${actual}, ${METADATA} says ${entry.sha256}: ` +
          "the bundle is corrupted or was tampered with",
      );
    }
  }
  const order = [...files.keys()];
  if (order.some((p, i) => p !== meta.members[i]!.path)) {
    throw new BundleError(`members are not in the order ${METADATA} lists them`);
  }
  return { metadata: meta, files, size: data.length, sha256: digest };
}

/** The mount holding a member, and the member's path inside it. */
export function mountOf(meta: BundleMetadata, member: string): { mount: Mount; rel: string } | undefined {
  for (const mount of [...meta.wasi_deps, ...meta.models]) {
    if (member.startsWith(mount.source + "/")) return { mount, rel: member.slice(mount.source.length + 1) };
  }
  return undefined;
}

/** Where a member appears in the guest: below the mount holding it (SPEC: the manifest to run). */
export function guestPath(meta: BundleMetadata, member: string): string {
  const found = mountOf(meta, member);
  if (!found) throw new BundleError(`member '${member}' is in no mounted folder`);
  return `${found.mount.mount}/${found.rel}`;
}

/** The files below a mount's source folder, keyed by their path inside it. */
export function mountFiles(bundle: Bundle, mount: Mount): Map<string, Uint8Array> {
  const prefix = mount.source + "/";
  const out = new Map<string, Uint8Array>();
  for (const [path, data] of bundle.files) if (path.startsWith(prefix)) out.set(path.slice(prefix.length), data);
  return out;
}

export function findPipeline(bundle: Bundle, name?: string): PipelineEntry {
  const meta = bundle.metadata;
  const wanted = name ?? meta.default_pipeline ?? meta.pipelines[0]!.name;
  const found = meta.pipelines.find((p) => p.name === wanted);
  if (!found) {
    const names = meta.pipelines.map((p) => p.name).join(", ");
    throw new BundleError(`bundle '${meta.name}' has no pipeline '${wanted}' (it has: ${names})`);
  }
  return found;
}
