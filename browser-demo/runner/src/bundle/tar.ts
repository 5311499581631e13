/**
 * A strict reader for the POSIX ustar archives inside .rmpkg bundles.
 * Only regular files are accepted; every header checksum is checked.
 */
import { BundleError } from "./errors.js";

export interface TarEntry {
  readonly path: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder("utf-8", { fatal: true });

function field(block: Uint8Array, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  try {
    return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
  } catch {
    throw new BundleError("not a readable .rmpkg (tar header has a name that is not UTF-8)");
  }
}

function octal(block: Uint8Array, offset: number, length: number, what: string): number {
  const text = field(block, offset, length).replace(/\0/g, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new BundleError(`not a readable .rmpkg (tar header: bad ${what} field)`);
  return parseInt(text, 8);
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Every member of a ustar archive, in archive order. */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  for (;;) {
    if (offset + BLOCK > archive.length) {
      throw new BundleError("not a readable .rmpkg (tar layer is truncated: no end-of-archive marker)");
    }
    const header = archive.subarray(offset, offset + BLOCK);
    if (isZeroBlock(header)) break;
    const stored = octal(header, 148, 8, "checksum");
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== stored) {
      throw new BundleError(`not a readable .rmpkg (tar header checksum mismatch at byte ${offset}: damaged archive)`);
    }
    if (field(header, 257, 6) !== "ustar") {
      throw new BundleError("not a readable .rmpkg (tar member is not in ustar format)");
    }
    const name = field(header, 0, 100);
    const prefix = field(header, 345, 155);
    const path = prefix ? `${prefix}/${name}` : name;
    const type = String.fromCharCode(header[156]!);
    if (type !== "0" && type !== "\0") {
      throw new BundleError(`member ${JSON.stringify(path)} is not a regular file: refusing it`);
    }
    const size = octal(header, 124, 12, "size");
    const start = offset + BLOCK;
    if (start + size > archive.length) {
      throw new BundleError(`not a readable .rmpkg (tar layer is truncated inside member ${JSON.stringify(path)})`);
    }
    entries.push({ path, data: archive.subarray(start, start + size) });
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}
