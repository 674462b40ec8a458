"""The console's words, Chinese by default and English on request: every string a page shows is a key of
`translations.toml` or of a screen group's own file in `translations/` (supervisor, duty, leadership, ...), each
with a `[zh]` and an `[en]` table of the same keys (a test holds them equal). A key defined in two files is an
error, so one group's word never silently replaces another's.

Why a file of our own and not gettext: two languages, a few hundred strings, edited by the utility's staff, and
every key checked for both languages in a unit test.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

TRANSLATIONS = Path(__file__).with_name("translations.toml")
#: One file per screen group, so each group's words are edited apart from the others'.
MORE_TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
#: The `lang` attribute of a page in each language.
HTML_LANG = {"zh": "zh-CN", "en": "en"}
#: The `ui_locales` sent to the identity provider in each language, so its sign-in page speaks the person's
#: language (the demo realm's `supportedLocales`: zh-CN and en).
UI_LOCALES = {"zh": "zh-CN", "en": "en"}


@cache
def catalogue(path: Path = TRANSLATIONS, more: Path = MORE_TRANSLATIONS) -> dict[str, dict[str, str]]:
    """{language: {key: text}} of the main file and every `translations/*.toml`; read once."""
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for source in (path, *sorted(more.glob("*.toml"))):
        with source.open("rb") as handle:
            data = tomllib.load(handle)
        for lang in LANGUAGES:
            strings = {k: str(v) for k, v in data.get(lang, {}).items()}
            twice = sorted(set(strings) & set(merged[lang]))
            if twice:
                raise ValueError(f"{source.name}: keys already defined in another translations file: {twice}")
            merged[lang].update(strings)
    return merged


def chosen_language(query: str | None, cookie: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


class Translator:
    """`t("key", name=...)` in one language; an unknown key shows itself (and a test catches it)."""

    def __init__(self, lang: str, timezone: ZoneInfo) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._strings = catalogue()[self.lang]
        self._timezone = timezone

    def __call__(self, key: str, **params: object) -> str:
        text = self._strings.get(key)
        if text is None:
            return key
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self._strings

    def label(self, kind: str, value: object) -> str:
        """A code's label (`category.heating_temperature`), or the code itself when it has none yet."""
        if not value and value != 0:
            return "—"
        key = f"{kind}.{value}"
        return self(key) if key in self._strings else str(value)

    def when(self, value: str | datetime | None, *, date_only: bool = False) -> str:
        """A time in the utility's zone, as people there read it."""
        if not value or not isinstance(value, str | datetime):
            return "—"  # absent, or a field the service did not send (a template's undefined)
        if isinstance(value, str):
            given = value
            try:
                value = datetime.fromisoformat(given)
            except ValueError:
                return given
        if value.tzinfo is not None:
            value = value.astimezone(self._timezone)
        return value.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")

    def local_input(self, value: str | datetime | None) -> str:
        """A time as a `datetime-local` field's value (the utility's zone)."""
        if not value or not isinstance(value, str | datetime):
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return ""
        if value.tzinfo is not None:
            value = value.astimezone(self._timezone)
        return value.strftime("%Y-%m-%dT%H:%M")
