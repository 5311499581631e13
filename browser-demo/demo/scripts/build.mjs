// Build the demo site into dist/: the page (app.js: the demo with @remotemedia/wasm-runner, resolved
// by name like any dependency, its worker inline), the static files, and @wasmer/sdk's files in
// vendor/ (the SDK cannot be bundled: it starts workers relative to its own URL).
// Needs the runner's dist/ (npm run build -w @remotemedia/wasm-runner). esbuild only: works offline.
import { build } from "esbuild";
import { cpSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist");
const require = createRequire(import.meta.url);
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { app: join(root, "src/main.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
cpSync(join(root, "static"), out, { recursive: true });
let sdk = dirname(require.resolve("@wasmer/sdk"));
while (!existsSync(join(sdk, "package.json"))) sdk = dirname(sdk);
for (const dir of ["dist", "pkg"]) {
  cpSync(join(sdk, dir), join(out, "vendor/wasmer-sdk", dir), {
    recursive: true,
    filter: (src) => !src.endsWith(".map") && !src.endsWith(".d.ts"),
  });
}
cpSync(join(sdk, "LICENSE"), join(out, "vendor/wasmer-sdk/LICENSE"));
console.log("built the demo into dist/");
