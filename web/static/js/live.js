// The live core shared by the group's page and the practice room: one socket, resumed after
// any drop (backoff with jitter, at once when the browser is back online or visible), events
// deduplicated per stream by seq, presence shown, and the server's rendered fragments swapped
// into the page. The server renders every piece of markup; this file only places it.
(function () {
  "use strict";

  var PING_EVERY = 20000;
  var PONG_WITHIN = 10000;

  function readJSON(id) {
    var node = document.getElementById(id);
    if (!node) return {};
    try { return JSON.parse(node.textContent) || {}; } catch (e) { return {}; }
  }

  var words = readJSON("live-words");

  function say(key, values) {
    var text = words[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // -- fragments ----------------------------------------------------------------------------

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html || "";
    // Fragments are rendered once for everyone alike: this page's forms carry its own token.
    Array.prototype.forEach.call(template.content.querySelectorAll('input[name="csrf_token"]'),
      function (input) { input.value = csrfToken(); });
    return template.content;
  }

  function inUse(node) {
    var active = document.activeElement;
    return !!(active && active !== document.body && node.contains(active) &&
              /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  // A control someone is using is never replaced under their hand: the newer markup waits
  // until they leave it.
  function replaceWhenFree(target, html) {
    if (!inUse(target)) {
      target.replaceWith(parse(html));
      return;
    }
    target.liveWaiting = html;
    if (target.liveListening) return;
    target.liveListening = true;
    target.addEventListener("focusout", function later() {
      setTimeout(function () {
        if (inUse(target) || target.liveWaiting === undefined || !target.isConnected) return;
        target.removeEventListener("focusout", later);
        target.replaceWith(parse(target.liveWaiting));
      }, 0);
    });
  }

  // New markup whose element is already on the page (an event shown again after a
  // reconnect) takes that element's place instead of appearing twice.
  function insert(target, html, where) {
    var content = parse(html);
    var first = content.firstElementChild;
    var existing = first && first.id ? document.getElementById(first.id) : null;
    if (existing) { replaceWhenFree(existing, html); return; }
    if (where === "after") target.parentNode.insertBefore(content, target.nextSibling);
    else if (where === "prepend") target.insertBefore(content, target.firstChild);
    else target.appendChild(content);
  }

  // "1 open report", "2 open reports": a count the server cannot know for this page.
  function increment(target) {
    var n = Number(target.dataset.count || 0) + 1;
    target.dataset.count = String(n);
    var text = n === 1 ? target.dataset.countOne : target.dataset.countOther;
    if (text) target.textContent = text.split("{n}").join(String(n));
    target.hidden = false;
  }

  function swap(list) {
    (list || []).forEach(function (item) {
      Array.prototype.forEach.call(document.querySelectorAll(item.target), function (target) {
        switch (item.swap) {
          case "replace": replaceWhenFree(target, item.html); break;
          case "append": case "prepend": case "after": insert(target, item.html, item.swap); break;
          case "remove": target.remove(); break;
          case "show": target.hidden = false; break;
          case "hide": target.hidden = true; break;
          case "increment": increment(target); break;
        }
      });
    });
    recount();
  }

  // "3 of 12": elements that say how many of something the page shows.
  function recount() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-count-of]"), function (node) {
      var n = document.querySelectorAll(node.dataset.countOf).length;
      node.textContent = (node.dataset.countText || "{n}").split("{n}").join(String(n));
    });
  }

  function showPresence(online) {
    setTimeout(recount, 0);
    var here = {};
    online.forEach(function (id) { here[id] = true; });
    Array.prototype.forEach.call(document.querySelectorAll("[data-presence-id]"), function (node) {
      var isOnline = !!here[Number(node.dataset.presenceId)];
      node.classList.toggle("is-online", isOnline);
      var hint = node.querySelector(".presence-label");
      if (isOnline && !hint) {
        hint = document.createElement("span");
        hint.className = "presence-label visually-hidden";
        hint.textContent = say("here_now");
        node.appendChild(hint);
      } else if (!isOnline && hint) {
        hint.remove();
      }
    });
  }

  var toasts = null;
  function toast(text, kind) {
    if (!toasts) {
      toasts = document.getElementById("toasts");
      if (!toasts) {
        toasts = document.createElement("div");
        toasts.id = "toasts";
        toasts.className = "toasts";
        toasts.setAttribute("role", "status");
        toasts.setAttribute("aria-live", "polite");
        document.body.appendChild(toasts);
      }
    }
    var node = document.createElement("p");
    node.className = "toast toast-" + (kind || "info");
    node.textContent = text;
    toasts.appendChild(node);
    setTimeout(function () { node.remove(); }, kind === "encouragement" ? 12000 : 6000);
  }

  // Toasts the server rendered (appended to #toasts) leave after a while too.
  function expireToasts() {
    Array.prototype.forEach.call(document.querySelectorAll("#toasts .toast:not([data-timed])"), function (node) {
      node.dataset.timed = "1";
      setTimeout(function () { node.remove(); }, 12000);
    });
  }

  // -- the connection, said honestly ----------------------------------------------------------

  var banner = null;
  function showBanner(text, state) {
    banner = banner || document.getElementById("connection");
    if (!banner) return;
    clearTimeout(banner.liveTimer);
    banner.textContent = text;
    banner.dataset.state = state;
    banner.hidden = false;
  }

  function hideBanner(after) {
    banner = banner || document.getElementById("connection");
    if (!banner) return;
    clearTimeout(banner.liveTimer);
    banner.liveTimer = setTimeout(function () { banner.hidden = true; }, after || 0);
  }

  // A form sent while offline would end on the browser's error page: it waits here, its
  // words kept, and goes when the connection is back.
  var held = []; // [form, the button that sent it]
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (navigator.onLine !== false || !form.matches || !form.matches('form[method="post"]')) return;
    event.preventDefault();
    held = held.filter(function (item) { return item[0] !== form; });
    held.push([form, event.submitter || null]);
    var note = form.querySelector(".held-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "held-note";
      note.setAttribute("role", "status");
      form.appendChild(note);
    }
    note.textContent = say("held");
  });

  window.addEventListener("online", function () {
    var waiting = held;
    held = [];
    waiting.forEach(function (item) {
      var form = item[0], button = item[1];
      var note = form.querySelector(".held-note");
      if (note) note.remove();
      if (form.isConnected) form.requestSubmit(button && form.contains(button) ? button : undefined);
    });
  });

  // -- the connection -----------------------------------------------------------------------

  // options: path ("/ws/groups/7"), cursors ({group: n, moderators: n}, optional), epoch
  // (the database's epoch the cursors belong to, optional),
  // status (the element that says how the connection is), onFrame(frame), onOpen(),
  // onClosed(code). Returns {send(command) -> whether it went}.
  function open(options) {
    var cursors = options.cursors || null;
    var epoch = options.epoch || null;
    var status = options.status || null;
    var socket = null;
    var attempt = 0;
    var catchingUpTo = 0;
    var pingTimer = null;
    var pongTimer = null;
    var retryTimer = null;
    var stopped = false;
    var away = false; // the connection dropped since the page was last live

    function setStatus(text, state) {
      if (!status) return;
      status.textContent = text;
      status.dataset.state = state;
    }

    function url() {
      var scheme = location.protocol === "https:" ? "wss" : "ws";
      var query = ["fragments=1"];
      if (cursors) {
        Object.keys(cursors).forEach(function (stream) {
          if (cursors[stream] === null || cursors[stream] === undefined) return;
          query.push((stream === "group" ? "last_seq" : stream + "_seq") + "=" + cursors[stream]);
        });
        if (epoch) query.push("epoch=" + encodeURIComponent(epoch));
      }
      return scheme + "://" + location.host + options.path + "?" + query.join("&");
    }

    function connect() {
      clearTimeout(retryTimer);
      // Offline: nothing to try until the browser says it is back ("online" reconnects).
      if (stopped || navigator.onLine === false) return;
      setStatus(say(attempt ? "reconnecting_now" : "connecting"), "connecting");
      var ws = new WebSocket(url());
      socket = ws;
      ws.onmessage = function (message) {
        var frame;
        try { frame = JSON.parse(message.data); } catch (e) { return; }
        handle(frame);
      };
      ws.onclose = function (event) {
        if (socket !== ws) return;
        socket = null;
        stopPinging();
        if (event.code === 4401) {
          stopped = true;
          setStatus(say("signed_out"), "closed");
        } else if (event.code === 4403 || event.code === 4404) {
          stopped = true;
          setStatus(say(options.goneWord || "gone"), "closed");
        } else {
          away = true;
          showBanner(say("offline"), "offline");
          scheduleRetry();
        }
        if (options.onClosed) options.onClosed(event.code);
      };
    }

    function scheduleRetry() {
      if (navigator.onLine === false) {
        setStatus(say("offline"), "reconnecting");
        return;
      }
      attempt += 1;
      var ceiling = Math.min(30000, 500 * Math.pow(2, Math.min(attempt, 6)));
      var delay = ceiling / 2 + Math.random() * (ceiling / 2);
      setStatus(say("reconnecting", { seconds: Math.ceil(delay / 1000) }), "reconnecting");
      retryTimer = setTimeout(connect, delay);
    }

    function startPinging() {
      stopPinging();
      pingTimer = setInterval(function () {
        if (!socket || socket.readyState !== WebSocket.OPEN) return;
        socket.send(JSON.stringify({ type: "ping" }));
        clearTimeout(pongTimer);
        // No answer in time: the connection is dead even if the browser has not noticed.
        pongTimer = setTimeout(function () { if (socket) socket.close(); }, PONG_WITHIN);
      }, PING_EVERY);
    }

    function stopPinging() {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
    }

    function cameBack(missed) {
      if (!away) return;
      away = false;
      if (missed > 0) {
        showBanner(missed === 1 ? say("away_one") : say("away", { count: missed }), "back");
        hideBanner(10000);
      } else {
        hideBanner();
      }
    }

    function opened() {
      attempt = 0;
      startPinging();
      if (options.onOpen) options.onOpen();
    }

    function handle(frame) {
      switch (frame.type) {
        case "welcome":
          // Too long away to replay, or the database was restored from a backup since (a new
          // epoch): the page is drawn afresh.
          if (!frame.recovered) {
            setStatus(say("catching_up_page"), "catching-up");
            stopped = true;
            location.reload();
            return;
          }
          if (frame.epoch) epoch = frame.epoch;
          catchingUpTo = frame.last_seq;
          if (frame.missed > 0 && cursors && cursors.group < catchingUpTo) {
            setStatus(frame.missed === 1 ? say("catching_up_one")
              : say("catching_up", { count: frame.missed }), "catching-up");
          } else {
            setStatus(say("live"), "live");
          }
          cameBack(frame.missed);
          opened();
          break;
        case "event":
          if (cursors && frame.stream in cursors) {
            if (frame.seq <= cursors[frame.stream]) return; // already shown
            cursors[frame.stream] = frame.seq;
          }
          swap(frame.html);
          expireToasts();
          if (status && status.dataset.state === "catching-up" && frame.stream === "group" &&
              frame.seq >= catchingUpTo) {
            setStatus(say("live"), "live");
          }
          break;
        case "presence":
          showPresence(frame.online || []);
          break;
        case "pong":
          clearTimeout(pongTimer);
          return;
        case "error":
          toast(frame.detail || say("not_sent"), "error");
          break;
        default:
          if (frame.html) swap(frame.html);
          if (!cursors && status && status.dataset.state !== "live") {
            setStatus(say("live"), "live");
            cameBack(0);
            opened();
          }
      }
      if (options.onFrame) options.onFrame(frame);
    }

    // Gone offline: say so at once, rather than "Live" until a ping goes unanswered.
    window.addEventListener("offline", function () {
      if (stopped) return;
      showBanner(say("offline"), "offline");
      setStatus(say("offline"), "reconnecting");
      if (socket) socket.close();
    });
    // Back from sleep or a tunnel: try at once instead of waiting for the timer.
    window.addEventListener("online", function () { if (!socket && !stopped) connect(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !socket && !stopped) connect();
    });

    connect();

    return {
      send: function (command) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify(command));
        return true;
      },
      isOpen: function () { return !!socket && socket.readyState === WebSocket.OPEN; },
    };
  }

  window.CairnLive = {
    open: open, swap: swap, parse: parse, toast: toast, say: say, readJSON: readJSON,
    csrfToken: csrfToken,
  };
})();
