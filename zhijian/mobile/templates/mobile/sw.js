{% autoescape off %}/* Zhijian mobile service worker (scope /m/).
   - The app shell (static files, manifest) is cached at install and served cache-first.
   - The page /m/ is network-first (so a new release and the session check win when online) with the
     cached copy as fallback when the network fails or is slower than NETWORK_WAIT_MS.
   - Nothing else is touched: API calls go to the network; the data lives in IndexedDB. */
"use strict";
const VERSION = {{ version }};
const CACHE = "zj-mobile-" + VERSION;
const SHELL = {{ shell }};
const PAGE = {{ page }};
const NETWORK_WAIT_MS = 4000;
const MATCH = { ignoreSearch: true, ignoreVary: true };

async function cachePage(cache) {
  // Only a real page: a redirect (to the login page) or an error must never replace the shell.
  const response = await fetch(PAGE, { credentials: "same-origin", redirect: "manual" });
  if (response.ok && response.type === "basic") await cache.put(PAGE, response);
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    try { await cachePage(cache); } catch (e) { /* the next visit caches it */ }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k.startsWith("zj-mobile-") && k !== CACHE).map((k) => caches.delete(k)));
    await self.clients.claim();
  })());
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function pageNetworkFirst(request) {
  const cache = await caches.open(CACHE);
  const network = fetch(request);
  try {
    const response = await Promise.race([network, timeout(NETWORK_WAIT_MS)]);
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(PAGE, response.clone());
    }
    return response;
  } catch (e) {
    const cached = await cache.match(PAGE, MATCH);
    if (cached) return cached;
    return network;  // no copy yet: let the browser show its own error
  }
}

async function shellCacheFirst(request) {
  const cached = await caches.match(request, MATCH);
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(pageNetworkFirst(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(shellCacheFirst(request));
  }
});
{% endautoescape %}
