// Cairn's service worker, served at /sw.js so that it looks after every page.
//
// It keeps the app shell (style sheets, scripts, icons) and one page to show when there is no
// connection. It keeps nothing a member wrote or read: pages and API answers always come from
// the network and are never stored, and the shell is fetched without cookies, so nothing kept
// here can hold anyone's name or words. Posts and websockets are never touched: a form sent
// while offline is held by the page itself (live.js) and sent when the connection is back.
//
// The server writes VERSION from the shell's own bytes: any change to them is a new worker,
// which fetches the new shell and deletes the old caches.
"use strict";

const VERSION = {{ version|tojson }};
const PREFIX = "cairn-shell-";
const CACHE = PREFIX + VERSION;
const OFFLINE_PAGE = {{ offline_page|tojson }};
const SHELL = {{ kept|tojson }};
const IN_SHELL = new Set(SHELL);

self.addEventListener("install", function (event) {
  event.waitUntil((async function () {
    const cache = await caches.open(CACHE);
    await Promise.all(SHELL.map(async function (path) {
      // No cookies go (credentials "omit"), and not from the browser's HTTP cache.
      const response = await fetch(path, { credentials: "omit", cache: "no-cache", redirect: "error" });
      if (!response.ok) throw new Error("could not keep " + path + ": " + response.status);
      await cache.put(path, response);
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    const names = await caches.keys();
    await Promise.all(names.filter(function (name) {
      return name.startsWith(PREFIX) && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
    // Pages start loading while the worker wakes up, instead of after.
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return; // posts go to the network as if there were no worker
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(pageOrOffline(event));
  } else if (IN_SHELL.has(url.pathname) && !url.search) {
    event.respondWith(fromShell(request, url.pathname));
  }
  // Anything else (API data, fragments of pages) is not answered here: the browser fetches
  // it itself, and nothing of it is kept.
});

// A page: always from the network; the offline page only when the network cannot be reached.
async function pageOrOffline(event) {
  try {
    const preloaded = await event.preloadResponse;
    return preloaded || await fetch(event.request);
  } catch (error) {
    const cache = await caches.open(CACHE);
    return (await cache.match(OFFLINE_PAGE)) || Response.error();
  }
}

async function fromShell(request, path) {
  const cache = await caches.open(CACHE);
  return (await cache.match(path)) || fetch(request);
}

// -- push ----------------------------------------------------------------------------------
// Reminders by push notification will listen here ("push", "notificationclick"). Not yet:
// nothing is subscribed, and nothing here handles a push.
