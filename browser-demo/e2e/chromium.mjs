// Debian Chromium through playwright-core (never a downloaded browser), allowed to reach
// 127.0.0.1 only: any other request is aborted and listed in `outside`.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
  "--disable-default-apps", "--disable-domain-reliability", "--no-pings", "--metrics-recording-only",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

const local = (url) => ["data:", "blob:"].includes(url.protocol) || url.hostname === "127.0.0.1";

/** Launch Chromium; returns its page, what left 127.0.0.1, the console errors, and close(). */
export async function launch(executablePath, extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), "rmpkg-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...FLAGS, ...extraArgs],
    viewport: { width: 1360, height: 1000 },
    deviceScaleFactor: 1,
  });
  const outside = [];
  await context.route("**/*", (route) => {
    if (local(new URL(route.request().url()))) return route.continue();
    outside.push(route.request().url());
    return route.abort("blockedbyclient");
  });
  context.on("request", (req) => local(new URL(req.url())) || outside.push(req.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(msg.text()));
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, outside, consoleErrors, close };
}
