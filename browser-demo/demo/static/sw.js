// The demo's service worker: offline after the first visit. Every same-origin GET goes to the
// network first (so a new build is picked up at once) and its answer is kept in the cache: the
// page, the runner (app.js), the bundle list, and each bundle the user opened. Without a network
// the cached answer is served, so a reload still runs every pipeline opened before. Works with or
// without COOP/COEP (cached answers keep their headers), e.g. on GitHub Pages.
const CACHE = "rmpkg-demo-v1";
const SHELL = ["./", "index.html", "app.js", "style.css", "bundles/index.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // The page is kept once, under its path: not one copy per query (?bundle=...&pipeline=...).
    const key = request.mode === "navigate" ? new URL(request.url).pathname : request;
    if (response.ok && response.type === "basic") await cache.put(key, response.clone());
    return response;
  } catch (err) {
    // Offline: the page itself is cached without its query (?bundle=...&pipeline=...).
    const cached = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
    if (cached) return cached;
    throw err;
  }
}
