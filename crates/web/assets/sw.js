// veille's service worker (decision 90): the pages a field worker opened and
// the static files, kept on the phone so that the encounter form, the round
// and the site pages open with no network. Served at /sw.js (scope "/") by
// the server, which writes the build's version below: a new build is a new
// worker, whose static cache replaces the previous one.
//
// - Navigations (GET pages): network first; a good answer is kept, and given
//   back when the network fails. Never the API, the login pages, exports or
//   anything but a GET navigation of this origin.
// - Static files (/static/…): cache first, in a cache named by the version.
// - Writes are not here: the pages' script puts them in the outbox
//   (IndexedDB, assets/outbox.js) and sends them; the worker never queues a
//   request, so nothing is lost when it is updated or stopped.
// - Wipe: the page's script empties the caches at logout and when the device
//   is revoked; the logout's answer also carries Clear-Site-Data; and a
//   navigation that ends on the login page (the session is over) drops the
//   pages kept, so that the next account is not given the previous one's.
const VERSION = "__VERSION__";
const STATIC = `veille-static-${VERSION}`;
const PAGES = "veille-pages";
const PRECACHE = [
  "/static/veille.css",
  "/static/veille.js",
  "/static/outbox.js",
  "/static/htmx.min.js",
  "/static/icon.svg",
  "/static/leaflet.js",
  "/static/leaflet.css",
  "/static/report-map.js",
  "/static/people.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(STATIC)
      .then((c) => c.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("veille-static-") && k !== STATIC).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** Pages worth keeping for offline work: not the API, not login/logout, not files. */
function keepable(url) {
  const p = url.pathname;
  if (p.startsWith("/api/") || p.startsWith("/login") || p.startsWith("/logout") || p.startsWith("/password") || p.startsWith("/invitation")) return false;
  if (p.startsWith("/enrol") || p.endsWith("/export") || p.endsWith(".csv") || p.endsWith(".pdf") || p.endsWith(".ics")) return false;
  return true;
}

const offlinePage = () =>
  new Response(
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
      '<title>Hors ligne · veille</title><link rel="stylesheet" href="/static/veille.css"></head><body><main id="main">' +
      "<h1>Hors ligne</h1><p>Cette page n'a pas été ouverte sur ce téléphone avant la coupure du réseau : elle n'est pas disponible hors ligne.</p>" +
      '<p lang="en">Offline: this page was not opened on this phone before the network dropped.</p>' +
      '<p><a href="/sync/outbox">Mes envois</a> · <a href="/">Accueil</a></p></main></body></html>',
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
  );

async function page(request) {
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    // Sent to the login page: no session any more. The pages kept were the
    // previous account's: the next one to log in must not be given them.
    if (response.ok && new URL(response.url).pathname.startsWith("/login")) {
      await caches.delete(PAGES);
      return response;
    }
    // A good page of the signed-in account (not a redirect to the login).
    if (response.ok && !response.redirected && response.type === "basic" && keepable(url)) {
      const cache = await caches.open(PAGES);
      await cache.put(url.pathname + url.search, response.clone());
    }
    return response;
  } catch (e) {
    const cache = await caches.open(PAGES);
    const kept = (await cache.match(url.pathname + url.search)) || (await cache.match(url.pathname));
    return kept || offlinePage();
  }
}

async function asset(request) {
  const cache = await caches.open(STATIC);
  const kept = await cache.match(request, { ignoreSearch: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (keepable(url)) event.respondWith(page(request));
    else if (url.pathname.startsWith("/login")) event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (url.pathname.startsWith("/static/")) event.respondWith(asset(request));
});
