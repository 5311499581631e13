// Build the demo site (dist/) and, with --tests, the Node unit tests (dist-test/).
// esbuild only: works offline once `npm ci` has run.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tests = process.argv.includes("--tests");
const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, logLevel: "warning", legalComments: "none" };

if (tests) {
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
    // The SDK loads its own workers relative to its files: keep it in node_modules.
    external: ["@wasmer/sdk", "@wasmer/sdk/*"],
  });
  console.log(`built ${entryPoints.length} test file(s) into dist-test/`);
} else {
  const out = join(root, "dist");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    ...common,
    entryPoints: { app: join(root, "src/demo/main.ts"), worker: join(root, "src/worker.ts"), "pipeline-runner": join(root, "src/index.ts") },
    outdir: out,
    platform: "browser",
    minify: true,
    external: ["@wasmer/sdk"],
  });
  cpSync(join(root, "static"), out, { recursive: true });
  // @wasmer/sdk cannot be bundled (import.meta.url workers): serve its files as they are.
  for (const dir of ["dist", "pkg"]) {
    cpSync(join(root, "node_modules/@wasmer/sdk", dir), join(out, "vendor/wasmer-sdk", dir), {
      recursive: true,
      filter: (src) => !src.endsWith(".map") && !src.endsWith(".d.ts"),
    });
  }
  cpSync(join(root, "node_modules/@wasmer/sdk/LICENSE"), join(out, "vendor/wasmer-sdk/LICENSE"));
  console.log("built the demo into dist/");
}
