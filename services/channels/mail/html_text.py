"""HTML mail bodies to plain text, with the standard library's parser (no browser engine for a complaint text).

Block elements become line breaks, `<br>` a newline, scripts and styles vanish, entities are decoded; runs of blank
lines collapse, so a staff member reads the customer's words, not the mail client's layout. A `<blockquote>` (how
HTML mail clients quote the message answered) becomes `> ` lines, as in a plain-text reply, so the quoted original
can be cut from a reply the same way.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "pre"}
)
_HIDDEN = frozenset({"script", "style", "head", "title"})
_QUOTE_START, _QUOTE_END = "\n\x01", "\x02\n"


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "blockquote":
            self.parts.append(_QUOTE_START)
        elif tag in _BLOCKS or tag == "td":
            self.parts.append("\n" if tag in _BLOCKS else " ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag == "blockquote":
            self.parts.append(_QUOTE_END)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    text = "".join(collector.parts).replace("\xa0", " ")
    lines, depth = [], 0
    for line in text.split("\n"):
        depth += line.count("\x01")
        cleaned = re.sub(r"[ \t]+", " ", line.replace("\x01", "").replace("\x02", "")).strip()
        if cleaned or not depth:
            lines.append("> " * depth + cleaned if depth else cleaned)
        depth = max(depth - line.count("\x02"), 0)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
