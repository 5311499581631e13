// The three browser engines behind one page object (the subset of Playwright's Page that the e2e
// flow uses: goto, waitForFunction, evaluate, click, fill, inputValue, textContent, $eval, $$eval,
// setInputFiles, selectOption, screenshot):
//
//   chromium  Debian Chromium through playwright-core (chromium.mjs), a fake microphone playing a WAV;
//   firefox   Debian Firefox ESR through geckodriver (W3C WebDriver, webdriver.mjs), headless;
//   webkit    WebKitGTK's MiniBrowser through Debian's WebKitWebDriver (W3C WebDriver), under Xvfb.
//
// The network is the test's: `setOffline(true)` asks the test server (rmbuild/checks/browser.py) to
// drop every connection, as a cut network would, the same way for every engine. Requests that leave
// 127.0.0.1 are listed by `outside()`: Playwright's router for Chromium, the server's recording proxy
// (the W3C proxy capability) for the WebDriver engines.
import { launch as launchChromium } from "./chromium.mjs";
import { launchFirefox, launchWebKit } from "./webdriver.mjs";

/** What the engine says it is (name and version), asked of the engine itself. */
async function version(engine, handle) {
  if (engine === "chromium") return `Chromium ${handle.context.browser()?.version() ?? (await handle.page.evaluate(() => navigator.userAgent))}`;
  const caps = handle.capabilities ?? {};
  return `${caps.browserName ?? engine} ${caps.browserVersion ?? ""}`.trim();
}

export async function launchEngine(config) {
  const control = config.controlUrl;
  const setOffline = async (on) => {
    const r = await fetch(`${control}offline?on=${on ? 1 : 0}`, { method: "POST" });
    if (!r.ok) throw new Error(`the test server did not switch the network ${on ? "off" : "on"}: HTTP ${r.status}`);
  };
  const proxy = new URL(control).host;
  const proxied = async () => {
    const r = await fetch(`${control}outside`);
    return r.ok ? await r.json() : [`(could not read the proxy's log: HTTP ${r.status})`];
  };
  let handle;
  let outside;
  let consoleErrors = [];
  if (config.engine === "chromium") {
    const fakeMic = config.liveWav
      ? [
          "--use-fake-device-for-media-stream",
          "--use-fake-ui-for-media-stream",
          `--use-file-for-fake-audio-capture=${config.liveWav}`,
          "--autoplay-policy=no-user-gesture-required",
        ]
      : [];
    handle = await launchChromium(config.chromium, fakeMic);
    outside = async () => handle.outside;
    consoleErrors = handle.consoleErrors;
  } else if (config.engine === "firefox") {
    handle = await launchFirefox({ geckodriver: config.geckodriver, firefox: config.firefox, proxy });
    outside = proxied;
  } else if (config.engine === "webkit") {
    handle = await launchWebKit({ driver: config.webkitDriver, minibrowser: config.minibrowser, proxy, display: config.display });
    outside = proxied;
  } else {
    throw new Error(`unknown engine ${config.engine}`);
  }
  return {
    engine: config.engine,
    page: handle.page,
    version: await version(config.engine, handle),
    outside,
    consoleErrors,
    setOffline,
    // Chromium's fake microphone plays a file; Firefox's fake device is a tone and WebKitGTK's mock
    // device a beep, so there the live mode plays the WAV into the AudioWorklet instead (?mic=URL).
    liveSource: config.engine === "chromium" ? "getUserMedia (fake device playing the WAV)" : "the WAV decoded and played into the AudioWorklet (?mic=)",
    close: handle.close,
    // Tabs the WebDriver page object replaced because the driver stayed stuck on them, and sessions
    // replaced because their browser ended (webdriver.mjs).
    recoveries: handle.recoveries ?? [],
    // WebDriver engines: a new session after the browser ended, and a way to provoke that.
    restart: handle.restart,
    killBrowser: handle.killBrowser,
    browserEnded: handle.browserEnded,
  };
}
