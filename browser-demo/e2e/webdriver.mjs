// A W3C WebDriver client (the classic HTTP protocol, spoken with node:http: no dependency), and
// the two engines it drives: Debian's Firefox ESR through geckodriver, and WebKitGTK's MiniBrowser
// through Debian's WebKitWebDriver. Both give the page object the e2e flow uses (see engines.mjs).
//
// Requests to anything but 127.0.0.1 go to a recording proxy (the W3C `proxy` capability, with
// 127.0.0.1 exempt), which refuses them: `outside()` lists what the browser asked for.
import { spawn, spawnSync } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {
  constructor(status, body, what) {
    const v = body?.value ?? {};
    super(`${what}: ${v.error ?? `HTTP ${status}`}: ${String(v.message ?? JSON.stringify(body)).split("\n")[0]}`);
    this.name = "WebDriverError";
    this.code = v.error;
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Start a driver binary on a free port; resolves once it answers /status. */
async function startDriver(binary, args, env, label) {
  const port = await freePort();
  const child = spawn(binary, [...args(port)], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  const keep = (d) => {
    log.push(String(d));
    if (log.length > 200) log.splice(0, 100);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = null;
  child.on("exit", (code, signal) => (exited = `${label} exited (${signal ?? code})`));
  // However this process ends (an uncaught error included), the driver and its browser go with it.
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`${exited}: ${log.join("").slice(-800)}`);
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) return { base, child, log };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error(`${label} did not answer on ${base} within 20 s: ${log.join("").slice(-800)}`);
}

/** One HTTP exchange with a driver (node:http: a script may run for minutes, longer than fetch waits).
 *  A driver that does not answer within `timeoutMs` fails the command rather than hanging the run. */
function exchange(method, url, body, timeoutMs = 360_000) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = data ? { "content-type": "application/json; charset=utf-8", "content-length": data.length } : {};
    const req = request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, ok: res.statusCode >= 200 && res.statusCode < 300, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.end(data);
  });
}

class Session {
  constructor(base, id, capabilities) {
    this.base = base;
    this.id = id;
    this.capabilities = capabilities;
  }

