"""Constant-time lookup of a presented API key or bearer token among configured ones."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def match_token(presented: str, known: Mapping[str, T]) -> T | None:
    """The value configured for `presented`, comparing against every token so timing reveals nothing."""
    found: T | None = None
    for token, value in known.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = value
    return found
