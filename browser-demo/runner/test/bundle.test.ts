/** .rmpkg reading and verification against the real bundles, and every way of breaking one. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readBundle } from "../src/bundle/rmpkg.js";
import { BundleError } from "../src/bundle/errors.js";
import { bundleBytes, bundleIndex, metadataOf, pack, unpack, withMetadata, type Entry } from "./helpers.js";

const index = bundleIndex();
const small = index.find((b) => b.name === "multiply-add") ?? index[0]!;

async function refused(data: Uint8Array, pattern: RegExp, sha?: string): Promise<void> {
  await assert.rejects(readBundle(data, sha), (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("real bundles", () => {
  for (const entry of index) {
    it(`${entry.name} verifies, with its sha256 pinned`, async () => {
      const data = bundleBytes(entry.name);
      const bundle = await readBundle(data, entry.sha256);
      assert.equal(bundle.metadata.name, entry.name);
      assert.equal(bundle.metadata.runtime_target, "wasm32-wasi");
      assert.deepEqual(
        bundle.metadata.pipelines.map((p) => p.name),
        entry.pipelines,
      );
      assert.equal(bundle.files.size, bundle.metadata.members.length);
    });
  }
});

describe("refused bundles", () => {
  const data = bundleBytes(small.name);
  const entries = unpack(data);
  const member = entries.find((e) => e.path.endsWith(".json") && e.path !== "rmpkg.json")!;

  it("repacking unchanged still verifies (the tamper helpers are faithful)", async () => {
    await readBundle(pack(entries));
  });
  it("wrong pinned sha256", async () => {
    await refused(data, /bundle sha256 is [0-9a-f]{64}, expected 0{64}: refusing it/, "0".repeat(64));
  });
  it("a flipped byte in the compressed stream", async () => {
    const bad = data.slice();
    bad[Math.floor(bad.length / 2)] ^= 0xff;
    await refused(bad, /gzip layer is damaged|tar header checksum|sha256/);
  });
  it("a truncated file", async () => {
    await refused(data.slice(0, data.length - 100), /truncated|damaged/);
  });
  it("not a bundle at all", async () => {
    await refused(new TextEncoder().encode("<html>404</html>".repeat(4)), /no gzip header/);
  });
  it("a member changed after packing", async () => {
    const changed = entries.map((e) =>
      e === member ? { ...e, data: new TextEncoder().encode(new TextDecoder().decode(e.data).replace("2", "3")) } : e,
    );
    await refused(pack(changed), new RegExp(`member '${member.path}' has sha256 [0-9a-f]{64}, rmpkg.json says`));
  });
  it("a member of another size", async () => {
    const changed = entries.map((e) => (e === member ? { ...e, data: new Uint8Array([...e.data, 32]) } : e));
    await refused(pack(changed), /has \d+ bytes, rmpkg.json says \d+: the bundle is corrupted or was tampered with/);
  });
  it("a missing member", async () => {
    await refused(pack(entries.filter((e) => e !== member)), /is listed in rmpkg.json but missing from the archive/);
  });
  it("an extra, unlisted member", async () => {
    const extra: Entry = { path: "pipelines/evil.py", data: new TextEncoder().encode("import os") };
    await refused(pack([...entries, extra]), /member 'pipelines\/evil.py' is not listed in rmpkg.json/);
  });
  it("rmpkg.json not first", async () => {
    await refused(pack([...entries.slice(1), entries[0]!]), /the first member must be rmpkg.json/);
  });
  it("metadata with an unsafe member path", async () => {
    const meta = metadataOf(entries) as { members: { path: string }[] };
    meta.members[0]!.path = "../etc/passwd";
    await refused(pack(withMetadata(entries, meta)), /members\[0\]\.path: "\.\.\/etc\/passwd" does not match/);
  });
  it("metadata of another format version", async () => {
    await refused(pack(withMetadata(entries, { ...metadataOf(entries), format_version: 2 })), /format_version: expected 1, got 2/);
  });
  it("metadata for another target", async () => {
    await refused(
      pack(withMetadata(entries, { ...metadataOf(entries), runtime_target: "wasm32-unknown-unknown" })),
      /runtime_target: expected "wasm32-wasi"/,
    );
  });
  it("a pipeline manifest in no mounted folder", async () => {
    const meta = metadataOf(entries) as { pipelines: { name: string; manifest: string }[]; runtime: { module: string } };
    meta.pipelines[0]!.manifest = meta.runtime.module;
    await refused(pack(withMetadata(entries, meta)), /metadata: pipeline '\w+': manifest '[^']+' is in no mounted folder/);
  });
  it("a runtime.reactor that is not a member", async () => {
    const meta = metadataOf(entries) as { runtime: Record<string, unknown> };
    meta.runtime.reactor = "runtime/reactor.wasm";
    await refused(pack(withMetadata(entries, meta)), /metadata: runtime.reactor 'runtime\/reactor.wasm' is not a listed member/);
  });
  it("metadata that is not JSON", async () => {
    await refused(
      pack([{ path: "rmpkg.json", data: new TextEncoder().encode("{nope") }, ...entries.slice(1)]),
      /rmpkg.json is not valid JSON/,
    );
  });
});
