"""Crypto-shredding: a customer's contact fields sealed with the customer's own key.

Kafka keeps every copy of an event (the topic, its dead letters, what an operator replayed), and no copy can be
edited. So contact data leaves its owner (intake) only sealed with a key per customer, and erasing the customer
deletes the key (`services/intake`, `intake.subject_keys`): every copy, wherever it is, is then ciphertext nobody
can open. AES-256-GCM, a fresh 96-bit nonce per seal, the customer id as associated data (a sealed blob moved onto
another customer does not open).
"""

from __future__ import annotations

import base64
import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts.complaint import SealedContact

__all__ = ["KEY_BYTES", "SealedContact", "Unsealable", "new_key", "open_sealed", "seal"]

KEY_BYTES = 32
_NONCE_BYTES = 12


class Unsealable(ValueError):
    """The blob does not open with this key: tampered with, or sealed for another customer."""


def new_key() -> bytes:
    """A fresh random customer key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, customer_id: uuid.UUID, fields: dict[str, str | None]) -> SealedContact:
    """The fields (JSON) sealed for this customer."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    cipher = AESGCM(key).encrypt(nonce, plain, customer_id.bytes)
    return SealedContact(
        customer_id=customer_id,
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(cipher).decode(),
    )


def open_sealed(key: bytes, sealed: SealedContact) -> dict[str, str | None]:
    """The fields a `seal` sealed; `Unsealable` when the key or the customer is not the one it was sealed with."""
    try:
        plain = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), sealed.customer_id.bytes
        )
    except (InvalidTag, ValueError) as exc:
        raise Unsealable(f"sealed contact of customer {sealed.customer_id} does not open") from exc
    fields = json.loads(plain)
    return {str(k): (None if v is None else str(v)) for k, v in fields.items()}
