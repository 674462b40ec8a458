"""When a row first showed on an open page, by the page's own clock: the drills' proof that a live region updated
within issue 24's 2 seconds, without a reload.

Why in the page: the test's thread is busy stepping another person's browser while the row arrives, so only the
page can say when it came. A MutationObserver notes the wall-clock time (`Date.now()`, the same machine's clock as
the test's `time.time()`) at which each element matching a selector first appears; a reload would wipe the notes,
so a time read back is also proof that the page was not reloaded.
"""

from __future__ import annotations

from playwright.sync_api import Page

_WATCH = """([selector, key]) => {
  const seen = (window.__liveSeen = window.__liveSeen || {});
  const note = () => document.querySelectorAll(selector).forEach((el) => {
    const id = el.getAttribute(key);
    if (id && !(id in seen)) seen[id] = Date.now();
  });
  note();
  new MutationObserver(note).observe(document.body, { childList: true, subtree: true });
}"""


def watch(page: Page, selector: str, key: str) -> None:
    """From now on, note when each `selector` element (told apart by its attribute `key`) first shows."""
    page.evaluate(_WATCH, [selector, key])


def shown_at(page: Page, key_value: str) -> float:
    """When the element whose key is `key_value` first showed (epoch seconds); fails when the page has no note of
    it — it never showed, or the page was reloaded since `watch`."""
    at = page.evaluate("(id) => (window.__liveSeen || {})[id]", key_value)
    assert at is not None, f"{key_value} never showed on the watched page, or the page was reloaded"
    return float(at) / 1000.0
