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
