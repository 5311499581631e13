/** Where the page gets a bundle: the built-in list (bundles/index.json), a local file, or a URL. */

/** One entry of bundles/index.json (written by `python -m rmbuild bundle`). */
export interface IndexEntry {
  name: string;
  file: string;
  title: string;
  description: string;
  size: number;
  sha256: string;
  unpacked_size: number;
  pipelines: string[];
}

/** A bundle to open: what PipelineRunner.load takes, and how to name it on the page. */
export interface Opened {
  label: string;
  source: URL | Uint8Array;
  /** Pinned sha256 of the whole file (the built-in list pins every bundle). */
  sha256?: string;
}

export async function fetchIndex(url = "bundles/index.json"): Promise<IndexEntry[]> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return ((await response.json()) as { bundles: IndexEntry[] }).bundles;
}

export function fromIndex(entry: IndexEntry): Opened {
  return { label: `bundles/${entry.file}`, source: new URL(`bundles/${entry.file}`, location.href), sha256: entry.sha256 };
}

export async function fromFile(file: File): Promise<Opened> {
  return { label: `local file ${file.name}`, source: new Uint8Array(await file.arrayBuffer()) };
}

export function fromUrl(text: string): Opened {
  const trimmed = text.trim();
  if (!trimmed) throw new TypeError("enter the URL of a .rmpkg bundle");
  const url = new URL(trimmed, location.href);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${url.protocol} URLs cannot be fetched here: give an http(s) URL`);
  }
  return { label: url.href, source: url };
}
