// The practice room, live: one socket to /ws/roleplays/{rid}. Joins when it connects,
// draws every room frame, sends the room's commands, and reconnects after any drop
// (backoff with jitter). Each frame is the whole room, so nothing needs replaying.
// Everything is inserted as text, never as HTML.
(function () {
  "use strict";

  var root = document.getElementById("room");
  if (!root || !("WebSocket" in window)) return;

  var roomId = root.dataset.roomId;
  var groupId = root.dataset.groupId;
  var me = Number(root.dataset.userId);
  var words = readJSON("room-words");
  var room = readJSON("room-frame");

  var socket = null;
  var attempt = 0;
  var stopped = false;
  var pingTimer = null;
  var pongTimer = null;
  var retryTimer = null;
  var clockTimer = null;
  var clockOffset = 0; // server time minus this device's time, in ms
  var PING_EVERY = 20000;
  var PONG_WITHIN = 10000;

  var lastSent = null; // {command, form, version, restore}
  var saved = {};      // command -> "round:attempt" it was saved for
  var cards = null;    // scenario cards, once fetched
  var feedbackKey = "";
  var leaving = false;
  var changingFeedback = false;

  function $(id) { return document.getElementById(id); }

  function readJSON(id) {
    var node = $(id);
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (e) { return {}; }
  }

  // A cookie-signed request proves it comes from Cairn's own page (see base.html).
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function word(kind, code) {
    var map = words[kind] || {};
    return map[code] || String(code).replace(/_/g, " ");
  }

  function setText(id, text) {
    var node = $(id);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function show(node, visible) {
    if (node) node.hidden = !visible;
  }

  // -- who is who -------------------------------------------------------------------------

  function roleOf(f, userId) {
    if (f.roles.practitioner === userId) return "practitioner";
    if (f.roles.counterpart === userId) return "counterpart";
    return "observer";
  }

  function nameOf(f, userId) {
    if (userId === me) return "You";
    for (var i = 0; i < f.participants.length; i++) {
      if (f.participants[i].user_id === userId) return f.participants[i].display_name;
    }
    return "Someone who left";
  }

  function participant(f, userId) {
    for (var i = 0; i < f.participants.length; i++) {
      if (f.participants[i].user_id === userId) return f.participants[i];
    }
    return null;
  }

  // -- connection ---------------------------------------------------------------------------

  function setStatus(text, state) {
    var line = $("room-connection");
    if (!line) return;
    line.textContent = text;
    line.dataset.state = state;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped) return;
    setStatus(attempt ? "Reconnecting…" : "Connecting…", "connecting");
    var scheme = location.protocol === "https:" ? "wss" : "ws";
    var ws = new WebSocket(scheme + "://" + location.host + "/ws/roleplays/" + roomId);
    socket = ws;
    var joined = false;
    ws.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame.type === "room" && !joined) {
        joined = true;
        attempt = 0;
        startPinging();
        setStatus("Live", "live");
        // Join on connect; a room that has ended has nobody left to join.
        if (frame.phase !== "ended" && !frame.me.joined) send({ type: "join" });
      }
      handle(frame);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      stopPinging();
      var endings = {
        4401: "Your session has ended. Please sign in again to come back to the room.",
        4403: "You are no longer in this room. A moderator may have removed you, or you left the group.",
        4404: "This room is no longer open to you.",
      };
      if (endings[event.code]) {
        stopped = true;
        setStatus(endings[event.code], "closed");
        disableAll();
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
      pongTimer = setTimeout(function () { if (socket) socket.close(); }, PONG_WITHIN);
    }, PING_EVERY);
  }

  function stopPinging() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
  }

  window.addEventListener("online", function () { if (!socket) connect(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket) connect();
  });

  function disableAll() {
    Array.prototype.forEach.call(root.querySelectorAll("button, input, select, textarea"), function (c) {
      c.disabled = true;
    });
    clearInterval(clockTimer);
  }

  // -- frames -------------------------------------------------------------------------------

  function handle(frame) {
    switch (frame.type) {
      case "room":
        if (frame.room_id !== Number(roomId)) return;
        if (room && room.version && frame.version < room.version) return; // an older view
        var before = room;
        room = frame;
        if (before && before.round !== frame.round) newRound();
        if (before && before.phase !== frame.phase) clearErrors(); // the room has moved on
        if (leaving && !frame.me.joined) {
          stopped = true;
          location.assign("/groups/" + groupId);
          return;
        }
        noteSaved(before, frame);
        render(frame, before);
        break;
      case "error":
        showError(frame);
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
    }
  }

  // A new round (or the next person's turn): the forms start empty again.
  function newRound() {
    ["card-form", "boundary-form", "confidence-form", "feedback-form"].forEach(function (id) {
      var form = $(id);
      if (form) form.reset();
    });
    var select = $("card-select");
    if (select) delete select.dataset.touched;
    var boundary = $("boundary-text");
    if (boundary) boundary.value = "";
    show($("card-preview"), false);
    show($("try-next-field"), false);
  }

  // -- drawing ------------------------------------------------------------------------------

  function render(f, before) {
    var role = roleOf(f, me);
    root.dataset.phase = f.phase;
    root.dataset.role = role;
    applyVisibility(f, role);
    renderStatus(f, before);
    renderPeople(f, role);
    renderPaused(f);
    renderSetup(f, role);
    renderCard(f, role);
    renderWords(f, role);
    renderFeedback(f, role);
    renderMine(f, role);
    renderModerator(f);
    keepFocus();
    meetTimeOut(f, before);
  }

  function applyVisibility(f, role) {
    var moderator = !!f.me.is_moderator;
    var nodes = root.querySelectorAll("[data-phases], [data-roles], [data-moderator]");
    Array.prototype.forEach.call(nodes, function (node) {
      if (node === root) return;
      var phases = node.dataset.phases, roles = node.dataset.roles, mod = node.dataset.moderator;
      var visible = (!phases || phases.split(" ").indexOf(f.phase) >= 0) &&
        (!roles || roles.split(" ").indexOf(role) >= 0) &&
        (mod === undefined || (mod === "yes") === moderator);
      show(node, visible);
    });
  }

  function renderStatus(f, before) {
    setText("room-phase", word("phase", f.phase));
    var round = $("room-round");
    if (round) {
      round.textContent = "Round " + f.round + (f.attempt === 2 && f.phase !== "sharing" ? ", replay" : "");
      show(round, !!f.round && f.phase !== "ended");
    }
    var sentence = f.turn || "";  // said by the server, the one place that says it
    setText("room-turn", sentence);
    var timeout = $("timeout-button");
    if (timeout) {
      timeout.disabled = f.phase === "paused" || f.phase === "ended";
      timeout.textContent = f.phase === "paused" ? "Paused" : "Time-out";
    }
    if (!before || before.phase !== f.phase) {
      setText("room-announce", word("phase", f.phase) + ". " + sentence);
    }
    startClock(f);
  }

  function startClock(f) {
    clockOffset = Date.parse(f.now) - Date.now();
    clearInterval(clockTimer);
    tick();
    if (f.deadline) clockTimer = setInterval(tick, 250);
  }

  function tick() {
    var timer = $("room-timer");
    if (!timer || !room) return;
    if (!room.deadline) {
      timer.textContent = room.phase === "paused" ? "Paused" : room.phase === "ended" ? "Ended" : "No timer";
      timer.classList.add("is-idle");
      timer.classList.remove("is-low");
      return;
    }
    var left = Math.max(0, Math.ceil((Date.parse(room.deadline) - (Date.now() + clockOffset)) / 1000));
    var text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left === 0) text = "0:00";
    if (timer.textContent !== text) timer.textContent = text;
    timer.classList.remove("is-idle");
    timer.classList.toggle("is-low", left <= 15);
  }

  function renderPeople(f, role) {
    var list = $("participants");
    if (!list) return;
    setText("people-count", String(f.participants.length));
    var seen = {};
    f.participants.forEach(function (p) {
      seen[p.user_id] = true;
      var li = list.querySelector('li[data-user-id="' + p.user_id + '"]');
      if (!li) {
        li = el("li", "participant");
        li.dataset.userId = p.user_id;
        li.appendChild(el("span", "p-name"));
        li.appendChild(el("span", "p-tags"));
        list.appendChild(li);
      }
      var name = li.querySelector(".p-name");
      var nameText = p.display_name + (p.user_id === me ? " (you)" : "");
      if (name.textContent !== nameText) name.textContent = nameText;
      var tags = li.querySelector(".p-tags");
      tags.textContent = "";
      if (p.role !== "observer" && f.phase !== "ended") tags.appendChild(el("span", "tag tag-" + p.role, word("role", p.role)));
      if (p.moderator) tags.appendChild(el("span", "tag", "Moderator"));
      if (p.hand_raised) tags.appendChild(el("span", "tag tag-hand", "Hand raised"));
      if (p.muted) tags.appendChild(el("span", "tag tag-muted", "Muted"));
      if (f.me.is_moderator && f.phase !== "ended") moderatorControls(li, p, f);
      else {
        var old = li.querySelector(".p-controls");
        if (old) old.remove();
      }
    });
    Array.prototype.forEach.call(list.querySelectorAll("li[data-user-id]"), function (li) {
      if (!seen[Number(li.dataset.userId)]) li.remove();
    });

    var hands = $("hands");
    if (hands) {
      hands.textContent = f.hands.length ? "Waiting to practise: " + f.hands.map(function (id) { return nameOf(f, id); }).join(", ") : "";
      show(hands, f.hands.length > 0);
    }
    var mine = participant(f, me);
    var muted = !!(mine && mine.muted);
    show($("muted-note"), muted);
    // Muted: the ways to speak stay in view but rest, instead of being refused one by one.
    Array.prototype.forEach.call(root.querySelectorAll(
      "#say-form button, #cheer-box button, #feedback-form button"), function (b) { b.disabled = muted; });
    setText("leave-note", "You can come back while the room is open." +
      (role !== "observer" && f.phase !== "lobby" ? " The round goes back to the start if you leave now." : ""));
    var raised = f.hands.indexOf(me) >= 0;
    var canRaise = f.me.joined && f.phase !== "paused" && f.phase !== "ended" &&
      (role !== "practitioner" || f.phase === "lobby" || f.phase === "sharing");
    show($("hand-raise"), !raised && canRaise);
    show($("hand-lower"), raised && f.phase !== "ended");
  }

  // A moderator's controls for one person. Made once and then only updated, so a control
  // someone is using keeps its focus while frames arrive.
  function moderatorControls(li, p, f) {
    var box = li.querySelector(".p-controls");
    var who = p.user_id === me ? "yourself" : p.display_name;
    if (!box) {
      box = el("div", "p-controls");
      var roleRow = el("div", "p-role");
      var id = "role-for-" + p.user_id;
      var label = el("label", "visually-hidden", "Role for " + who);
      label.htmlFor = id;
      var select = el("select", "p-role-select");
      select.id = id;
      ["practitioner", "counterpart", "observer"].forEach(function (r) {
        var option = el("option", null, { practitioner: "Practitioner", counterpart: "Counterpart", observer: "Observer" }[r]);
        option.value = r;
        select.appendChild(option);
      });
      var set = el("button", "button button-quiet button-small", "Set role");
      set.type = "button";
      set.appendChild(el("span", "visually-hidden", " for " + who));
      set.addEventListener("click", function () {
        send({ type: "assign_role", user_id: p.user_id, role: select.value }, set);
      });
      roleRow.appendChild(label);
      roleRow.appendChild(select);
      roleRow.appendChild(set);
      box.appendChild(roleRow);

      if (p.user_id !== me) {
        var mute = el("button", "button button-quiet button-small p-mute");
        mute.type = "button";
        mute.addEventListener("click", function () {
          var muted = mute.dataset.muted === "true";
          send({ type: muted ? "unmute" : "mute", user_id: p.user_id }, mute);
        });
        box.appendChild(mute);
        var details = el("details", "p-remove");
        var summary = el("summary", null, "Remove…");
        summary.appendChild(el("span", "visually-hidden", " " + p.display_name));
        details.appendChild(summary);
        details.appendChild(el("p", "small", p.display_name + " leaves this room and cannot come back to it."));
        var remove = el("button", "button button-danger button-small", "Remove " + p.display_name + " from the room");
        remove.type = "button";
        remove.addEventListener("click", function () {
          send({ type: "remove", user_id: p.user_id }, remove);
        });
        details.appendChild(remove);
        box.appendChild(details);
      }
      li.appendChild(box);
    }
    var roleRowNow = box.querySelector(".p-role");
    show(roleRowNow, ["lobby", "setup", "sharing"].indexOf(f.phase) >= 0);
    // The picker follows the room only while it holds no choice of the moderator's own that
    // is not saved yet: a frame never undoes what they picked.
    var selectNow = box.querySelector("select");
    if (selectNow) {
      var unsaved = selectNow.dataset.saved !== undefined && selectNow.value !== selectNow.dataset.saved;
      if (!unsaved || selectNow.value === p.role) selectNow.value = p.role;
      selectNow.dataset.saved = p.role;
    }
    var muteNow = box.querySelector(".p-mute");
    if (muteNow) {
      muteNow.dataset.muted = p.muted ? "true" : "false";
      muteNow.textContent = p.muted ? "Unmute" : "Mute";
      muteNow.appendChild(el("span", "visually-hidden", " " + p.display_name));
    }
  }

  function renderPaused(f) {
    var paused = f.paused;
    show($("grounding"), !!(paused && paused.by_me));
    var by = $("paused-by");
    var showBy = !!(paused && paused.by && !paused.by_me && f.me.is_moderator);
    if (showBy) setText("paused-by-name", nameOf(f, paused.by));
    show(by, showBy);
  }

  function renderSetup(f, role) {
    if (f.phase !== "setup") return;
    show($("setup-done-card"), !!f.scenario);
    if (f.scenario) {
      setText("setup-done-card-text", f.scenario.title + " · " + word("intensity", f.scenario.intensity));
    }
    show($("setup-done-boundary"), !!f.boundary);
    setText("setup-done-boundary-text", f.boundary || "");
    setText("setup-waiting", (f.turn || "") + (f.scenario ? "" : " The card will show here."));
    if (role === "practitioner") loadCards(f);
  }

  function loadCards(f) {
    var select = $("card-select");
    if (!select) return;
    if (cards) {
      if (f.scenario && !select.dataset.touched) select.value = String(f.scenario.id);
      return;
    }
    cards = [];
    fetch("/api/v1/scenarios?group_id=" + encodeURIComponent(groupId), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (list) {
      cards = list;
      select.textContent = "";
      select.appendChild(optionFor("", "Choose a card…"));
      var builtin = el("optgroup");
      builtin.label = "Cairn's cards";
      var own = el("optgroup");
      own.label = "Your group's cards";
      list.forEach(function (card) {
        (card.builtin ? builtin : own).appendChild(optionFor(String(card.id), card.title));
      });
      select.appendChild(builtin);
      if (own.children.length) select.appendChild(own);
      if (room.scenario) select.value = String(room.scenario.id);
      preview();
    }).catch(function () {
      cards = null;
      select.textContent = "";
      select.appendChild(optionFor("", "The cards did not load. Reload the page to try again."));
    });
  }

  function optionFor(value, text) {
    var option = el("option", null, text);
    option.value = value;
    return option;
  }

  function preview() {
    var select = $("card-select");
    var box = $("card-preview");
    if (!select || !box || !cards) return;
    var card = null;
    cards.forEach(function (c) { if (String(c.id) === select.value) card = c; });
    show(box, !!card);
    if (!card) return;
    setText("card-preview-situation", card.situation);
    setText("card-preview-opening", card.opening_line);
  }

  function renderCard(f, role) {
    // As card_shown() in server/roleplay/pages.py.
    var visible = !!f.scenario && ["lobby", "paused", "ended"].indexOf(f.phase) < 0 &&
      !(f.phase === "setup" && role === "practitioner");
    show($("panel-card"), visible);
    renderCardReport(f);
    if (!f.scenario) return;
    setText("card-title", f.scenario.title);
    setText("card-situation", f.scenario.situation);
    setText("card-intensity", f.scenario.intensity + " · " + word("intensity", f.scenario.intensity));
    setText("card-opening", f.scenario.opening_line);
    var line = f.scenario.counterpart_line;
    show($("counterpart-line"), !!line);
    if (line) {
      setText("counterpart-line-text", line);
      setText("counterpart-line-title", role === "counterpart" ? "Your answer when the boundary is stated" : "The counterpart's answer");
      setText("counterpart-line-tag", role === "counterpart" ? "Only you and the moderators see this" : "Moderators see this");
    }
    show($("boundary-box"), !!f.boundary);
    setText("card-boundary", f.boundary || "");
  }

  function renderWords(f, role) {
    setText("words-title", f.phase === "sharing" ? "Sharing" : "The scene");
    var list = $("lines");
    if (list) {
      var items = list.children;
      // Lines only grow within a round; a new round or an ended room starts afresh.
      var fresh = items.length > f.lines.length;
      for (var i = 0; i < items.length && !fresh; i++) {
        if (items[i].dataset.key !== lineKey(f.lines[i])) fresh = !!items[i].dataset.key;
      }
      if (fresh) list.textContent = "";
      for (var j = 0; j < f.lines.length; j++) {
        var existing = list.children[j];
        if (existing) {
          existing.dataset.key = lineKey(f.lines[j]);
          continue;
        }
        list.appendChild(lineItem(f, f.lines[j]));
      }
      show($("lines-empty"), f.lines.length === 0);
    }
    var speaking = (f.phase === "scene" || f.phase === "replay") && (role === "practitioner" || role === "counterpart");
    show($("say-form"), f.me.joined && (speaking || f.phase === "sharing"));
    show($("say-reminder"), speaking);
    if (speaking) {
      show($("say-reminder-boundary"), role === "practitioner");
      setText("say-reminder-boundary-text", f.boundary || "");
      var line = f.scenario && f.scenario.counterpart_line;
      show($("say-reminder-open"), role === "counterpart" && !!f.scenario);
      show($("say-reminder-answer"), role === "counterpart" && !!line);
      setText("say-reminder-open-text", f.scenario ? f.scenario.opening_line : "");
      setText("say-reminder-answer-text", line || "");
    }
    setText("say-label", f.phase === "sharing" ? "Share with the group" : "Your line");
    var sayButton = document.querySelector("#say-form button");
    if (sayButton) sayButton.textContent = f.phase === "sharing" ? "Share" : "Say it";
    var cheering = (f.phase === "scene" || f.phase === "replay") && role === "observer" && f.me.joined;
    show($("cheer-box"), cheering);
    setText("cheers-held", f.cheers_held === 1 ? "1 held so far." : f.cheers_held + " held so far.");
  }

  function lineKey(line) {
    return (line.id || "") + "|" + line.by + "|" + line.at + "|" + line.attempt + "|" + line.phase;
  }

  function lineItem(f, line) {
    var li = el("li", "line line-" + line.role + (line.by === me ? " is-mine" : ""));
    li.dataset.key = lineKey(line);
    li.dataset.attempt = line.attempt;
    li.dataset.phase = line.phase;
    var who = el("span", "line-who", nameOf(f, line.by));
    if (line.phase !== "sharing") {
      who.appendChild(document.createTextNode(" "));
      who.appendChild(el("span", "line-role", word("role", line.role)));
    }
    li.appendChild(who);
    li.appendChild(el("span", "line-text", line.text));
    if (line.id && line.by !== me && f.me.joined) {
      li.appendChild(reportControl({ target_type: "roleplay_line", target_id: line.id,
        room_id: Number(roomId) }, "line"));
    }
    return li;
  }

  // -- reporting ----------------------------------------------------------------------------

  // A quiet "Report" beside a line or the card: the reason goes to the group's moderators
  // through the JSON API, with this browser's session cookie.
  function reportControl(target, what) {
    var box = el("div", "content-actions");
    var details = el("details", "report");
    details.dataset.reportFor = target.target_type + "-" + target.target_id;
    var summary = el("summary", null, "Report");
    summary.appendChild(el("span", "visually-hidden", " this " + what));
    details.appendChild(summary);
    var form = el("form", "stack");
    form.appendChild(window.CairnReasons.field(
      "rp-" + target.target_type + "-" + target.target_id + "-reason",
      "What worries you about this " + what + "?", window.CairnReasons.REPORT_HINT));
    var area = form.querySelector("textarea");
    var error = el("p", "form-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    form.appendChild(error);
    var button = el("button", "button button-quiet button-small", "Send the report");
    button.type = "submit";
    form.appendChild(button);
    details.appendChild(form);
    box.appendChild(details);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = area.value.trim();
      if (!reason) { area.focus(); return; }
      button.disabled = true;
      error.hidden = true;
      var body = { reason: reason };
      Object.keys(target).forEach(function (key) { body[key] = target[key]; });
      fetch("/api/v1/groups/" + encodeURIComponent(groupId) + "/reports", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRF-Token": csrfToken() },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          button.disabled = false;
          if (!response.ok) {
            error.textContent = answer.detail || "That did not go through. Please try again.";
            error.hidden = false;
            return;
          }
          box.textContent = "";
          box.appendChild(el("p", "small report-sent",
            "Thank you for telling us. The group's moderators will look at it."));
        });
      }).catch(function () {
        button.disabled = false;
        error.textContent = "That did not go through. Please try again in a moment.";
        error.hidden = false;
      });
    });
    return box;
  }

  function renderCardReport(f) {
    var slot = $("card-report");
    if (!slot) return;
    var card = f.scenario;
    // Cairn's own cards are not members' words: only a group's own card can be reported.
    var key = card && !card.builtin ? String(card.id) : "";
    if (slot.dataset.card === key) return;
    slot.dataset.card = key;
    slot.textContent = "";
    if (key) slot.appendChild(reportControl({ target_type: "scenario", target_id: card.id }, "card"));
  }

  function renderFeedback(f, role) {
    var cheers = Object.keys(f.cheers || {});
    show($("cheers-shown"), cheers.length > 0);
    setText("cheers-shown-list", cheers.map(function (k) { return word("cheer", k) + " × " + f.cheers[k]; }).join(", "));
    setText("feedback-in", f.feedback_in.length
      ? "Feedback given by: " + f.feedback_in.map(function (id) { return nameOf(f, id); }).join(", ") + "."
      : "No feedback yet.");
    if (f.phase !== "feedback") return;
    var form = $("feedback-form");
    if (!form) return;
    var key = f.round + ":" + f.attempt;
    if (key !== feedbackKey) {
      feedbackKey = key;
      changingFeedback = false;
      form.reset();
      show($("try-next-field"), false);
    }
    var given = f.feedback_in.indexOf(me) >= 0;
    var mustWait = role === "observer" && f.feedback_in.indexOf(f.roles.counterpart) < 0;
    show($("feedback-wait"), mustWait && !given);
    show($("feedback-thanks"), given && !changingFeedback);
    show(form, !mustWait && (!given || changingFeedback));
  }

  function renderMine(f, role) {
    if (role !== "practitioner") return;
    var list = $("my-feedback");
    var items = f.my_feedback || [];
    if (list && list.dataset.count !== String(items.length) + ":" + f.round) {
      list.dataset.count = String(items.length) + ":" + f.round;
      list.textContent = "";
      items.forEach(function (fb) {
        var li = el("li", "style-" + fb.style);
        var head = el("p", "fb-head");
        head.appendChild(el("strong", null, fb.from));
        head.appendChild(document.createTextNode(" "));
        head.appendChild(el("span", "small", word("role", fb.role) + (fb.attempt === 2 ? " · after the replay" : "")));
        head.appendChild(document.createTextNode(" "));
        head.appendChild(el("span", "tag tag-style", word("style", fb.style)));
        li.appendChild(head);
        var worked = el("p", "fb-worked");
        worked.appendChild(el("span", "room-label", "What worked"));
        worked.appendChild(document.createTextNode(" " + fb.worked));
        li.appendChild(worked);
        if (fb.try_next) {
          var next = el("p", "fb-next");
          next.appendChild(el("span", "room-label", "One thing to try next"));
          next.appendChild(document.createTextNode(" " + fb.try_next));
          li.appendChild(next);
        }
        list.appendChild(li);
      });
    }
    show($("my-feedback-empty"), items.length === 0);
    setText("confidence-legend", f.attempt === 2 ? "How confident do you feel after the replay?"
      : "How confident did you feel holding your boundary?");
    var conf = f.my_confidence || {};
    var parts = [];
    if (conf.before) parts.push("Before: " + conf.before + " · " + word("confidence", conf.before) + ".");
    if (conf.after) parts.push("After the replay: " + conf.after + " · " + word("confidence", conf.after) + ".");
    setText("confidence-saved", parts.join(" "));
    show($("confidence-saved"), parts.length > 0);
    savedButton("save_homework", "save-homework", "Saved: tomorrow's private commitment",
      "Make this boundary tomorrow's commitment", f);
    savedButton("save_transcript", "save-transcript", "Kept in your private history",
      "Keep the words of this scene in my private history", f);
  }

  function savedButton(command, id, doneText, text, f) {
    var button = $(id);
    if (!button) return;
    var done = saved[command] === String(f.round);
    button.disabled = done;
    button.textContent = done ? doneText : text;
  }

  // A command that changes nothing visible (saving) is confirmed by the next frame: the
  // room's version moved on and no error came back for it.
  function noteSaved(before, f) {
    if (!lastSent || !lastSent.confirm || lastSent.failed) return;
    if (f.version > lastSent.version) {
      saved[lastSent.command.type] = String(lastSent.round);
      lastSent.confirm = false;
    }
  }

  function renderModerator(f) {
    show($("advance-replay"), !f.replayed);
  }

  // If the control that had focus has just been hidden, bring focus to the heading of what
  // is showing now, so a keyboard or screen reader user is not left nowhere.
  function keepFocus() {
    var active = document.activeElement;
    if (!active || active === document.body || !root.contains(active)) return;
    if (active.offsetParent !== null || active.getClientRects().length) return;
    var headings = root.querySelectorAll(".room-main section:not([hidden]) h2[tabindex]");
    var target = headings.length ? headings[0] : $("room-phase");
    if (target) target.focus();
  }

  // When the room pauses, what the time-out offers comes into view and takes focus, below the
  // room's status bar that stays at the top of the screen: the grounding steps for the one who
  // called it, the paused panel (focus on its heading) for everyone else. On a phone it would
  // otherwise sit far above the screen.
  function meetTimeOut(f, before) {
    if (f.phase !== "paused" || (before && before.phase === "paused")) return;
    var grounding = $("grounding");
    var mine = !!(grounding && !grounding.hidden);
    var view = mine ? grounding : $("panel-paused");
    var target = mine ? grounding : $("paused-title");
    if (!view || !target) return;
    var status = $("room-status");
    var covered = status ? status.getBoundingClientRect().height : 0;
    view.style.scrollMarginTop = Math.ceil(covered + 16) + "px";
    view.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  }

  // -- errors -------------------------------------------------------------------------------

  function kindly(frame) {
    var detail = frame.detail || "That did not go through.";
    var match = /^Not during (\w+)\.$/.exec(detail);
    if (match) return "That is not open during " + word("phase", match[1]).toLowerCase() + " any more. The room has moved on.";
    if (frame.code === "unavailable") return "That did not go through. Please try again in a moment.";
    return detail;
  }

  function showError(frame) {
    var target = null;
    if (lastSent && lastSent.control) {
      var area = lastSent.control.closest("form, .panel, section");
      target = area && area.querySelector("[data-error]");
      lastSent.failed = true;
      if (lastSent.restore) lastSent.restore();
    }
    // The slot itself is hidden until used; what matters is whether its part of the page shows.
    if (!target || (target.parentElement && target.parentElement.closest("[hidden]"))) target = $("room-error");
    clearErrors();
    target.textContent = kindly(frame);
    target.hidden = false;
  }

  function clearErrors() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-error], #room-error"), function (node) {
      node.hidden = true;
      node.textContent = "";
    });
  }

  // -- sending ------------------------------------------------------------------------------

  function send(command, control, extra) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      if (command.type !== "join") {
        var target = $("room-error");
        target.textContent = "We are reconnecting. Please try again in a moment.";
        target.hidden = false;
      }
      return false;
    }
    socket.send(JSON.stringify(command));
    if (command.type !== "join") {
      clearErrors();
      lastSent = { command: command, control: control || null, version: room ? room.version : 0,
        round: room ? room.round : 0, confirm: !!(extra && extra.confirm), failed: false,
        restore: extra && extra.restore };
    }
    if (control && control.tagName === "BUTTON") {
      control.disabled = true;
      setTimeout(function () { control.disabled = false; if (room) render(room, room); }, 800);
    }
    return true;
  }

  function number(value) {
    return value === "" || value === undefined ? undefined : Number(value);
  }

  var builders = {
    choose_scenario: function (form) {
      var intensity = form.querySelector('input[name="intensity"]:checked');
      return { type: "choose_scenario", scenario_id: number(form.elements.scenario_id.value),
        intensity: number(intensity ? intensity.value : "") };
    },
    state_boundary: function (form) {
      return { type: "state_boundary", text: form.elements.text.value };
    },
    say: function (form) {
      return { type: "say", text: form.elements.text.value };
    },
    feedback: function (form) {
      var style = form.querySelector('input[name="style"]:checked');
      var command = { type: "feedback", style: style ? style.value : "", worked: form.elements.worked.value };
      var next = form.elements.try_next.value.trim();
      if (next && form.elements.worked.value.trim()) command.try_next = next;
      return command;
    },
    self_rate: function (form) {
      var level = form.querySelector('input[name="confidence"]:checked');
      return { type: "self_rate", confidence: number(level ? level.value : "") };
    },
  };

  root.addEventListener("submit", function (event) {
    var form = event.target;
    var type = form.dataset.command;
    if (!type || !builders[type]) return;
    event.preventDefault();
    var command = builders[type](form);
    var button = form.querySelector('button[type="submit"]');
    var extra = {};
    if (type === "say") {
      var input = form.elements.text;
      var text = input.value;
      extra.restore = function () { if (!input.value) input.value = text; };
      if (send(command, button, extra)) input.value = "";
      input.focus();
      return;
    }
    if (type === "feedback") {
      extra.restore = function () { changingFeedback = true; };
      changingFeedback = false;
    }
    send(command, button, extra);
  });

  root.addEventListener("click", function (event) {
    var control = event.target.closest("button[data-command]");
    if (!control || !root.contains(control)) return;
    var command = { type: control.dataset.command };
    if (control.dataset.to) command.to = control.dataset.to;
    if (control.dataset.seconds) command.seconds = Number(control.dataset.seconds);
    if (control.dataset.kind) command.kind = control.dataset.kind;
    var confirm = command.type === "save_homework" || command.type === "save_transcript";
    if (command.type === "leave") leaving = true;
    send(command, control, { confirm: confirm });
  });

  var change = $("feedback-change");
  if (change) {
    change.addEventListener("click", function () {
      changingFeedback = true;
      if (room) render(room, room);
      var first = document.querySelector("#feedback-form input");
      if (first) first.focus();
    });
  }

  // "One thing to try next" is offered only once "what worked" has words in it.
  var worked = $("feedback-worked");
  if (worked) {
    worked.addEventListener("input", function () {
      show($("try-next-field"), worked.value.trim().length > 0);
    });
  }

  var select = $("card-select");
  if (select) {
    select.addEventListener("change", function () {
      select.dataset.touched = "true";
      preview();
    });
  }

  if (room && room.type === "room") render(room, null);
  connect();
})();
