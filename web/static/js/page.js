// Every page: after a form is posted, what came of it is said where the eye is. An error is
// brought into view and focused; a confirmation is placed beside the thing it is about (the
// page's #anchor, where the browser has scrolled) and focused, not left above the screen. A
// form opened on a page of its own has its first field focused. And the service worker that
// makes Cairn an installable app is registered.
(function () {
  "use strict";

  // Cairn as an app: the service worker (/sw.js) keeps the shell and an offline page. It is
  // registered once the page has loaded, so it never slows the page down.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" })
        .catch(function () { /* Cairn works the same without it */ });
    });
  }

  // The offline page: "Try again" loads the page that could not be reached.
  var retry = document.querySelector("[data-offline-retry]");
  if (retry) {
    retry.hidden = false;
    retry.addEventListener("click", function () { location.reload(); });
  }
})();

(function () {
  "use strict";

  // Once the page has loaded: the browser's own scroll to the #anchor comes before then.
  function reveal(node) {
    if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
    function show() {
      node.scrollIntoView({ block: "center" });
      node.focus({ preventScroll: true });
    }
    if (document.readyState === "complete") show();
    else window.addEventListener("load", show);
  }

  var error = document.querySelector("main .form-error:not([hidden])");
  if (error) {
    reveal(error);
    return;
  }
  // A form opened by its link (a card's page): its first field, ready to type in.
  var opened = document.querySelector("main .card-form");
  if (opened) {
    var field = opened.querySelector("textarea, select, input:not([type=hidden])");
    if (field) reveal(field);
    return;
  }
  var flash = document.getElementById("flash");
  if (!flash) return;
  var anchor = location.hash.length > 1 && location.hash !== "#support"
    ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  if (anchor && !anchor.contains(flash)) {
    flash.classList.add("flash-beside");
    anchor.parentNode.insertBefore(flash, anchor);
  }
  if (location.hash !== "#support") reveal(flash);
})();

// The words this file says, in the page's language: each part that needs some brings them in
// a data block (script[data-page-words], _macros.html). "{name}" in a word is a value put in.
window.CairnPageWords = (function () {
  "use strict";
  var words = {};
  Array.prototype.forEach.call(document.querySelectorAll("script[data-page-words]"), function (node) {
    try {
      var found = JSON.parse(node.textContent) || {};
      Object.keys(found).forEach(function (key) { words[key] = found[key]; });
    } catch (e) { /* a block that cannot be read says nothing */ }
  });
  return function (key, values) {
    var text = words[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  };
})();

// A zone field (the _macros.html timezone_select): the search box narrows the list to the
// zones whose name or region has what was typed, choosing the first of them when the one
// chosen is not among them; an empty box shows them all again. On sign-up the field starts
// at the zone this device is in, when the list has it (browsers may say an old name of it).
(function () {
  "use strict";

  var say = window.CairnPageWords;

  function words(text) {
    return text.toLowerCase().replace(/[_/\s-]+/g, " ").trim();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-zone-field]"), function (field) {
    var select = field.querySelector("select");
    var find = field.querySelector("[data-zone-find]");
    var box = find.querySelector("input");
    var found = document.getElementById(select.id + "-found");
    // Every option as the server listed it: [group label or null, option element].
    var all = [];
    Array.prototype.forEach.call(select.children, function (child) {
      if (child.tagName === "OPTGROUP") {
        Array.prototype.forEach.call(child.children, function (option) { all.push([child.label, option]); });
      } else {
        all.push([null, child]);
      }
    });

    if (select.hasAttribute("data-zone-detect")) {
      var here = "";
      try { here = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { here = ""; }
      var aliases = {};
      try { aliases = JSON.parse(select.getAttribute("data-zone-aliases") || "{}"); } catch (e) { aliases = {}; }
      var name = all.some(function (entry) { return entry[1].value === here; }) ? here : aliases[here];
      if (name && name !== select.value && all.some(function (entry) { return entry[1].value === name; })) {
        select.value = name;
        found.textContent = say("zone_chosen", { zone: name });
      }
    }

    function show(query) {
      var chosen = select.value;
      var wanted = words(query);
      var matches = wanted ? all.filter(function (entry) {
        return words((entry[0] || "") + " " + entry[1].value + " " + entry[1].text).indexOf(wanted) !== -1;
      }) : all;
      var shown = matches.length ? matches : all;
      select.textContent = "";
      var group = null;
      shown.forEach(function (entry) {
        if (entry[0] === null) {
          group = null;
          select.appendChild(entry[1]);
          return;
        }
        if (!group || group.label !== entry[0]) {
          group = document.createElement("optgroup");
          group.label = entry[0];
          select.appendChild(group);
        }
        group.appendChild(entry[1]);
      });
      var keep = shown.some(function (entry) { return entry[1].value === chosen; });
      select.value = keep ? chosen : shown[0][1].value;
      if (!wanted) found.textContent = "";
      else if (!matches.length) found.textContent = say("zone_none", { query: query.trim() });
      else found.textContent = matches.length === 1 ? say("zone_one", { zone: shown[0][1].value })
        : say("zone_many", { count: matches.length });
    }

    box.addEventListener("input", function () { show(box.value); });
    // Enter in the box would send the form before the zone is looked at.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); select.focus(); }
    });
    find.hidden = false;
  });
})();

// A copy button (data-copy="id of the field to copy"): the field's text goes to the
// clipboard, and the status beside it (data-copy-status) says so. Where the clipboard cannot
// be written, the text is selected for the person to copy themselves.
(function () {
  "use strict";

  var say = window.CairnPageWords;
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!field) return;

    function selectIt(message) {
      field.focus();
      field.select();
      status.textContent = message;
    }

    button.addEventListener("click", function () {
      status.textContent = "";
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        selectIt(say("copy_yourself"));
        return;
      }
      navigator.clipboard.writeText(field.value).then(function () {
        status.textContent = say("copied");
      }, function () {
        selectIt(say("copy_yourself"));
      });
    });
    button.hidden = false;
  });
})();
