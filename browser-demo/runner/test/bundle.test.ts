/** .rmpkg reading and verification against the real bundles, and every way of breaking one. */
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, it } from "node:test";
import { fetchBytes } from "../src/engine.js";
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

describe("fetching a bundle", () => {
  // A real HTTP server on 127.0.0.1: `answer` says what it does with each request.
  async function serving(answer: (res: ServerResponse) => void, use: (url: string) => Promise<void>): Promise<void> {
    const sockets = new Set<Socket>();
    const server = createServer((_req, res) => answer(res));
    server.on("connection", (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/b.rmpkg`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }
  const stalls = (pattern: RegExp) => (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
  const bytes = bundleBytes(small.name);

  it("a server that never answers: a clear error once nothing came for the stall time", async () => {
    await serving(() => undefined, (url) => assert.rejects(fetchBytes(url, 300), stalls(/^cannot fetch bundle \S+: no answer for 0.3 s: the download stalled/)));
  });
  it("a download that stops half-way: the same, not a pending load", async () => {
    const half = (res: ServerResponse) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
      res.write(bytes.subarray(0, bytes.length >> 1));
    };
    await serving(half, (url) => assert.rejects(fetchBytes(url, 300), stalls(/no data for 0.3 s: the download stalled/)));
  });
  it("a slow download that keeps sending goes on past the stall time", async () => {
    const slow = (res: ServerResponse) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
      const step = Math.ceil(bytes.length / 6);
      let at = 0;
      const next = () => {
        res.write(bytes.subarray(at, at + step));
        at += step;
        if (at < bytes.length) setTimeout(next, 300);
        else res.end();
      };
      next();
    };
    await serving(slow, async (url) => assert.deepEqual(await fetchBytes(url, 1000), bytes));
  });
  it("a connection closed mid-download is a BundleError naming how far it got", async () => {
    const cut = (res: ServerResponse) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
      res.write(bytes.subarray(0, 1000), () => res.socket?.destroy());
    };
    await serving(cut, (url) => assert.rejects(fetchBytes(url, 5000), stalls(/the download broke off after \d+ bytes/)));
  });
});
