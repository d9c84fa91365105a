// The group's day, live: the shared core (live.js) keeps the socket and swaps in what the
// server renders; this file adds what is the page's own: cheers sent over the socket (with
// help shown at once if the sender's words call for it), muting, and dismissing notices.
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
    status: document.getElementById("live-status"),
    onFrame: onFrame,
  });

  function onFrame(frame) {
    if (frame.type === "event") {
      var data = frame.data || {};
      if (data.user_id === me && frame.kind === "member.muted") setMuted(data.until);
      if (data.user_id === me && frame.kind === "member.unmuted") setMuted(null);
      if (frame.kind === "commitment.created" && frame.html) markNew(data.commitment_id);
    } else if (frame.type === "ack" || frame.type === "error") {
      var form = sending[frame.ref];
      if (!form) return;
      delete sending[frame.ref];
      var button = form.querySelector("button");
      if (button) button.disabled = false;
      if (frame.type === "error") return; // the core has said why
      Live.toast(Live.say("sent"), "sent");
      form.reset();
      var details = form.closest("details");
      if (details) details.open = false;
      var help = document.getElementById("support");
      if (frame.support && help) { // in view and focused, as when it comes with the next page
        help.scrollIntoView({ block: "start" });
        help.focus({ preventScroll: true });
      }
    }
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
      type: "encourage", ref: ref, kind: form.elements.kind && form.elements.kind.value,
      commitment_id: Number(form.elements.commitment_id.value),
    };
    if (text) command.text = text;
    if (!live.send(command)) return;
    event.preventDefault();
    sending[ref] = form;
    var button = form.querySelector("button");
    if (button) button.disabled = true;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (button && button.parentNode) button.closest(".mod-notice").remove();
  });

  function untilText(until) {
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
