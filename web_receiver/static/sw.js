// Service worker: caches the app shell (the page and its versioned assets) so the page opens
// fast and installs as an app. Captions never come from here: /v1/ (API and live WebSocket)
// always goes to the network. The page itself is fetched from the network first (so a new
// version is seen at once) and from the cache only when the network fails.
const VERSION = "__ASSET_VERSION__";
const CACHE = `jimaku-shell-${VERSION}`;
const SHELL = ["/", `/assets/${VERSION}/app.css`, `/assets/${VERSION}/main.mjs`];

self.addEventListener("install", (/** @type {any} */ ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => /** @type {any} */ (self).skipWaiting()));
});

self.addEventListener("activate", (/** @type {any} */ ev) => {
  ev.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("jimaku-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => /** @type {any} */ (self).clients.claim()),
  );
});

self.addEventListener("fetch", (/** @type {any} */ ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/v1/")) return;
  if (url.pathname.startsWith(`/assets/${VERSION}/`)) {
    ev.respondWith(
      caches.open(CACHE).then(async (c) => {
        const hit = await c.match(ev.request);
        if (hit) return hit;
        const res = await fetch(ev.request);
        if (res.ok) await c.put(ev.request, res.clone());
        return res;
      }),
    );
  } else if (url.pathname === "/") {
    ev.respondWith(
      fetch(ev.request)
        .then(async (res) => {
          if (res.ok) await (await caches.open(CACHE)).put("/", res.clone());
          return res;
        })
        .catch(async () => (await caches.match("/")) ?? Response.error()),
    );
  }
});
