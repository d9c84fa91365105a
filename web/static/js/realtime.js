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
  var isModerator = day.dataset.moderator === "true";
  var timezone = day.dataset.timezone || undefined;
  var muted = false;
  var unmuteTimer = null;
  // Where each stream was when the page was drawn: the group's shared stream, and the
  // moderators' own stream (for moderators only).
  var lastSeq = Number(day.dataset.lastSeq || 0);
  var lastModSeq = Number(day.dataset.moderatorsSeq || 0);
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

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
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
    var url = scheme + "://" + location.host + "/ws/groups/" + groupId + "?last_seq=" + lastSeq +
      (isModerator ? "&moderators_seq=" + lastModSeq : "");
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
        if (frame.stream === "moderators") {
          if (frame.seq <= lastModSeq) return; // already shown
          lastModSeq = frame.seq;
          day.dataset.moderatorsSeq = String(lastModSeq);
          apply(frame);
          return;
        }
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
          addReceived(event);
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
      case "content.hidden":
        hideContent(data);
        break;
      case "member.muted":
        if (data.user_id === me) setMuted(data.until, true);
        break;
      case "member.unmuted":
        if (data.user_id === me) setMuted(null, true);
        break;
      case "member.role_changed":
        markRole(data.user_id, data.role);
        if (data.user_id === me) {
          notify(data.role === "moderator"
            ? "You are now a moderator of this group. Reload the page to see the moderator tools."
            : "You are a member of this group again, no longer a moderator.", "room");
        }
        break;
      // The moderators' own stream: only moderators receive it.
      case "report.created":
        if (isModerator) reportArrived(event);
        break;
      case "support.concern":
        if (isModerator && data.user_id !== me) concernArrived(data);
        break;
    }
  }

  // -- moderation: notices for moderators, hidden words, muting --------------------------------

  var WHAT = {
    commitment: "commitment", checkin: "check-in note",
    encouragement: "encouragement note", scenario: "scenario card",
    roleplay_line: "line said in a practice room",
  };

  function modNotice(kind, lines, withLink) {
    var box = document.getElementById("mod-notices");
    if (!box) return;
    var notice = el("div", "mod-notice mod-notice-" + kind);
    notice.setAttribute("role", "status");
    lines.forEach(function (line, i) { notice.appendChild(el("p", i ? "small" : null, line)); });
    var actions = el("p", "mod-notice-actions");
    if (withLink && box.dataset.moderationUrl) {
      var link = el("a", null, "Open the moderation page");
      link.href = box.dataset.moderationUrl;
      actions.appendChild(link);
    }
    var done = el("button", "link-button", "Dismiss this notice");
    done.type = "button";
    done.addEventListener("click", function () { notice.remove(); });
    actions.appendChild(done);
    notice.appendChild(actions);
    box.appendChild(notice);
  }

  function reportArrived(event) {
    var data = event.data || {};
    var who = event.actor ? event.actor.display_name : "A member";
    var what = WHAT[data.target_type] || "post";
    modNotice("report", [
      "New report: " + who + " is worried about a " + what + ".",
      data.reason ? "Their reason: " + data.reason : "",
    ].filter(Boolean), true);
    var count = document.querySelector("[data-open-reports]");
    if (count) {
      var n = Number(count.dataset.openReports || 0) + 1;
      count.dataset.openReports = String(n);
      count.textContent = n + " open report" + (n === 1 ? "" : "s");
      count.hidden = false;
    }
  }

  function concernArrived(data) {
    var who = data.display_name || "Someone in the group";
    modNotice("concern", [
      who + " wrote something that suggests they may be having a very hard time.",
      "Cairn has shown them where to find help. Only moderators see this notice. " +
        "You might check in with them gently.",
    ], false);
  }

  function hiddenText(node, text) {
    if (!node) return;
    node.textContent = text;
    node.classList.add("hidden-note");
  }

  function removeControls(type, id) {
    var selector = '[data-report-for="' + type + "-" + id + '"], [data-hide-for="' + type + "-" + id + '"]';
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (control) {
      var box = control.closest(".content-actions") || control;
      box.remove();
    });
  }

  function toldAuthor(container, after) {
    if (!container || container.querySelector(".hidden-reason")) return;
    var note = el("p", "small hidden-reason", "A moderator hid this from the group. ");
    var link = el("a", null, "The reason is in the moderation log.");
    link.href = "/groups/" + groupId + "/audit";
    note.appendChild(link);
    if (after && after.parentNode) after.parentNode.insertBefore(note, after.nextSibling);
    else container.appendChild(note);
  }

  function hideContent(data) {
    var id = data.target_id;
    var own = data.author_id === me;
    if (data.target_type === "commitment") {
      var node = article(id);
      if (!node) return;
      var text = node.querySelector(".text");
      if (own) { toldAuthor(node, text); return; }
      hiddenText(text, "Hidden by a moderator.");
      var note = node.querySelector("[data-checkin] .note");
      if (note) note.remove();
      var box = node.querySelector("[data-checkin]");
      if (box && box.dataset.checkinId) removeControls("checkin", box.dataset.checkinId);
      removeControls("commitment", id);
    } else if (data.target_type === "checkin") {
      var checkin = document.querySelector('[data-checkin-id="' + id + '"]');
      if (!checkin) return;
      if (own) { toldAuthor(checkin, checkin.querySelector(".note")); return; }
      hiddenText(checkin.querySelector(".note"), "Hidden by a moderator.");
      removeControls("checkin", id);
    } else if (data.target_type === "encouragement") {
      var item = document.querySelector('[data-encouragement-id="' + id + '"]');
      if (!item || own) return;
      hiddenText(item.querySelector(".note"), "The note was hidden by a moderator.");
      removeControls("encouragement", id);
    }
  }

  function formatUntil(until) {
    try {
      return new Date(until).toLocaleString("en-GB", {
        weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
        timeZone: timezone,
      });
    } catch (e) {
      return new Date(until).toLocaleString();
    }
  }

  // Muted: the posting forms rest and a calm note says until when; reading goes on.
  function setMuted(until, live) {
    clearTimeout(unmuteTimer);
    var left = until ? new Date(until).getTime() - Date.now() : 0;
    var nowMuted = left > 0;
    Array.prototype.forEach.call(document.querySelectorAll("[data-posting]"), function (part) {
      part.hidden = nowMuted;
      Array.prototype.forEach.call(part.querySelectorAll("button, input, select, textarea"), function (c) {
        c.disabled = nowMuted;
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-muted-note]"), function (note) {
      note.hidden = !nowMuted;
      var label = note.querySelector("[data-muted-until-label]");
      if (label && nowMuted) label.textContent = formatUntil(until);
      var reason = note.querySelector("[data-mute-reason]");
      if (reason && live) reason.textContent = "";
    });
    day.dataset.mutedUntil = nowMuted ? until : "";
    if (live && nowMuted !== muted) {
      notify(nowMuted ? "A moderator has paused your posting here for a while. You can still read along."
                      : "You can post in this group again.", "room");
    }
    muted = nowMuted;
    // The pause ends by itself; setTimeout cannot wait longer than about 24 days.
    if (nowMuted && left < 2147483647) unmuteTimer = setTimeout(function () { setMuted(null, true); }, left + 1000);
  }

  function markRole(userId, role) {
    var ul = membersList();
    var li = ul && ul.querySelector('[data-user-id="' + userId + '"]');
    if (!li) return;
    var tag = li.querySelector(".tag-role");
    if (role === "moderator" && !tag) {
      tag = el("span", "tag tag-role", "Moderator");
      var name = li.querySelector(".name");
      if (name && name.nextSibling) li.insertBefore(tag, name.nextSibling);
      else li.appendChild(tag);
    } else if (role !== "moderator" && tag) {
      tag.remove();
    }
  }

  // -- report (and, for moderators, hide) beside words that arrive live ------------------------

  function hiddenInput(form, name, value) {
    var input = el("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }

  function control(kind, type, id, what, anchor) {
    var token = csrfToken();
    if (!token) return null;
    var reporting = kind === "report";
    var details = el("details", reporting ? "report" : "hide-control");
    details.dataset[reporting ? "reportFor" : "hideFor"] = type + "-" + id;
    var summary = el("summary", null, reporting ? "Report" : "Hide");
    summary.appendChild(el("span", "visually-hidden", " this " + what));
    details.appendChild(summary);
    var form = el("form", "stack");
    form.method = "post";
    form.action = "/groups/" + groupId + (reporting ? "/reports" : "/hidden");
    hiddenInput(form, "csrf_token", token);
    hiddenInput(form, "target_type", type);
    hiddenInput(form, "target_id", String(id));
    hiddenInput(form, "back", "day");
    hiddenInput(form, "day", viewingDay);
    if (anchor) hiddenInput(form, "anchor", anchor);
    form.appendChild(window.CairnReasons.field(
      (reporting ? "rp-" : "hd-") + type + "-" + id + "-reason",
      reporting ? "What worries you about this " + what + "?" : "Why hide it?",
      reporting ? window.CairnReasons.REPORT_HINT
        : "Its author sees this reason, and so does everyone who reads the group's moderation log."));
    form.appendChild(el("button", "button button-small " + (reporting ? "button-quiet" : "button-danger"),
                        reporting ? "Send the report" : "Hide this " + what));
    details.appendChild(form);
    return details;
  }

  function contentControls(type, id, what, anchor) {
    var box = el("div", "content-actions");
    var report = control("report", type, id, what, anchor);
    if (report) box.appendChild(report);
    if (isModerator) {
      var hide = control("hide", type, id, what, anchor);
      if (hide) box.appendChild(hide);
    }
    return box.childNodes.length ? box : null;
  }

  function addReceived(event) {
    var data = event.data;
    var box = document.querySelector('[data-received-for="' + data.commitment_id + '"]');
    if (!box || !data.encouragement_id || box.querySelector('[data-encouragement-id="' + data.encouragement_id + '"]')) return;
    var list = box.querySelector("ul");
    var li = el("li");
    li.dataset.encouragementId = data.encouragement_id;
    li.appendChild(el("span", "kind", label(labels.kind, data.kind)));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "small", "from " + (event.actor ? event.actor.display_name : "a member")));
    if (data.text) {
      li.appendChild(el("p", "note", data.text));
      var controls = contentControls("encouragement", data.encouragement_id, "encouragement note",
                                     "c" + data.commitment_id);
      if (controls) li.appendChild(controls);
    }
    list.appendChild(li);
    box.hidden = false;
  }

  // -- support, when the member's own words called for it ---------------------------------------

  function showSupport(support) {
    if (!support || document.getElementById("support")) return;
    var panel = el("section", "panel panel-urgent support");
    panel.id = "support";
    panel.tabIndex = -1;
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-labelledby", "support-title");
    var title = el("h2", null, "Help, if you need it now");
    title.id = "support-title";
    panel.appendChild(title);
    panel.appendChild(el("p", null, support.message));
    if (support.general && support.general.message) panel.appendChild(el("p", null, support.general.message));
    var lines = el("ul", "crisis-lines");
    (support.resources || []).forEach(function (country) {
      var li = el("li");
      li.appendChild(el("strong", null, country.name + ": "));
      (country.lines || []).forEach(function (line, i) {
        if (i) li.appendChild(document.createTextNode(", "));
        li.appendChild(document.createTextNode(line.name + " "));
        if (line.phone) {
          var call = el("a", null, line.phone);
          call.href = "tel:" + String(line.phone).replace(/\s/g, "");
          li.appendChild(call);
        } else if (line.text) {
          li.appendChild(document.createTextNode(line.text));
        }
      });
      lines.appendChild(li);
    });
    var more = el("details", "support-lines");
    more.appendChild(el("summary", null, "Crisis lines by country"));
    more.appendChild(lines);
    panel.appendChild(more);
    var actions = el("p", "actions");
    var help = el("a", "button", "Crisis lines and grounding steps");
    help.href = "/help";
    actions.appendChild(help);
    panel.appendChild(actions);
    panel.appendChild(el("p", "small", "Only you see this. What you wrote was shared as usual. Your group's " +
      "moderators were told, privately, that you may be having a hard time, but not your words."));
    var main = document.getElementById("main");
    if (main) main.insertBefore(panel, main.firstChild);
    // In view and focused, as when the panel comes with the next page (#support).
    panel.scrollIntoView({ block: "start" });
    panel.focus({ preventScroll: true });
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
    if (!own) {
      var controls = contentControls("commitment", data.commitment_id, "commitment", "c" + data.commitment_id);
      if (controls) node.appendChild(controls);
    }
    var checkin = el("div", "checkin");
    checkin.setAttribute("data-checkin", "");
    checkin.dataset.checkinId = "";
    var line = el("p");
    line.appendChild(el("span", "status status-open", "Not checked in yet"));
    checkin.appendChild(line);
    node.appendChild(checkin);
    if (!own && !receiveOnly) node.appendChild(encourageButtons(data.commitment_id));
    if (own) {
      var received = el("div", "received-here");
      received.dataset.receivedFor = data.commitment_id;
      received.hidden = true;
      received.appendChild(el("p", "received-title", "Encouragement for you"));
      received.appendChild(el("ul", "cheers-list"));
      node.appendChild(received);
      node.appendChild(el("p", "small", "Reload the page to check in on this one."));
    }
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
    if (data.checkin_id) box.dataset.checkinId = data.checkin_id;
    if (data.note) {
      box.appendChild(el("p", "note", data.note));
      if (data.user_id !== me && data.checkin_id) {
        var controls = contentControls("checkin", data.checkin_id, "check-in note", "c" + data.commitment_id);
        if (controls) box.appendChild(controls);
      }
    }
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
    box.setAttribute("data-posting", "");
    box.hidden = muted;
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
    var details = form.closest("details");
    if (text) {
      // A note goes through the API: its answer carries support if the words call for it.
      event.preventDefault();
      postNote(form, { kind: kind, text: text, commitment_id: commitmentId }, details);
      return;
    }
    if (send(command, form.querySelector("button"))) {
      event.preventDefault();
      form.reset();
      if (details) details.open = false;
    }
  });

  function postNote(form, body, details) {
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch("/api/v1/groups/" + groupId + "/encouragements", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (button) button.disabled = false;
        if (!response.ok) {
          notify(answer.detail || "That did not go through. Please try again.", "error");
          return;
        }
        notify("Sent. Thank you for showing up for each other.", "sent");
        form.reset();
        if (details) details.open = false;
        if (answer.support) showSupport(answer.support);
      });
    }).catch(function () {
      // No answer at all: let the form post the ordinary way.
      if (button) button.disabled = false;
      form.submit();
    });
  }

  if (day.dataset.mutedUntil) setMuted(day.dataset.mutedUntil, false);

  connect();
})();
