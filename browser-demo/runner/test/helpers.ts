/** Test helpers: the real bundles built by `python -m rmbuild bundle`, and a small tar writer for tampering. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

export const bundlesDir = process.env.RMPKG_BUNDLES_DIR ?? join(process.cwd(), "..", "..", "build", "bundles");

export interface IndexEntry {
  name: string;
  file: string;
  sha256: string;
  pipelines: string[];
}

export function bundleIndex(): IndexEntry[] {
  return (JSON.parse(readFileSync(join(bundlesDir, "index.json"), "utf8")) as { bundles: IndexEntry[] }).bundles;
}

export function bundleBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(bundlesDir, `${name}.rmpkg`)));
}

/** Native runtime results: {"<bundle>/<pipeline>": "<compact stdout>"}, written by the Python side. */
export function expectedOutputs(): Record<string, string> {
  const file = process.env.RMPKG_EXPECTED ?? join(bundlesDir, "expected-native.json");
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
}

/** Input items of the audio pipelines (`{"<bundle>/<pipeline>": [items]}`), written by the Python side. */
export function sampleInputs(): Record<string, unknown[]> {
  const file = process.env.RMPKG_SAMPLES ?? join(bundlesDir, "sample-inputs.json");
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown[]>;
}

export interface Entry {
  path: string;
  data: Uint8Array;
}

/** Unpack a .rmpkg's tar layer (ustar, regular files only). */
export function unpack(bundle: Uint8Array): Entry[] {
  const tar = new Uint8Array(gunzipSync(bundle));
  const out: Entry[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const text = (a: number, n: number) => new TextDecoder().decode(header.subarray(a, a + n)).replace(/\0.*$/s, "");
    const prefix = text(345, 155);
    const path = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100);
    const size = parseInt(text(124, 12).trim() || "0", 8);
    out.push({ path, data: tar.slice(off + 512, off + 512 + size) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Repack entries as a ustar archive, gzip-compressed (same fixed attributes as the builder). */
export function pack(entries: Entry[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const { path, data } of entries) {
    const header = new Uint8Array(512);
    const put = (s: string, at: number) => header.set(new TextEncoder().encode(s), at);
    let name = path;
    let prefix = "";
    if (name.length > 100) {
      const cut = path.lastIndexOf("/", 155);
      prefix = path.slice(0, cut);
      name = path.slice(cut + 1);
    }
    put(name, 0);
    put("0000644\0", 100);
    put("0000000\0", 108);
    put("0000000\0", 116);
    put(data.length.toString(8).padStart(11, "0") + "\0", 124);
    put("00000000000\0", 136);
    put("        ", 148);
    put("0", 156);
    put("ustar\0" + "00", 257);
    put(prefix, 345);
    const sum = header.reduce((a, b) => a + b, 0);
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(header, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((a, b) => a + b.length, 0);
  const tar = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) {
    tar.set(b, off);
    off += b.length;
  }
  return new Uint8Array(gzipSync(tar));
}

export function metadataOf(entries: Entry[]): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(entries[0]!.data)) as Record<string, unknown>;
}

export function withMetadata(entries: Entry[], meta: unknown): Entry[] {
  return [{ path: "rmpkg.json", data: new TextEncoder().encode(JSON.stringify(meta)) }, ...entries.slice(1)];
}
