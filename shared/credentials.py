"""Machine credentials: constant-time lookup of a presented API key or bearer token among the configured ones,
configured in clear or as a hash (`sha256:<64 hex>`), and the rules a production key must pass.

Why hashes: a deployment's secret store (compose's `.env`, the Kubernetes Secret) then holds nothing a thief can
present; `python -m shared.credentials` prints the hash of a new key after checking its strength. Clear keys are
compared by their hash too, so both forms go through the same constant-time loop.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import sys
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")
HASH_PREFIX = "sha256:"
_HASHED = re.compile(r"^sha256:[0-9a-f]{64}$")
#: Every development key of the platform carries it (`dev-only-web-key`, …): refused outside dev by its value.
DEV_MARKER = "dev-only"
#: The placeholders the READMEs and deploy examples print (`<32+ random chars>`, `<token>`, `change-me…`).
_PLACEHOLDER = re.compile(r"[<>]|change-?me|placeholder|example|secret-here", re.IGNORECASE)
MIN_LENGTH = 16
#: Estimated bits (length × the characters' Shannon entropy) a production key needs: `secrets.token_urlsafe(32)`
#: scores about 200, a 32-character hex key about 120; `"k" * 32` scores 0 and `"password12345678"` about 55.
MIN_ENTROPY_BITS = 64.0


def is_hashed(configured: str) -> bool:
    return bool(_HASHED.match(configured))


@lru_cache(maxsize=1024)
def _digest_of_configured(configured: str) -> bytes:
    if is_hashed(configured):
        return bytes.fromhex(configured.removeprefix(HASH_PREFIX))
    return hashlib.sha256(configured.encode()).digest()


def hashed(key: str) -> str:
    """The form to configure instead of the key itself."""
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def match_token(presented: str, known: Mapping[str, T]) -> T | None:
    """The value configured for `presented`, comparing against every token so timing reveals nothing."""
    digest = hashlib.sha256(presented.encode()).digest()
    found: T | None = None
    for token, value in known.items():
        if hmac.compare_digest(_digest_of_configured(token), digest):
            found = value
    return found


def entropy_bits(value: str) -> float:
    """A rough strength estimate: the length times the Shannon entropy of the value's own characters."""
    if not value:
        return 0.0
    counts = Counter(value).values()
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return per_char * len(value)


def weakness(value: str) -> str | None:
    """Why this value must not be a production key (a development value, a placeholder, too short or too
    predictable), or None. A hashed key was checked when it was made (`python -m shared.credentials`)."""
    if is_hashed(value):
        return None
    if DEV_MARKER in value:
        return "a development key"
    if _PLACEHOLDER.search(value):
        return "a placeholder"
    if len(value) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if entropy_bits(value) < MIN_ENTROPY_BITS:
        return "too little entropy"
    return None


def main(argv: list[str]) -> int:
    """`python -m shared.credentials <key>`: the hash to configure, after the key passed the production rules."""
    if len(argv) != 1:
        print(
            "usage: python -m shared.credentials <key>   (make one: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')",
            file=sys.stderr,
        )
        return 2
    reason = weakness(argv[0])
    if reason is not None:
        print(f"refused: {reason}", file=sys.stderr)
        return 1
    print(hashed(argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
