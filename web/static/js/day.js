// The group's day, live: the shared core (live.js) keeps the socket and swaps in what the
// server renders; this file adds what is the page's own: a card's forms opened in place,
// cheers sent over the socket (with help shown at once if the sender's words call for it),
// muting, dismissing notices, and the day said empty when its last card is withdrawn.
(function () {
  "use strict";

  var day = document.getElementById("day");
  if (!day || !("WebSocket" in window) || !window.CairnLive) return;
  var Live = window.CairnLive;

  var me = Number(day.dataset.userId);
  var timezone = day.dataset.timezone || undefined;
  var unmuteTimer = null;
  var sending = {}; // ref -> the form whose cheer is on its way
  var refs = 0;

  var live = Live.open({
    path: "/ws/groups/" + day.dataset.groupId,
    cursors: day.dataset.moderator === "true"
      ? { group: Number(day.dataset.lastSeq || 0), moderators: Number(day.dataset.moderatorsSeq || 0) }
      : { group: Number(day.dataset.lastSeq || 0) },
    epoch: day.dataset.epoch || null,
    status: document.getElementById("live-status"),
    onFrame: onFrame,
  });

  function onFrame(frame) {
    if (frame.type === "event") {
      var data = frame.data || {};
      if (data.user_id === me && frame.kind === "member.muted") setMuted(data.until);
      if (data.user_id === me && frame.kind === "member.unmuted") setMuted(null);
      if (frame.kind === "commitment.created" && frame.html) markNew(data.commitment_id);
      if (frame.kind === "commitment.withdrawn") sayIfEmpty();
      if (frame.kind === "practice.changed") refreshPractice();
    } else if (frame.type === "ack" || frame.type === "error") {
      var form = sending[frame.ref];
      if (!form) return;
      delete sending[frame.ref];
      setBusy(form, false);
      if (frame.type === "error") return; // the core has said why
      Live.toast(Live.say("sent"), "sent");
      form.reset();
      var panel = form.closest(".card-form");
      if (panel) close(panel);
      var help = document.getElementById("support");
      if (frame.support && help) { // in view and focused, as when it comes with the next page
        help.scrollIntoView({ block: "start" });
        help.focus({ preventScroll: true });
      }
    }
  }

  // The practice line says the next session in this member's own zone: asked for again,
  // whole, when the group's plans change (a planned, deleted or cancelled session).
  function refreshPractice() {
    var line = document.getElementById("practice-line");
    if (!line) return;
    var url = "/groups/" + day.dataset.groupId + "/practice?part=line";
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var fresh = Live.parse(html).getElementById("practice-line");
        if (fresh) line.replaceWith(fresh);
      })
      .catch(function () { /* the line stays as it was until the next page */ });
  }

  function sayIfEmpty() {
    var list = document.getElementById("commitments");
    var empty = document.getElementById("commitments-empty");
    if (list && empty && !list.querySelector("li")) empty.hidden = false;
  }

  function markNew(commitmentId) {
    var card = document.getElementById("c" + commitmentId);
    if (card) card.classList.add("is-new");
  }

  // Cheers go over the socket when it is open; without it the form posts as usual.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.closest || !form.closest("[data-encourage-for]") || !live.isOpen()) return;
    var ref = "c" + (++refs);
    var text = form.elements.text ? form.elements.text.value.trim() : "";
    var command = {
      type: "encourage", ref: ref, kind: event.submitter ? event.submitter.value : "",
      commitment_id: Number(form.elements.commitment_id.value),
    };
    if (text) command.text = text;
    if (!live.send(command)) return;
    event.preventDefault();
    sending[ref] = form;
    setBusy(form, true);
  });

  function setBusy(form, busy) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = busy; });
  }

  // -- a card's forms, drawn when opened ------------------------------------------------------
  // Each is a link to the card's page with that form open; here the form is fetched from the
  // card as the server draws it and placed under the link, the link becoming its toggle.

  // A link's panel: "/groups/1/commitments/5?open=encourage" opens "c5-encourage".
  function panelId(link) {
    var url = new URL(link.href, location.href);
    return "c" + url.pathname.split("/").pop() + "-" + url.searchParams.get("open");
  }

  function openerOf(panel) {
    return Array.prototype.find.call(document.querySelectorAll("a.opener"), function (link) {
      return panelId(link) === panel.id;
    });
  }

  function show(link, panel) {
    panel.hidden = false;
    link.setAttribute("aria-expanded", "true");
    link.setAttribute("aria-controls", panel.id);
    panel.scrollIntoView({ block: "nearest" });
    var field = panel.querySelector("textarea, select, input:not([type=hidden]), button");
    if (field) field.focus({ preventScroll: true });
  }

  function close(panel) {
    panel.hidden = true;
    var link = openerOf(panel);
    if (!link) return;
    link.setAttribute("aria-expanded", "false");
    link.focus();
  }

  function fetchForm(link) {
    if (link.dataset.loading) return;
    link.dataset.loading = "1";
    var url = new URL(link.href, location.href);
    url.searchParams.set("part", "card");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var panel = Live.parse(html).getElementById(panelId(link));
        if (!panel) throw new Error("no form");
        if (!document.getElementById(panel.id)) link.closest(".content-actions").after(panel);
        show(link, document.getElementById(panel.id));
      })
      .catch(function () { Live.toast(Live.say("cannot_open"), "error"); })
      .then(function () { delete link.dataset.loading; });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#day a.opener");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    var panel = document.getElementById(panelId(link));
    if (!panel) fetchForm(link);
    else if (panel.hidden) show(link, panel);
    else close(panel);
  });

  // A form drawn open by the server (sent back with an error) has its link as a toggle too.
  Array.prototype.forEach.call(document.querySelectorAll("#day .card-form"), function (panel) {
    var link = openerOf(panel);
    if (link) link.setAttribute("aria-expanded", "true");
  });

  // "Keep it" under a question a form asks (withdraw?) folds the form away again.
  document.addEventListener("click", function (event) {
    var keep = event.target.closest && event.target.closest("#day .card-form [data-keep]");
    if (!keep || event.button !== 0) return;
    event.preventDefault();
    close(keep.closest(".card-form"));
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (button && button.parentNode) button.closest(".mod-notice").remove();
  });

  // A moment as the page's language says it (the words block names the locale).
  function untilText(until) {
    try {
      return new Date(until).toLocaleString(Live.say("date_locale"), {
        weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
        timeZone: timezone,
      });
    } catch (e) {
      return new Date(until).toLocaleString();
    }
  }

  // Muted: the posting forms rest and a calm note says until when; reading goes on.
  function setMuted(until) {
    clearTimeout(unmuteTimer);
    var left = until ? new Date(until).getTime() - Date.now() : 0;
    var muted = left > 0;
    day.dataset.mutedUntil = muted ? until : "";
    Array.prototype.forEach.call(document.querySelectorAll("[data-posting]"), function (part) {
      part.hidden = muted;
      Array.prototype.forEach.call(part.querySelectorAll("button, input, select, textarea"), function (c) {
        c.disabled = muted;
      });
    });
    if (muted) { // an open cheer or check-in rests closed; reporting stays
      Array.prototype.forEach.call(document.querySelectorAll(".card-form"), function (panel) {
        var link = openerOf(panel);
        if (link && link.hasAttribute("data-posting") && !panel.hidden) close(panel);
      });
    }
    var note = document.querySelector("[data-muted-note]");
    if (note) note.hidden = !muted;
    var label = document.querySelector("[data-muted-until-label]");
    if (label && muted) {
      label.textContent = untilText(until);
      label.setAttribute("datetime", until);
    }
    // The mute ends by itself: the forms come back then without a reload.
    if (muted) unmuteTimer = setTimeout(function () { setMuted(null); }, Math.min(left, 2147483647));
  }

  // Cards that arrive while muted come with their forms; they rest like the others.
  var observer = new MutationObserver(function () {
    if (day.dataset.mutedUntil) setMuted(day.dataset.mutedUntil);
  });
  observer.observe(document.getElementById("commitments") || day, { childList: true });

  if (day.dataset.mutedUntil) setMuted(day.dataset.mutedUntil);
})();
