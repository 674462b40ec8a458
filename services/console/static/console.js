// The console's own script (the CSP allows no inline script): every htmx request carries the session's CSRF
// token from the page's <meta name="csrf-token">, as forms carry it in a hidden field.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });
  // After a swap, move keyboard focus to a message the server asked to announce (errors, results).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "messages") {
      target.focus();
    }
  });
})();
