// The group page, live: one socket to /ws/groups/{gid}; resumes with last_seq after any
// drop (backoff with jitter), drops duplicates by seq, reloads when the gap was too old
// to replay. Everything is inserted as text, never as HTML.
(function () {
  "use strict";

  var day = document.getElementById("day");
  if (!day || !("WebSocket" in window)) return;

  var groupId = day.dataset.groupId;
  var me = Number(day.dataset.userId);
  var viewingDay = day.dataset.day;
  var receiveOnly = day.dataset.receiveOnly === "true";
  var lastSeq = Number(day.dataset.lastSeq || 0);
  var statusLine = document.getElementById("live-status");
  var list = document.getElementById("commitments");
  var empty = document.getElementById("commitments-empty");
  var labels = readLabels();

  var socket = null;
  var attempt = 0;
  var catchingUpTo = 0;
  var pingTimer = null;
  var pongTimer = null;
  var retryTimer = null;
  var PING_EVERY = 20000;
  var PONG_WITHIN = 10000;

  function readLabels() {
    var node = document.getElementById("cairn-labels");
    var data = {};
    if (node) {
      try { data = JSON.parse(node.textContent); } catch (e) { data = {}; }
    }
    return {
      category: data.category || {},
      step: data.step || {},
      status: data.status || {},
      kind: data.kind || {},
    };
  }

  function label(map, code) {
    return map[code] || String(code).replace(/_/g, " ");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(text, state) {
    if (!statusLine) return;
    statusLine.textContent = text;
    statusLine.dataset.state = state;
  }

  // -- connection ---------------------------------------------------------------------------

  function connect() {
    clearTimeout(retryTimer);
    setStatus(attempt ? "Reconnecting…" : "Connecting…", "connecting");
    var scheme = location.protocol === "https:" ? "wss" : "ws";
    var url = scheme + "://" + location.host + "/ws/groups/" + groupId + "?last_seq=" + lastSeq;
    var ws = new WebSocket(url);
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
        setStatus("Your session has ended. Please sign in again.", "closed");
        return;
      }
      if (event.code === 4403 || event.code === 4404) {
        setStatus("You are no longer a member of this group.", "closed");
        return;
      }
      scheduleRetry();
    };
  }

  function scheduleRetry() {
    attempt += 1;
    var ceiling = Math.min(30000, 500 * Math.pow(2, Math.min(attempt, 6)));
    var delay = ceiling / 2 + Math.random() * (ceiling / 2);
    setStatus("Connection lost. Reconnecting in " + Math.ceil(delay / 1000) + " s…", "reconnecting");
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

  // Back from sleep or a tunnel: try at once instead of waiting for the timer.
  window.addEventListener("online", function () { if (!socket) connect(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket) connect();
  });

  // -- frames -------------------------------------------------------------------------------

  function handle(frame) {
    switch (frame.type) {
      case "welcome":
        if (!frame.recovered) {
          setStatus("Catching up…", "catching-up");
          location.reload();
          return;
        }
        attempt = 0;
        startPinging();
        catchingUpTo = frame.last_seq;
        if (frame.missed > 0 && lastSeq < catchingUpTo) {
          setStatus("Catching up on " + frame.missed + " update" + (frame.missed === 1 ? "" : "s") + "…", "catching-up");
        } else {
          setStatus("Live", "live");
        }
        break;
      case "event":
        if (frame.seq <= lastSeq) return; // already shown
        lastSeq = frame.seq;
        day.dataset.lastSeq = String(lastSeq);
        apply(frame);
        if (statusLine && statusLine.dataset.state === "catching-up" && lastSeq >= catchingUpTo) {
          setStatus("Live", "live");
        }
        break;
      case "presence":
        showPresence(frame.online || []);
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
      case "error":
        notify(frame.detail || "That did not go through.", "error");
        break;
    }
  }

  function apply(event) {
    var data = event.data || {};
    switch (event.kind) {
      case "commitment.created":
        if (data.day === viewingDay) addCommitment(event);
        break;
      case "commitment.checked_in":
        showCheckin(data);
        break;
      case "encouragement.sent":
        if (data.to_user_id === me) {
          var from = event.actor ? event.actor.display_name : "Someone";
          notify(from + ": " + label(labels.kind, data.kind) + (data.text ? " — " + data.text : ""), "encouragement");
        }
        countEncouragement(data.commitment_id);
        break;
      case "member.joined":
        addMember(event.actor, data.user_id);
        break;
      case "member.left":
      case "member.removed":
        removeMember(data.user_id);
        break;
      case "roleplay.opened":
        showRoom(data.room_id, data.title);
        if (!event.actor || event.actor.id !== me) notify("A practice room is open: " + (data.title || ""), "room");
        break;
      case "roleplay.ended":
        hideRoom(data.room_id);
        break;
    }
  }

  // -- the practice room banner -------------------------------------------------------------

  function showRoom(roomId, title) {
    var banner = document.getElementById("room-banner");
    if (!banner || !roomId) return;
    banner.dataset.roomId = String(roomId);
    var name = document.getElementById("room-banner-title");
    if (name) name.textContent = title || "";
    var link = document.getElementById("room-banner-link");
    if (link) link.href = "/groups/" + groupId + "/rooms/" + Number(roomId);
    banner.hidden = false;
    var opener = document.getElementById("room-open");
    if (opener) opener.hidden = true;
  }

  function hideRoom(roomId) {
    var banner = document.getElementById("room-banner");
    if (!banner || banner.dataset.roomId !== String(roomId)) return;
    banner.hidden = true;
    banner.dataset.roomId = "";
    var opener = document.getElementById("room-open");
    if (opener) opener.hidden = false;
  }

  // -- the page -----------------------------------------------------------------------------

  function article(commitmentId) {
    return document.getElementById("c" + commitmentId);
  }

  function addCommitment(event) {
    var data = event.data;
    if (!list || article(data.commitment_id)) return;
    var own = data.user_id === me;
    var node = el("article", "commitment step-" + data.step + (own ? " is-mine" : ""));
    node.id = "c" + data.commitment_id;
    node.dataset.commitmentId = data.commitment_id;
    node.dataset.userId = data.user_id;
    node.dataset.step = data.step;
    node.dataset.category = data.category;
    var who = el("p", "who");
    who.appendChild(el("span", "name", own ? "You" : (event.actor ? event.actor.display_name : "A member")));
    who.appendChild(document.createTextNode(" "));
    who.appendChild(el("span", "step-tag", label(labels.step, data.step)));
    who.appendChild(document.createTextNode(" "));
    who.appendChild(el("span", "category", label(labels.category, data.category)));
    node.appendChild(who);
    node.appendChild(el("p", "text", data.text));
    var checkin = el("div", "checkin");
    checkin.setAttribute("data-checkin", "");
    var line = el("p");
    line.appendChild(el("span", "status status-open", "Not checked in yet"));
    checkin.appendChild(line);
    node.appendChild(checkin);
    if (!own && !receiveOnly) node.appendChild(encourageButtons(data.commitment_id));
    if (own) node.appendChild(el("p", "small", "Reload the page to check in on this one."));
    var item = el("li");
    item.appendChild(node);
    list.appendChild(item);
    if (empty) empty.hidden = true;
    node.classList.add("is-new");
  }

  function showCheckin(data) {
    var node = article(data.commitment_id);
    if (!node) return;
    node.dataset.status = data.status;
    var box = node.querySelector("[data-checkin]");
    if (!box) return;
    // Keep what only the author sees (their feeling) when it is their own commitment.
    var feeling = box.querySelector(".feeling");
    box.textContent = "";
    var line = el("p");
    line.appendChild(el("span", "status status-" + data.status, label(labels.status, data.status)));
    if (feeling && data.user_id === me) {
      line.appendChild(document.createTextNode(" "));
      line.appendChild(feeling);
    }
    box.appendChild(line);
    if (data.note) box.appendChild(el("p", "note", data.note));
  }

  function countEncouragement(commitmentId) {
    var node = commitmentId && article(commitmentId);
    if (!node) return;
    var badge = node.querySelector(".cheers");
    if (!badge) {
      badge = el("p", "cheers small");
      badge.dataset.count = "0";
      node.appendChild(badge);
    }
    var count = Number(badge.dataset.count) + 1;
    badge.dataset.count = String(count);
    badge.textContent = count === 1 ? "1 encouragement" : count + " encouragements";
  }

  function encourageButtons(commitmentId) {
    var box = el("div", "encourage-quick");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Send encouragement");
    Object.keys(labels.kind).forEach(function (kind) {
      var button = el("button", "button button-quiet button-small", labels.kind[kind]);
      button.type = "button";
      button.addEventListener("click", function () {
        send({ type: "encourage", kind: kind, commitment_id: Number(commitmentId) }, button);
      });
      box.appendChild(button);
    });
    return box;
  }

  function membersList() {
    return document.querySelector("#members .members");
  }

  function addMember(actor, userId) {
    var ul = membersList();
    if (!ul || !actor || ul.querySelector('[data-user-id="' + userId + '"]')) return;
    var li = el("li", "member");
    li.dataset.userId = userId;
    var dot = el("span", "presence");
    dot.setAttribute("aria-hidden", "true");
    li.appendChild(dot);
    li.appendChild(el("span", "name", actor.display_name));
    ul.appendChild(li);
  }

  function removeMember(userId) {
    var ul = membersList();
    var li = ul && ul.querySelector('[data-user-id="' + userId + '"]');
    if (li) li.remove();
  }

  function showPresence(online) {
    var ul = membersList();
    if (!ul) return;
    var here = {};
    online.forEach(function (id) { here[id] = true; });
    Array.prototype.forEach.call(ul.querySelectorAll("li[data-user-id]"), function (li) {
      var isOnline = !!here[Number(li.dataset.userId)];
      li.classList.toggle("is-online", isOnline);
      var dot = li.querySelector(".presence");
      if (dot) dot.title = isOnline ? "Here now" : "";
      var hint = li.querySelector(".presence-label");
      if (isOnline && !hint) {
        hint = el("span", "presence-label visually-hidden", "(here now)");
        li.appendChild(hint);
      } else if (!isOnline && hint) {
        hint.remove();
      }
    });
  }

  var toasts = null;
  function notify(text, kind) {
    if (!toasts) {
      toasts = el("div", "toasts");
      toasts.setAttribute("role", "status");
      toasts.setAttribute("aria-live", "polite");
      document.body.appendChild(toasts);
    }
    var toast = el("p", "toast toast-" + kind, text);
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, kind === "encouragement" ? 12000 : 6000);
  }

  // -- sending ------------------------------------------------------------------------------

  function send(command, control) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(command));
    if (control) {
      control.disabled = true;
      setTimeout(function () { control.disabled = false; }, 1500);
    }
    notify("Sent. Thank you for showing up for each other.", "sent");
    return true;
  }

  // The no-JavaScript encourage forms go over the socket when it is open.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.closest || !form.closest("[data-encourage-for]")) return;
    var kind = form.elements.kind && form.elements.kind.value;
    var text = form.elements.text ? form.elements.text.value.trim() : "";
    var commitmentId = Number(form.elements.commitment_id.value);
    var command = { type: "encourage", kind: kind, commitment_id: commitmentId };
    if (text) command.text = text;
    if (send(command, form.querySelector("button"))) {
      event.preventDefault();
      form.reset();
      var details = form.closest("details");
      if (details) details.open = false;
    }
  });

  connect();
})();
