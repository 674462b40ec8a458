"""AWS Signature Version 4 for S3-compatible storage (AWS S3, MinIO, Ceph RGW, OSS/COS in S3 mode), small enough to
read: canonical request → string to sign → HMAC chain → `Authorization` header.

Written here rather than pulling in boto3 (and botocore's 15 MB) for three calls: PUT, GET and DELETE of one object.
Checked against AWS's published test vectors (tests/unit/dispatch/test_photos.py: the Signature V4 test suite's
get-vanilla cases and the S3 documentation's GET and PUT object examples).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_PAYLOAD = hashlib.sha256(b"").hexdigest()


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def uri_encode(value: str, *, keep_slash: bool) -> str:
    """RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else is %XX (upper-case)."""
    return quote(value, safe="-_.~/" if keep_slash else "-_.~")


def canonical_query(query: Mapping[str, str]) -> str:
    pairs = sorted((uri_encode(k, keep_slash=False), uri_encode(v, keep_slash=False)) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret_key}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(
    *,
    method: str,
    path: str,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str],
    payload: str,
    access_key: str,
    secret_key: str,
    region: str,
    service: str = "s3",
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send: the caller's (which must include `host`) plus `x-amz-date` and `Authorization`.

    `path` is already URI-encoded (each key segment with `uri_encode`); `payload` is the body's SHA-256 in hex
    (S3 also wants it sent as `x-amz-content-sha256`, which the caller includes in `headers` so it is signed)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date, date = at.strftime("%Y%m%dT%H%M%SZ"), at.strftime("%Y%m%d")
    signed_headers = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed_headers["x-amz-date"] = amz_date
    names = sorted(signed_headers)
    canonical = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query or {}),
            "".join(f"{n}:{signed_headers[n]}\n" for n in names),
            ";".join(names),
            payload,
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {**dict(headers), "x-amz-date": amz_date, "Authorization": authorization}
