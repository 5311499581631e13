// Build the package into dist/: self-contained ES modules (esbuild; @bjorn3/browser_wasi_shim
// bundled in, @wasmer/sdk left to the user) and type declarations (tsc).
//   dist/worker.js  the Web Worker, self-contained
//   dist/index.js   the runner, with the same worker code inline (started from a Blob URL)
// With --tests: the Node unit tests into dist-test/ instead.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const common = { bundle: true, format: "esm", target: "es2022", logLevel: "warning", legalComments: "none" };
const WORKER_SOURCE = "__RMPKG_WORKER_SOURCE__";

if (process.argv.includes("--tests")) {
  const out = join(root, "dist-test");
  rmSync(out, { recursive: true, force: true });
  const entryPoints = readdirSync(join(root, "test"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => join(root, "test", f));
  await build({
    ...common,
    entryPoints,
    outdir: out,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    sourcemap: true,
    define: { [WORKER_SOURCE]: '""' }, // Node has no Web Worker: the tests run in-thread
    external: ["@wasmer/sdk"],
  });
  console.log(`built ${entryPoints.length} test file(s) into dist-test/`);
} else {
  const out = join(root, "dist");
  rmSync(out, { recursive: true, force: true });
  const worker = await build({
    ...common,
    entryPoints: [join(root, "src/worker.ts")],
    platform: "browser",
    minify: true,
    write: false,
    outfile: join(out, "worker.js"),
  });
  const workerCode = worker.outputFiles[0].text;
  await build({
    ...common,
    entryPoints: [join(root, "src/index.ts")],
    platform: "neutral",
    outfile: join(out, "index.js"),
    define: { [WORKER_SOURCE]: JSON.stringify(workerCode) },
  });
  writeFileSync(join(out, "worker.js"), workerCode);
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  pruneDeclarations(out);
  // The bundled shim's licence travels with the code built from it.
  const shim = packageDir("@bjorn3/browser_wasi_shim");
  const { version } = JSON.parse(readFileSync(join(shim, "package.json"), "utf8"));
  const notice = [`dist/*.js include @bjorn3/browser_wasi_shim ${version} (MIT OR Apache-2.0):`, ""];
  for (const file of ["LICENSE-MIT", "LICENSE-APACHE"]) notice.push(`==> ${file}`, readFileSync(join(shim, file), "utf8"));
  writeFileSync(join(out, "THIRD_PARTY_LICENSES.txt"), notice.join("\n"));
  console.log(`built the package into dist/ (index.js ${size(out, "index.js")}, worker.js ${size(out, "worker.js")})`);
}

/** Keep the declarations index.d.ts reaches; the engine's and the backends' are internal. */
function pruneDeclarations(dir) {
  const keep = new Set();
  const visit = (file) => {
    if (keep.has(file)) return;
    keep.add(file);
    for (const [, rel] of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)\.js"/g)) visit(join(dirname(file), `${rel}.d.ts`));
  };
  visit(join(dir, "index.d.ts"));
  for (const file of readdirSync(dir, { recursive: true })) {
    const path = join(dir, file);
    if (path.endsWith(".d.ts") && !keep.has(path)) rmSync(path);
  }
  for (const sub of readdirSync(dir, { withFileTypes: true })) {
    if (sub.isDirectory() && readdirSync(join(dir, sub.name)).length === 0) rmSync(join(dir, sub.name), { recursive: true });
  }
}

function packageDir(name) {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
}

function size(dir, name) {
  return `${(readFileSync(join(dir, name)).length / 1024).toFixed(0)} KiB`;
}
