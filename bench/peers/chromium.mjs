// Runs benchmark jobs in Debian Chromium (the browser tests' launcher: playwright-core,
// /usr/bin/chromium, nothing leaves 127.0.0.1).
//   node chromium.mjs CONFIG.json
// CONFIG: {chromium, base (the server's URL), report, jobs: [{name, fn, args}]}: each job is
// `fn(args)` of pages/bench.js, in a page of a freshly launched browser (so every job starts
// cold: no compiled module in the renderer's caches). The report: {jobs: [{name, value |
// error}], outside: [URLs that were refused], consoleErrors}.
import { readFile, writeFile } from "node:fs/promises";
import { launch } from "../../browser-demo/e2e/chromium.mjs";

const cfg = JSON.parse(await readFile(process.argv[2], "utf8"));
const report = { jobs: [], outside: [], consoleErrors: [] };
for (const job of cfg.jobs) {
  const browser = await launch(cfg.chromium);
  try {
    await browser.page.goto(new URL("pages/blank.html", cfg.base).href);
    const value = await browser.page.evaluate(
      async ({ fn, args }) => (await import("/pages/bench.js"))[fn](args),
      { fn: job.fn, args: job.args },
    );
    report.jobs.push({ name: job.name, value });
  } catch (err) {
    report.jobs.push({ name: job.name, error: String(err && err.message ? err.message : err) });
  } finally {
    report.outside.push(...browser.outside);
    report.consoleErrors.push(...browser.consoleErrors);
    await browser.close();
  }
  process.stderr.write(`chromium: ${job.name} done\n`);
}
await writeFile(cfg.report, JSON.stringify(report));
