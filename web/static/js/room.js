// The practice room, live. The server draws every part of the room (roleplay/_room.html) and
// sends with each room frame the parts that changed; live.js keeps the socket and places
// them. This file joins the room, sends its commands from the buttons and forms the server
// drew, keeps the clock ticking, and moves focus kindly when the room moves on.
(function () {
  "use strict";

  var root = document.getElementById("room");
  var Live = window.CairnLive;
  if (!root || !Live || !("WebSocket" in window)) return;

  var roomId = Number(root.dataset.roomId);
  var groupId = root.dataset.groupId;
  var room = Live.readJSON("room-frame");
  var sent = {};        // ref -> {control, restore}: each command is named, and answered
  var named = 0;
  var leaving = false;
  var checkJoin = false; // after each (re)connection: join if not in the room yet
  var lastFocus = null;
  var clockTimer = null;
  var clockOffset = 0;   // server time minus this device's time, in ms

  function $(id) { return document.getElementById(id); }

  var live = Live.open({
    path: "/ws/roleplays/" + roomId,
    status: $("room-connection"),
    goneWord: "gone_room",
    onOpen: function () { checkJoin = true; },
    onFrame: onFrame,
    onClosed: function (code) {
      if (code === 4401 || code === 4403 || code === 4404) {
        Array.prototype.forEach.call(root.querySelectorAll("button, input, select, textarea"),
          function (c) { c.disabled = true; });
        clearInterval(clockTimer);
      }
    },
  });

  // -- frames -------------------------------------------------------------------------------

  function onFrame(frame) {
    if (frame.type === "error") {
      showError(frame);
      return;
    }
    if (frame.type === "ack") {
      delete sent[frame.ref];
      return;
    }
    if (frame.type !== "room" || frame.room_id !== roomId) return;
    var before = room;
    room = frame;
    if (checkJoin) {
      checkJoin = false;
      // Join on connect; a room that has ended has nobody left to join.
      if (frame.phase !== "ended" && !frame.me.joined && !leaving) live.send({ type: "join" });
    }
    if (leaving && !frame.me.joined) {
      location.assign("/groups/" + groupId);
      return;
    }
    if (!before || before.phase !== frame.phase) {
      clearErrors();
      var phase = $("room-phase"), turn = $("room-turn");
      $("room-announce").textContent = (phase ? phase.textContent : "") + ". " + (turn ? turn.textContent : "");
    }
    startClock(frame);
    fitBar();
    foldWords(frame, before);
    keepFocus();
    leaveClosedLine(frame, before);
    meetTimeOut(frame, before);
    meetRole(frame, before);
    meetScene(frame, before);
  }

  // -- the status bar -----------------------------------------------------------------------

  // The bar's height, as --room-bar: the page keeps that much room above whatever it brings
  // into view (room.css, scroll-padding-top), and on a wide screen the people's column stays
  // just below the bar. Measured again whenever the bar changes size or is drawn anew, and
  // when the window does. --room-below is what the page has under the room (its footer): on
  // a wide screen the people's column is never taller than what is left between the bar and
  // that, so that at the very end of the page it does not slide up under the bar.
  var barWatched = null;
  var barWatch = "ResizeObserver" in window ? new ResizeObserver(function () { fitBar(); }) : null;
  var layout = root.querySelector(".room-layout");

  function fitBar() {
    var bar = $("room-status");
    if (!bar) return;
    if (barWatch && bar !== barWatched) {
      if (barWatched) barWatch.unobserve(barWatched);
      barWatch.observe(bar);
      barWatched = bar;
    }
    var style = document.documentElement.style;
    style.setProperty("--room-bar", Math.ceil(bar.getBoundingClientRect().height) + "px");
    if (layout) {
      var page = document.scrollingElement || document.documentElement;
      var below = page.scrollHeight - (layout.getBoundingClientRect().bottom + window.scrollY);
      style.setProperty("--room-below", Math.max(0, Math.ceil(below)) + "px");
    }
  }
  window.addEventListener("resize", fitBar);

  // The phase whose words stay in view: in a time-out, the one it paused.
  function phaseSeen(f) {
    return f.phase === "paused" && f.paused ? f.paused.from : f.phase;
  }

  // The words said fold away while feedback is given, and open again after (as the server
  // draws them on a page loaded in that phase); between two such moments, they stay as the
  // person left them.
  function foldWords(f, before) {
    var fold = $("words-fold");
    if (!fold || !before || phaseSeen(before) === phaseSeen(f)) return;
    fold.open = phaseSeen(f) !== "feedback";
  }

  // The scene ended while someone was in their line's box: the line can no longer be said, so
  // focus goes to what the room shows now (the box then closes; live.js waits for it to be
  // left before it draws it again).
  function leaveClosedLine(f, before) {
    if (!before || before.phase === f.phase || f.phase === "paused") return;
    if (f.phase === "scene" || f.phase === "replay" || f.phase === "sharing") return;
    var form = $("say-form"), active = document.activeElement;
    if (!form || !active || !form.contains(active)) return;
    var headings = root.querySelectorAll(".room-main section:not([hidden]) h2[tabindex]");
    var target = headings.length ? headings[0] : $("people-title");
    if (target) target.focus();
  }

  function roleIn(f) {
    var me = f.me.user_id;
    return f.roles.practitioner === me ? "practitioner" : f.roles.counterpart === me ? "counterpart" : "observer";
  }

  // Given a part (or no longer one), a person is told the moment it is set.
  function meetRole(f, before) {
    if (!before || f.phase === "ended" || !f.me.joined || roleIn(before) === roleIn(f)) return;
    Live.toast(Live.say("role_" + roleIn(f)), "room");
  }

  // The scene starts: the two who speak find their line's box in view, below the status bar,
  // ready to type in.
  function meetScene(f, before) {
    if ((f.phase !== "scene" && f.phase !== "replay") || (before && before.phase === f.phase)) return;
    if (roleIn(f) === "observer") return;
    var input = $("say-text");
    if (!input || !input.getClientRects().length) return;
    var form = $("say-form") || input;
    fitBar(); // the page's scroll padding is the bar's height as it is now
    form.scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
  }

  // -- the clock ----------------------------------------------------------------------------

  function startClock(f) {
    clockOffset = Date.parse(f.now) - Date.now();
    clearInterval(clockTimer);
    tick();
    if (f.deadline) clockTimer = setInterval(tick, 250);
  }

  function tick() {
    var timer = $("room-timer");
    if (!timer || !room || !room.deadline) return; // the server drew the idle clock
    var left = Math.max(0, Math.ceil((Date.parse(room.deadline) - (Date.now() + clockOffset)) / 1000));
    var text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (timer.textContent !== text) timer.textContent = text;
    timer.classList.remove("is-idle");
    timer.classList.toggle("is-low", left <= 15);
  }

  // -- focus --------------------------------------------------------------------------------

  root.addEventListener("focusin", function (event) { lastFocus = event.target; });

  // The same control in a part the server has just drawn again (a button someone pressed).
  function redrawn(old) {
    var part = old.closest("[id]");
    var now = part && $(part.id);
    if (!now || now === part) return null;
    if (old.id) return $(old.id);
    var same = old.dataset.command ? '[data-command="' + old.dataset.command + '"]' : old.tagName;
    var found = now.querySelector(same);
    return found && found.getClientRects().length ? found : null;
  }

  // If the control that had focus was redrawn, focus stays with it; if it went away or was
  // hidden, focus goes to the heading of what shows now, so a keyboard or screen reader user
  // is not left nowhere.
  function keepFocus() {
    var active = document.activeElement;
    var lost = (!active || active === document.body) && lastFocus && !lastFocus.isConnected;
    var hidden = active && root.contains(active) && !active.getClientRects().length;
    if (!lost && !hidden) return;
    var again = lost ? redrawn(lastFocus) : null;
    if (again) { again.focus(); return; }
    var headings = root.querySelectorAll(".room-main section:not([hidden]) h2[tabindex]");
    var target = headings.length ? headings[0] : $("people-title");
    if (target) target.focus();
  }

  // When the room pauses, what the time-out offers comes into view and takes focus, below the
  // room's status bar that stays at the top of the screen: the grounding steps for the one who
  // called it, the paused panel (focus on its heading) for everyone else.
  function meetTimeOut(f, before) {
    if (f.phase !== "paused" || (before && before.phase === "paused")) return;
    var grounding = $("grounding");
    var view = grounding || $("panel-paused");
    var target = grounding || $("paused-title");
    if (!view || !target) return;
    fitBar();
    view.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  }

  // -- errors -------------------------------------------------------------------------------

  // The server says why, in the reader's language; a failure of its own gets kinder words.
  function kindly(frame) {
    if (frame.code === "unavailable") return Live.say("room_unavailable");
    return frame.detail || Live.say("not_sent");
  }

  // Beside the control that sent the command, while it is still on the page; else at the top.
  function showError(frame) {
    var target = null;
    var mine = sent[frame.ref];
    delete sent[frame.ref];
    if (mine && mine.control && root.contains(mine.control)) {
      var area = mine.control.closest("form, .panel, section, [id]");
      target = area && area.querySelector("[data-error]");
    }
    if (mine && mine.restore) mine.restore();
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

  function send(command, control, restore) {
    clearErrors();
    named += 1;
    command.ref = "r" + named;
    if (!live.send(command)) {
      var target = $("room-error");
      target.textContent = Live.say("room_reconnecting");
      target.hidden = false;
      if (restore) restore();
      return false;
    }
    sent[command.ref] = { control: control || null, restore: restore || null };
    if (control && control.tagName === "BUTTON") {
      control.disabled = true; // one press, one command; the room's next frame redraws it
      setTimeout(function () { if (control.isConnected) control.disabled = false; }, 800);
    }
    return true;
  }

  function number(value) {
    return value === "" || value === undefined ? undefined : Number(value);
  }

  function checked(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  var builders = {
    choose_scenario: function (form) {
      return { type: "choose_scenario", scenario_id: number(form.elements.scenario_id.value),
        intensity: number(checked(form, "intensity")) };
    },
    state_boundary: function (form) { return { type: "state_boundary", text: form.elements.text.value }; },
    say: function (form) { return { type: "say", text: form.elements.text.value }; },
    feedback: function (form) {
      var command = { type: "feedback", style: checked(form, "style"), worked: form.elements.worked.value };
      var next = form.elements.try_next.value.trim();
      if (next && form.elements.worked.value.trim()) command.try_next = next;
      return command;
    },
    self_rate: function (form) { return { type: "self_rate", confidence: number(checked(form, "confidence")) }; },
  };

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.reportType) {
      event.preventDefault();
      report(form);
      return;
    }
    var type = form.dataset.command;
    if (!type || !builders[type]) return;
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    if (type === "say") {
      var input = form.elements.text;
      var text = input.value;
      if (send(builders.say(form), button, function () { if (!input.value) input.value = text; })) input.value = "";
      input.focus();
      return;
    }
    send(builders[type](form), button);
  });

  root.addEventListener("click", function (event) {
    if (event.target.closest("#feedback-change")) {
      var form = $("feedback-form"), thanks = $("feedback-thanks");
      if (form) form.hidden = false;
      if (thanks) thanks.hidden = true;
      var first = form && form.querySelector("input");
      if (first) first.focus();
      return;
    }
    var control = event.target.closest("button[data-command]");
    if (!control || !root.contains(control)) return;
    var data = control.dataset;
    var command = { type: data.command };
    if (data.to) command.to = data.to;
    if (data.seconds) command.seconds = Number(data.seconds);
    if (data.kind) command.kind = data.kind;
    if (data.userId) command.user_id = Number(data.userId);
    if (command.type === "leave") leaving = true;
    send(command, control);
  });

  // A role is set the moment the moderator chooses it: one tap, no button to find.
  root.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.classList.contains("p-role-select")) return;
    send({ type: "assign_role", user_id: Number(picker.dataset.userId), role: picker.value }, picker,
      function () { picker.value = picker.dataset.saved; });
  });

  // The card's situation and opening line, as the practitioner picks it.
  root.addEventListener("change", function (event) {
    if (event.target.id !== "card-select") return;
    var option = event.target.selectedOptions[0];
    var box = $("card-preview");
    var chosen = !!(option && option.value);
    if (box) box.hidden = !chosen;
    if (!chosen) return;
    $("card-preview-situation").textContent = option.dataset.situation || "";
    $("card-preview-opening").textContent = option.dataset.opening || "";
  });

  // "One thing to try next" is offered only once "what worked" has words in it.
  root.addEventListener("input", function (event) {
    if (event.target.id !== "feedback-worked") return;
    var field = $("try-next-field");
    if (field) field.hidden = event.target.value.trim().length === 0;
  });

  // -- reporting ----------------------------------------------------------------------------

  // A report goes to the group's moderators through the JSON API, with this browser's session.
  function report(form) {
    var area = form.querySelector("textarea");
    var error = form.querySelector("[data-error]");
    var button = form.querySelector('button[type="submit"]');
    var reason = area.value.trim();
    if (!reason) { area.focus(); return; }
    var body = { target_type: form.dataset.reportType, target_id: Number(form.dataset.reportId), reason: reason };
    if (form.dataset.reportRoom) body.room_id = Number(form.dataset.reportRoom);
    button.disabled = true;
    error.hidden = true;
    function failed(text) {
      button.disabled = false;
      error.textContent = text;
      error.hidden = false;
    }
    fetch("/api/v1/groups/" + encodeURIComponent(groupId) + "/reports", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": Live.csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) { failed(answer.detail || Live.say("report_failed")); return; }
        var box = form.closest(".content-actions");
        var thanks = document.createElement("p");
        thanks.className = "small report-sent";
        thanks.textContent = Live.say("report_thanks");
        box.textContent = "";
        box.appendChild(thanks);
      });
    }).catch(function () { failed(Live.say("room_unavailable")); });
  }

  fitBar();
  if (room && room.type === "room") startClock(room);
})();
