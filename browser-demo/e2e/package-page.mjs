// Open the package test pages (e2e/package/*.html in a project that installed the packed
// package) in Debian Chromium, 127.0.0.1 only.
//
//   node e2e/package-page.mjs CONFIG.json
//
// CONFIG: { chromium, report, pages: [{name, url, ...}] }. The report lists, per page, its
// entry with the state and text of #out and the URLs of the workers it started; and what
// left 127.0.0.1.
import { readFileSync, writeFileSync } from "node:fs";
import { launch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { page, outside, consoleErrors, close } = await launch(config.chromium);
const pages = [];
try {
  for (const entry of config.pages) {
    const { name, url } = entry;
    const workers = [];
    const onWorker = (worker) => workers.push(worker.url());
    page.on("worker", onWorker);
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("out")?.dataset.state, null, { timeout: 120_000 });
    const out = await page.$eval("#out", (e) => ({ state: e.dataset.state, text: e.textContent }));
    page.off("worker", onWorker);
    pages.push({ ...entry, ...out, workers });
    console.log(`${out.state === "done" ? "ok  " : "FAIL"} ${name}: ${out.text.trim().slice(0, 200)}`);
  }
} finally {
  await close();
}
writeFileSync(config.report, JSON.stringify({ pages, outside, consoleErrors }, null, 1));
