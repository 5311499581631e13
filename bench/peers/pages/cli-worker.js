// A WASI command (whisper-cli.wasm) on the runner's own shim backend (backends/shim.ts, built
// to /shim/shim.js), in this module Worker: the CLI rows of the whisper benchmark in Chromium.
// Message {module, argv, mounts: [{guest, files: {name: url}}]} -> the WasiOutcome (stdout and
// stderr as text) plus the time to fetch the files.
import { ShimBackend } from "/shim/shim.js";

const backend = new ShimBackend();
const fetched = new Map();

async function bytes(url) {
  if (!fetched.has(url)) fetched.set(url, new Uint8Array(await (await fetch(url)).arrayBuffer()));
  return fetched.get(url);
}

self.onmessage = async (e) => {
  const { id, module, argv, mounts } = e.data;
  try {
    const t0 = performance.now();
    const job = {
      module: await bytes(module),
      moduleKey: module,
      argv,
      env: {},
      stdin: new Uint8Array(0),
      mounts: await Promise.all(
        mounts.map(async (m) => ({
          guest: m.guest,
          files: new Map(await Promise.all(Object.entries(m.files).map(async ([name, url]) => [name, await bytes(url)]))),
        })),
      ),
    };
    const fetchMs = performance.now() - t0;
    const out = await backend.run(job);
    const text = new TextDecoder();
    self.postMessage({ id, value: { ...out, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr), fetchMs } });
  } catch (err) {
    self.postMessage({ id, error: String(err && err.stack ? err.stack : err) });
  }
};