  async cmd(method, path, body, timeoutMs = path.startsWith("/execute") ? 960_000 : 360_000) {
    const url = `${this.base}/session/${this.id}${path}`;
    const started = Date.now();
    let r;
    try {
      r = await exchange(method, url, body, timeoutMs);
    } catch (err) {
      throw new Error(`${method} ${path}: the driver did not answer: ${err.code ?? ""} ${err.message} after ${Date.now() - started} ms`);
    }
    const text = r.text;
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { value: { error: "bad reply", message: text.slice(0, 300) } };
    }
    if (!r.ok) throw new WebDriverError(r.status, json, `${method} ${path}`);
    return json.value;
  }

  /** Run `fn` (its source) in the page with `arg` (JSON); its result (awaited if a promise). */
  async evaluate(fn, arg) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (${fn})(${JSON.stringify(arg ?? null)}))
        .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: String(e && e.stack || e) }));`;
    const out = await this.cmd("POST", "/execute/async", { script, args: [] });
    if (out && "err" in out) throw new Error(`in the page: ${out.err}`);
    return out?.ok;
  }

  async element(selector) {
    const found = await this.cmd("POST", "/element", { using: "css selector", value: selector });
    return found[ELEMENT];
  }
}

/** The driver's answer when a command waited out the page-load timeout for a navigation to finish. */
const LOAD_WAIT_TIMED_OUT = /^WebDriverError: POST \/(url|refresh|execute\/async): timeout/;

/** Driver answers of "timeout" in a row after a navigation before the page object gives up on the
 *  tab: each one is a page-load timeout (WEBKIT_PAGE_LOAD_MS) spent waiting. */
const TIMEOUTS_BEFORE_NEW_TAB = 3;

/** The page object of a WebDriver session (the e2e flow's interface, as chromium.mjs gives for Playwright).
 *  `recoveries` lists each time a tab the driver stayed stuck on was replaced (see `poll`). */
function pageOf(session, files, recoveries) {
  // The URL of the last navigation, until a script has run in the page it opened.
  let navigating = null;
  let current = null;
  /** A new tab in place of the current one, at `url`: the driver's commands wait on the current tab's
   *  load state, which a stuck tab never leaves, while a new tab's commands answer at once. */
  const newTab = async (url, why) => {
    const old = await session.cmd("GET", "/window");
    const { handle } = await session.cmd("POST", "/window/new", { type: "tab" });
    await session.cmd("DELETE", "/window"); // the old one (still current)
    await session.cmd("POST", "/window", { handle });
    recoveries.push({ url, why, closed: old });
    console.log(`webdriver: the driver stayed stuck on ${url} (${why}): closed that tab, opened it again in a new one`);
    await navigate(url);
  };
  const navigate = async (url) => {
    navigating = current = url;
    try {
      await session.cmd("POST", "/url", { url });
    } catch (err) {
      // still loading when the page-load timeout ran out: the poll that follows waits for the page
      if (!LOAD_WAIT_TIMED_OUT.test(String(err))) throw err;
    }
  };
  const poll = async (fn, arg, timeout) => {
    const until = Date.now() + timeout;
    const failed = new Map(); // what the tries that threw said, and how often: for the timeout's message
    let answered = 0;
    let timeoutsInARow = 0;
    for (;;) {
      let value;
      try {
        value = await session.evaluate(fn, arg);
        answered++;
        navigating = null;
        timeoutsInARow = 0;
      } catch (err) {
        // a navigation in progress (the script's document went away, or WebKitGTK's driver answering
        // "timeout": it waits for the page's load to finish, at most the page-load timeout, and now and
        // then misses the end of a load the service worker serves): try again until the poll's deadline
        const text = String(err);
        const loadWait = LOAD_WAIT_TIMED_OUT.test(text);
        if (!loadWait && !/unload|navigat|no such window|discarded|JavaScript error|document/i.test(text)) throw err;
        const why = text.slice(0, 160);
        failed.set(why, (failed.get(why) ?? 0) + 1);
        timeoutsInARow = loadWait ? timeoutsInARow + 1 : 0;
        if (navigating && timeoutsInARow >= TIMEOUTS_BEFORE_NEW_TAB) {
          await newTab(navigating, `${timeoutsInARow} commands in a row answered "timeout"`);
          timeoutsInARow = 0;
        }
      }
      if (value) return value;
      if (Date.now() > until) {
        const threw = [...failed].map(([why, n]) => `${n}x ${why}`).join("; ");
        throw new Error(`timed out after ${timeout} ms waiting for ${String(fn).slice(0, 160)} (${answered} tries answered false${threw ? `, ${threw}` : ""})`);
      }
      await sleep(150);
    }
  };
  return {
    goto: navigate,
    reload: async () => {
      navigating = current;
      await session.cmd("POST", "/refresh", {}).catch((err) => {
        if (!LOAD_WAIT_TIMED_OUT.test(String(err))) throw err;
      });
    },
    waitForFunction: (fn, arg = null, options = {}) => poll(fn, arg, options.timeout ?? 30_000),
    evaluate: (fn, arg) => session.evaluate(fn, arg),
    click: async (selector) => {
      await session.evaluate((s) => {
        const e = document.querySelector(s);
        if (!e) throw new Error(`no element ${s}`);
        e.scrollIntoView({ block: "center" });
      }, selector);
      const id = await session.element(selector);
      await session.cmd("POST", `/element/${id}/click`, {});
    },
    fill: async (selector, value) => {
      await session.evaluate(
        ({ s, v }) => {
          const e = document.querySelector(s);
          e.value = v;
          e.dispatchEvent(new Event("input", { bubbles: true }));
          e.dispatchEvent(new Event("change", { bubbles: true }));
        },
        { s: selector, v: value },
      );
    },
    selectOption: async (selector, value) => {
      await session.evaluate(
        ({ s, v }) => {
          const e = document.querySelector(s);
          e.value = v;
          e.dispatchEvent(new Event("change", { bubbles: true }));
        },
        { s: selector, v: value },
      );
    },
    /** A file path, or {name, buffer} (written to a temporary file of that name first). */
    setInputFiles: async (selector, file) => {
      let path = file;
      if (typeof file !== "string") {
        const dir = mkdtempSync(join(files, "upload-"));
        path = join(dir, basename(file.name));
        writeFileSync(path, file.buffer);
      }
      const id = await session.element(selector);
      await session.cmd("POST", `/element/${id}/value`, { text: path });
    },
    inputValue: (selector) => session.evaluate((s) => document.querySelector(s).value, selector),
    textContent: (selector) => session.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector),
    $eval: (selector, fn) => session.evaluate(`(s) => (${fn})(document.querySelector(s))`, selector),
    $$eval: (selector, fn) => session.evaluate(`(s) => (${fn})([...document.querySelectorAll(s)])`, selector),
    /** Go on in `next` (a new session, after the browser of this one ended): no page is open there yet. */
    useSession: (next) => {
      session = next;
      navigating = current = null;
    },
    screenshot: async ({ path }) => {
      const png = await session.cmd("GET", "/screenshot", undefined, 120_000);
      writeFileSync(path, Buffer.from(png, "base64"));
    },
  };
}

async function newSession(driver, capabilities, label) {
  let r;
  try {
    r = await exchange("POST", `${driver.base}/session`, { capabilities: { alwaysMatch: capabilities } });
  } catch (err) {
    driver.child.kill("SIGKILL");
    throw new Error(`new ${label} session: the driver did not answer: ${err.message} (driver log: ${driver.log.join("").slice(-600)})`);
  }
  let json = {};
  try {
    json = JSON.parse(r.text);
  } catch {
    // reported below
  }
  if (!r.ok) {
    driver.child.kill("SIGKILL");
    throw new WebDriverError(r.status, json, `new ${label} session (driver log: ${driver.log.join("").slice(-600)})`);
  }
  return new Session(driver.base, json.value.sessionId, json.value.capabilities);
}

function proxyCapability(proxy) {
  if (!proxy) return {};
  return { proxy: { proxyType: "manual", httpProxy: proxy, sslProxy: proxy, noProxy: ["127.0.0.1"] } };
}

const TIMEOUTS = { timeouts: { script: 900_000, pageLoad: 300_000, implicit: 0 } };

/** WebKitGTK's page-load timeout: every command there first waits for the page's load to finish, and
 *  now and then the driver misses the end of a load the service worker served (measured with 2.50.6:
 *  one command blocked for the whole timeout, then the next answered at once). A short timeout makes
 *  such a miss cost seconds, not minutes; the page object then tries again (and, if the tab stays
 *  stuck, opens the page in a new one). Our pages reach DOMContentLoaded in well under a second. */
const WEBKIT_PAGE_LOAD_MS = 20_000;

/** Preferences that keep Firefox quiet (no update, telemetry, safe browsing, remote settings, ...):
 *  whatever still leaves for the network goes to the recording proxy and fails the run. */
const FIREFOX_PREFS = {
  "app.update.auto": false,
  "app.update.enabled": false,
  "app.normandy.enabled": false,
  "app.shield.optoutstudies.enabled": false,
  "browser.aboutwelcome.enabled": false,
  "browser.newtabpage.enabled": false,
  "browser.startup.homepage": "about:blank",
  "browser.startup.page": 0,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "browser.safebrowsing.downloads.enabled": false,
  "browser.safebrowsing.provider.mozilla.updateURL": "",
  "browser.safebrowsing.provider.google4.updateURL": "",
  "browser.search.update": false,
  "browser.topsites.contile.enabled": false,
  "browser.newtabpage.activity-stream.feeds.topsites": false,
  "browser.ping-centre.telemetry": false,
  "captivedetect.canonicalURL": "",
  "datareporting.healthreport.uploadEnabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "extensions.update.enabled": false,
  "extensions.getAddons.cache.enabled": false,
  "extensions.blocklist.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  "network.http.speculative-parallel-limit": 0,
  "network.trr.mode": 5,
  "services.settings.server": "http://127.0.0.1:1/",
  "toolkit.telemetry.enabled": false,
  "toolkit.telemetry.server": "",
  "toolkit.telemetry.unified": false,
  "security.OCSP.enabled": 0,
  "identity.fxaccounts.enabled": false,
  // a fake microphone without a prompt (Firefox's fake device plays a tone, not a file)
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "media.autoplay.block-webaudio": false,
  // no sound server here: WebAudio runs on a null audio device (else an AudioContext never starts)
  "media.cubeb.force_mock_context": true,
  // service workers on http://127.0.0.1 (a secure context) and in automation
  "dom.serviceWorkers.enabled": true,
};

/** Firefox ESR through geckodriver, headless (no display needed). */
export async function launchFirefox({ geckodriver, firefox, proxy, fakeMic = true }) {
  const files = mkdtempSync(join(tmpdir(), "rmpkg-firefox-"));
  // Firefox inherits the driver's environment: MOZ_REMOTE_SETTINGS_DEVTOOLS lets a release build take
  // services.settings.server (else Remote Settings polls Mozilla's server whatever the pref says).
  const startGeckodriver = () =>
    startDriver(
      geckodriver,
      (port) => ["--port", String(port), "--host", "127.0.0.1", "--log", "warn"],
      { MOZ_REMOTE_SETTINGS_DEVTOOLS: "1" },
      "geckodriver",
    );
  const prefs = { ...FIREFOX_PREFS };
  if (!fakeMic) delete prefs["media.navigator.streams.fake"];
  const capabilities = {
    browserName: "firefox",
    "moz:firefoxOptions": {
      binary: firefox,
      args: ["-headless", "-width", "1360", "-height", "1000"],
      prefs,
      // lets services.settings.server point at nothing (Remote Settings would poll Mozilla's server)
      env: { MOZ_REMOTE_SETTINGS_DEVTOOLS: "1" },
      log: { level: "warn" },
    },
    ...proxyCapability(proxy),
    ...TIMEOUTS,
  };
  return finish(files, "firefox", async () => {
    const driver = await startGeckodriver();
    return { driver, session: await newSession(driver, capabilities, "Firefox") };
  });
}

/** WebKitGTK's MiniBrowser through WebKitWebDriver, on the display in $DISPLAY (Xvfb). */
export async function launchWebKit({ driver: binary, minibrowser, proxy, display }) {
  const files = mkdtempSync(join(tmpdir(), "rmpkg-webkit-"));
  // A fresh profile per run: MiniBrowser keeps service workers and caches in the XDG folders.
  const env = { XDG_DATA_HOME: join(files, "data"), XDG_CACHE_HOME: join(files, "cache"), XDG_CONFIG_HOME: join(files, "config") };
  if (display) env.DISPLAY = display;
  // No GPU here: Mesa's software rendering on X11. Compositing stays on: with
  // WEBKIT_DISABLE_COMPOSITING_MODE=1, once the page's WebAssembly memories pass ~800 MB (a Whisper run)
  // WebKitWebDriver's screenshot never answers (measured with WebKitGTK 2.50.6 under Xvfb).
  Object.assign(env, { LIBGL_ALWAYS_SOFTWARE: "1", GDK_BACKEND: "x11" });
  const capabilities = {
    browserName: "MiniBrowser",
    "webkitgtk:browserOptions": {
      binary: minibrowser,
      args: ["--automation", "--enable-mock-capture-devices=true", "--enable-media-stream=true", "--enable-webaudio=true"],
    },
    acceptInsecureCerts: true,
    ...proxyCapability(proxy),
    timeouts: { ...TIMEOUTS.timeouts, pageLoad: WEBKIT_PAGE_LOAD_MS },
    // Navigation returns at DOMContentLoaded (the flow then waits for the page's own state): offline, a
    // page the service worker serves never fires its load event in WebKitGTK 2.50 (measured), so a
    // "normal" navigation would wait out its timeout. ("none", the page object waiting for the new
    // document itself, once left one command blocked for minutes after a plain navigation.)
    pageLoadStrategy: "eager",
  };
  return finish(files, "webkit", async () => {
    const driver = await startDriver(binary, (port) => [`--port=${port}`, "--host=local"], env, "WebKitWebDriver");
    return { driver, session: await newSession(driver, capabilities, "WebKitGTK") };
  });
}

/** The engine handle over `start()`'s driver and session. `restart` replaces both when the browser
 *  has ended: WebKitWebDriver 2.50.6 never answers a new session after its browser was killed
 *  (measured: no answer within 360 s), so a new driver starts the new browser, on the same profile
 *  folders. */
async function finish(files, engine, start) {
  const sizeWindow = (s) => s.cmd("POST", "/window/rect", { width: 1360, height: 1000 }).catch(() => undefined);
  let { driver, session } = await start();
  await sizeWindow(session);
  const { capabilities } = session; // the browser's version: the same after a restart
  const recoveries = [];
  const page = pageOf(session, files, recoveries);
  /** End the session and the driver, each given 10 s (a driver whose browser died may answer neither). */
  const stopDriver = async () => {
    const { child } = driver;
    await fetch(`${driver.base}/session/${session.id}`, { method: "DELETE", signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    const exited = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", r)));
    if (child.exitCode === null) child.kill("SIGTERM"); // the driver closes its browser
    if ((await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) === false) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  /** The browser processes the driver started (none once the browser has ended). */
  const browserPids = () =>
    spawnSync("ps", ["-o", "pid=", "--ppid", String(driver.child.pid)], { encoding: "utf8" })
      .stdout.split(/\s+/)
      .filter(Boolean)
      .map(Number);
  const restart = async (why) => {
    const ended = session.id;
    await stopDriver();
    ({ driver, session } = await start());
    await sizeWindow(session);
    page.useSession(session);
    recoveries.push({ why, endedSession: ended });
    console.log(`webdriver: ${why}: went on with a new driver and browser`);
  };
  /** Kill the browser the driver started (not the driver): how the e2e flow provokes `restart`. */
  const killBrowser = () => {
    const pids = browserPids();
    if (pids.length === 0) throw new Error(`no browser process under the driver (pid ${driver.child.pid})`);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    return pids;
  };
  const close = async () => {
    await stopDriver();
    rmSync(files, { recursive: true, force: true });
  };
  return {
    engine,
    page,
    capabilities,
    close,
    recoveries,
    restart,
    killBrowser,
    browserEnded: () => browserPids().length === 0,
  };
}
