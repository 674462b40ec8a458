// The console's own script (the CSP allows no inline script): every htmx request carries the session's CSRF
// token from the page's <meta name="csrf-token">, as forms carry it in a hidden field; and the live regions.
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

  // Live regions: <div id="…" data-live="escalation triage" data-live-src="/supervisor/escalations/list">.
  // The console's /live stream (server-sent events) says "a change of kind K happened"; each region listening
  // for K is re-read from its data-live-src as the signed-in person, and its inner HTML replaced. Changes are
  // gathered for GATHER_MS from the first one, never longer: a steady stream of events (a storm) still shows.
  // A lost stream reconnects, and every region is re-read once then, so nothing that happened meanwhile is missed.
  // The page's <html> carries data-live-state (connecting, open, lost) for people's tools and the browser tests;
  // each region counts its updates in data-live-version.
  var GATHER_MS = 300;
  var RETRY_MAX_MS = 30000;
  var regions = [];
  var source = null;
  var retryMs = 1000;
  var hadStream = false;

  function kindsOf(region) {
    return (region.getAttribute("data-live") || "").split(/\s+/).filter(Boolean);
  }

  function setState(state) {
    document.documentElement.setAttribute("data-live-state", state);
  }

  // A region the person is typing in, or holding a choice not yet sent (a category picked in the triage queue), is
  // not replaced under their hands: it is re-read once focus leaves it or the choice is sent or undone.
  function busy(region) {
    var active = document.activeElement;
    if (active && region.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
      return true;
    }
    return Array.prototype.some.call(region.querySelectorAll("form"), function (form) {
      return !form._liveSent && Array.prototype.some.call(form.elements, changed);
    });
  }

  function changed(field) {
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (/^(INPUT|TEXTAREA)$/.test(field.tagName) && field.type !== "hidden") {
      return field.value !== field.defaultValue;
    }
    return false;
  }

  function rereadPending() {
    setTimeout(function () {
      regions.forEach(function (region) {
        if (region.getAttribute("data-live-pending") === "true" && !busy(region)) {
          schedule(region);
        }
      });
    }, 0);
  }

  function refetch(region) {
    var src = region.getAttribute("data-live-src");
    if (!src) {
      return;
    }
    if (busy(region)) {
      region.setAttribute("data-live-pending", "true");
      return;
    }
    // Two re-reads can be in flight at once (a change came while the first was under way), and their answers can
    // come back in either order: only the latest one asked is shown, or an older answer would overwrite a newer
    // one and stay (the surge drill once stopped at 28 of 30 complaints).
    var seq = (region._liveSeq || 0) + 1;
    region._liveSeq = seq;
    fetch(src, { headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (seq !== region._liveSeq) {
          return null; // a later re-read was asked: its answer is the newer one
        }
        var redirect = response.headers.get("HX-Redirect");
        if (redirect) {
          window.location.assign(redirect);
          return null;
        }
        if (!response.ok) {
          region.setAttribute("data-live-error", String(response.status));
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null || html === undefined || seq !== region._liveSeq) {
          return;
        }
        if (busy(region)) {
          region.setAttribute("data-live-pending", "true");
          return;
        }
        region.innerHTML = html;
        region.removeAttribute("data-live-error");
        region.removeAttribute("data-live-pending");
        var version = parseInt(region.getAttribute("data-live-version") || "0", 10) + 1;
        region.setAttribute("data-live-version", String(version));
        if (window.htmx) {
          window.htmx.process(region);
        }
        region.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
      })
      .catch(function () {
        region.setAttribute("data-live-error", "network");
      });
  }

  function schedule(region) {
    if (region._liveTimer) {
      return; // a re-read is already due, within GATHER_MS: it will show this change too
    }
    region._liveTimer = setTimeout(function () {
      region._liveTimer = null;
      refetch(region);
    }, GATHER_MS);
  }

  function onChange(event) {
    var notice;
    try {
      notice = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    var kinds = notice.kinds || [];
    regions.forEach(function (region) {
      if (kindsOf(region).some(function (kind) { return kinds.indexOf(kind) >= 0; })) {
        schedule(region);
      }
    });
  }

  function everyRegion() {
    regions.forEach(schedule);
  }

  function connect() {
    setState("connecting");
    source = new EventSource("/live");
    source.addEventListener("open", function () {
      setState("open");
      retryMs = 1000;
      if (hadStream) {
        everyRegion(); // what changed while the stream was away
      }
      hadStream = true;
    });
    source.addEventListener("change", onChange);
    source.addEventListener("resync", everyRegion);
    source.addEventListener("error", function () {
      setState("lost");
      if (source.readyState === EventSource.CLOSED) {
        // Refused (signed out, a replica at its limit): the browser will not retry by itself.
        source = null;
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
      hadStream = true;
    });
  }

  function start() {
    regions = Array.prototype.slice.call(document.querySelectorAll("[data-live][data-live-src]"));
    if (!regions.length || !window.EventSource) {
      return;
    }
    document.addEventListener("focusout", rereadPending);
    document.addEventListener("change", rereadPending); // a choice undone
    document.addEventListener(
      "submit",
      function (event) {
        event.target._liveSent = true; // what it held is the server's now
        rereadPending();
      },
      true
    );
    document.addEventListener("htmx:beforeRequest", function (event) {
      var form = event.detail && event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
      if (form) {
        form._liveSent = true;
      }
    });
    document.addEventListener("htmx:afterRequest", rereadPending);
    window.addEventListener("pagehide", function () {
      if (source) {
        source.close();
      }
    });
    connect();
  }

  // Clocks on a page: [data-countdown-to="<ISO time>"] shows m:ss left (then its data-overdue-label and the time
  // past), [data-countup-from="<ISO time>"] the m:ss since; the server renders the same at load, so without script
  // the figures are simply those of the last load.
  function mss(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var rest = s % 60;
    return Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-countdown-to")) - now) / 1000;
      if (isNaN(left)) {
        return;
      }
      el.textContent = left >= 0 ? mss(left) : (el.getAttribute("data-overdue-label") || "-") + " " + mss(-left);
    });
    document.querySelectorAll("[data-countup-from]").forEach(function (el) {
      var since = (now - Date.parse(el.getAttribute("data-countup-from"))) / 1000;
      if (!isNaN(since)) {
        el.textContent = mss(since);
      }
    });
  }

  function startClocks() {
    if (document.querySelector("[data-countdown-to], [data-countup-from], [data-live]")) {
      setInterval(tick, 1000);
    }
  }

  function startAll() {
    start();
    startClocks();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
