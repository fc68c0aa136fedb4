// The offline counter's service worker: keeps the counter page, its script, style, QR decoder,
// SM2 verifier and the trust list (the agencies' public keys from the on-chain directory) in a cache, so
// that a counter whose network drops still opens and can check a QR code's signature.
// Network first, cache as the fallback: online, every answer is the server's current one and
// refreshes the cache; verification requests (POST) are never cached or answered from here.
"use strict";
const CACHE = "licledger-counter-v2";
const SHELL = [
  "/verify",
  "/static/counter.js",
  "/static/offline.js",
  "/static/counter.css",
  "/static/jsQR.js",
  "/static/sm2.js",
  "/static/icon.svg",
  "/manifest.webmanifest",
  "/api/v1/trust-list",
];

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
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// What a request is kept under: every counter page (/verify, a QR link /v/…) shares the
// cached /verify page, whose script then checks the link's token offline.
function cacheKey(url) {
  if (url.pathname === "/verify" || url.pathname.startsWith("/v/")) return "/verify";
  return SHELL.includes(url.pathname) ? url.pathname : null;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const key = request.method === "GET" && url.origin === self.location.origin && cacheKey(url);
  if (!key) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        // Only the plain page and the shell's files refresh the cache (a QR link's page
        // carries that licence's verdict, not the empty counter).
        if (response.ok && key === url.pathname) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(key).then((hit) => hit || Response.error()),
      ),
  );
});
