// Cairn's service worker, served at /sw.js so that it looks after every page.
//
// It keeps the app shell (style sheets, scripts, icons) and one page to show when there is no
// connection. It keeps nothing a member wrote or read: pages and API answers always come from
// the network and are never stored, and the shell is fetched without cookies, so nothing kept
// here can hold anyone's name or words. Posts and websockets are never touched: a form sent
// while offline is held by the page itself (live.js) and sent when the connection is back.
//
// The server writes VERSION from the shell's own bytes: any change to them is a new worker,
// which fetches the new shell and deletes the old caches. Style sheets and scripts are kept
// under the names pages load them by, which carry a hash of their content: a new release's
// page asks for names an old worker does not keep, and gets them from the network until the
// new worker, which keeps them, takes over.
"use strict";

const VERSION = {{ version|tojson }};
const PREFIX = "cairn-shell-";
const CACHE = PREFIX + VERSION;
const OFFLINE_PAGE = {{ offline_page|tojson }};
// Where Cairn speaks more than one language: the offline page in each, by language code. The
// one shown is in the language of the last page that loaded (its Content-Language), else the
// browser's; OFFLINE_PAGE (in the browser's language) otherwise.
const OFFLINE_PAGES = {{ offline_pages|tojson }};
const LANGUAGE_KEY = "/offline-language";
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
    const response = preloaded || await fetch(event.request);
    event.waitUntil(rememberLanguage(response.headers.get("Content-Language")));
    return response;
  } catch (error) {
    const cache = await caches.open(CACHE);
    const language = await readerLanguage(cache);
    return (language && await cache.match(OFFLINE_PAGES[language])) ||
      (await cache.match(OFFLINE_PAGE)) || Response.error();
  }
}

// The language the reader last read a page in: only a language code, kept with the shell.
let lastLanguage = null;

async function rememberLanguage(language) {
  if (!language || !Object.prototype.hasOwnProperty.call(OFFLINE_PAGES, language) || language === lastLanguage) return;
  lastLanguage = language;
  const cache = await caches.open(CACHE);
  await cache.put(LANGUAGE_KEY, new Response(language, { headers: { "Content-Type": "text/plain" } }));
}

async function readerLanguage(cache) {
  if (lastLanguage) return lastLanguage;
  const kept = await cache.match(LANGUAGE_KEY);
  const language = kept ? (await kept.text()).trim() : "";
  if (Object.prototype.hasOwnProperty.call(OFFLINE_PAGES, language)) return language;
  for (const tag of (self.navigator.languages || [])) {
    const code = tag.toLowerCase().split("-")[0];
    if (Object.prototype.hasOwnProperty.call(OFFLINE_PAGES, code)) return code;
  }
  return null;
}

async function fromShell(request, path) {
  const cache = await caches.open(CACHE);
  return (await cache.match(path)) || fetch(request);
}

// -- push ----------------------------------------------------------------------------------
// A gentle reminder (server/reminders): "Cairn" and a neutral line, nothing anyone wrote. A tap
// opens Cairn; "Stop these reminders" turns every reminder off at once, with the token the push
// carried and no cookie, then says so.

self.addEventListener("push", function (event) {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  const options = {
    body: data.body || "",
    tag: data.tag || "cairn",
    icon: "/static/icons/cairn-192.png",
    data: { url: data.url || "/groups", stop: data.stop || "" },
    // The words come with the push, in the member's own language (server/reminders).
    lang: data.lang || "",
    actions: data.stop ? [{ action: "stop", title: (data.words && data.words.stop) || "Stop these reminders" }] : [],
  };
  options.data.words = data.words || {};
  event.waitUntil(self.registration.showNotification(data.title || "Cairn", options));
});

self.addEventListener("notificationclick", function (event) {
  const note = event.notification;
  note.close();
  if (event.action === "stop" && note.data && note.data.stop) {
    event.waitUntil(fetch("/api/v1/reminders/stop", {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: note.data.stop }),
    }).then(function (response) {
      const words = note.data.words || {};
      return self.registration.showNotification("Cairn", {
        tag: "cairn-stopped",
        lang: note.lang || "",
        body: response.ok ? (words.stopped || "Reminders are off. You can choose them again in settings, whenever you like.")
                          : (words.not_stopped || "That did not go through. You can turn reminders off in settings."),
      });
    }));
    return;
  }
  const url = new URL((note.data && note.data.url) || "/groups", self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (windows) {
    for (const win of windows) {
      if ("focus" in win) return win.focus().then(function (w) { return w.navigate ? w.navigate(url.href) : w; });
    }
    return self.clients.openWindow(url.href);
  }));
});
