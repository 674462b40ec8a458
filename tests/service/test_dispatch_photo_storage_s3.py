"""`S3PhotoStorage` against a running S3-compatible server, not only against AWS's published signature vectors.

The server is a **stand-in**: moto's `ThreadedMotoServer` (moto[server], dev extras), which speaks the S3 REST protocol
over real HTTP on 127.0.0.1 and a free port. It is not AWS, MinIO or Ceph; what it proves is that our own small SigV4
(photos/sigv4.py), path-style addressing (`<endpoint>/<bucket>/<prefix>/<key>`), payload hash header and content type
are accepted by an independent implementation of the protocol, with the storage built from DispatchSettings exactly as
bootstrap builds it from the DISPATCH_S3_* variables an operator sets.

Does moto check signatures? Yes, once its IAM simulation is switched on (`INITIAL_NO_AUTH_ACTION_COUNT`, here set to 0
through the server's own `/moto-api/reset-auth` after the bucket and the access key exist): it looks the access key up
among its IAM users, recomputes the SigV4 signature with botocore's `S3SigV4Auth` from the secret it issued, and
answers 403 `SignatureDoesNotMatch` when they differ; then it evaluates the user's policy. So the wrong-secret case
below is a real refusal, not an assumption. What moto does not check: that the body matches `x-amz-content-sha256`
(it signs over the header's value, as S3 does, but never hashes the body itself).

One difference from AWS worth knowing (not reproducible here): AWS answers a missing key with 403, not 404, when the
caller may not `s3:ListBucket`; the access key's policy below grants it, as production's must, so that a missing photo
is reported as missing (KeyError → the API's 404) rather than as a refused request.
"""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from services.dispatch.photos import S3PhotoStorage, check_photo, photo_storage
from services.dispatch.photos.storage import PhotoStorage, photo_key
from services.dispatch.settings import DispatchSettings

REGION = "eu-central-1"
BUCKET = "city-crew-photos"


def _png(width: int = 32, height: int = 32) -> bytes:
    """A real PNG (RGB, every byte value present in its pixels), so 'byte for byte' means something."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + bytes((x * 7 + y * 13 + c) % 256 for x in range(width) for c in range(3)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = _png()


@dataclass(frozen=True)
class StandIn:
    endpoint: str
    access_key_id: str
    secret_access_key: str


@pytest.fixture(scope="module")
def s3() -> Iterator[StandIn]:
    """moto on a free port with one bucket and one IAM user whose key may use it; signatures checked from here on."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        # Set-up runs before the IAM simulation is on, so these credentials are never checked.
        setup = {
            "endpoint_url": endpoint,
            "region_name": REGION,
            "aws_access_key_id": "x",
            "aws_secret_access_key": "x",
        }
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="dispatch")
        key = iam.create_access_key(UserName="dispatch")["AccessKey"]
        objects = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        statements = [
            {"Effect": "Allow", "Action": objects, "Resource": f"arn:aws:s3:::{BUCKET}/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        ]
        iam.put_user_policy(
            UserName="dispatch",
            PolicyName="crew-photos",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        boto3.client("s3", **setup).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
        yield StandIn(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        # moto's auth switch and its backends are process-wide: leave them as found.
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf")
        httpx.post(f"{endpoint}/moto-api/reset")
        server.stop()


def _storage(monkeypatch: pytest.MonkeyPatch, s3: StandIn, *, secret: str | None = None) -> PhotoStorage:
    """The storage bootstrap would build from an operator's DISPATCH_* environment."""
    environment = {
        "DISPATCH_PHOTO_STORAGE": "s3",
        "DISPATCH_S3_ENDPOINT": s3.endpoint,
        "DISPATCH_S3_BUCKET": BUCKET,
        "DISPATCH_S3_REGION": REGION,
        "DISPATCH_S3_ACCESS_KEY_ID": s3.access_key_id,
        "DISPATCH_S3_SECRET_ACCESS_KEY": secret or s3.secret_access_key,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = DispatchSettings()
    storage = photo_storage(
        settings.dispatch_photo_storage,
        directory=settings.photo_dir,
        endpoint=settings.dispatch_s3_endpoint,
        bucket=settings.dispatch_s3_bucket,
        access_key=settings.dispatch_s3_access_key_id,
        secret_key=settings.dispatch_s3_secret_access_key,
        region=settings.dispatch_s3_region,
        prefix=settings.dispatch_s3_prefix,
    )
    assert isinstance(storage, S3PhotoStorage)
    return storage


async def _head(s3: StandIn, key: str) -> dict:
    """The object as another S3 client (boto3, same key) sees it: where it landed and its stored headers."""
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name=REGION,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    )
    return await asyncio.to_thread(client.head_object, Bucket=BUCKET, Key=key)


async def test_a_photo_is_stored_and_read_back_byte_for_byte_with_its_type(
    monkeypatch: pytest.MonkeyPatch, s3: StandIn
) -> None:
    assert check_photo(PNG, 1 << 20) == "image/png", "the photo is one the API would accept"
    storage = _storage(monkeypatch, s3)
    key = photo_key(uuid.uuid4(), uuid.uuid4())

    await storage.put(key, PNG, "image/png")

    assert await storage.get(key) == PNG
    stored = await _head(s3, f"dispatch/{key}")  # DISPATCH_S3_PREFIX's default, path-style under the bucket
    assert stored["ContentType"] == "image/png"
    assert stored["ContentLength"] == len(PNG)


async def test_a_missing_photo_is_reported_missing(monkeypatch: pytest.MonkeyPatch, s3: StandIn) -> None:
    """KeyError is what views.photo turns into 404 'no longer in the photo storage'; delete of nothing is quiet."""
    storage = _storage(monkeypatch, s3)
    never_stored = photo_key(uuid.uuid4(), uuid.uuid4())
    with pytest.raises(KeyError):
        await storage.get(never_stored)
    await storage.delete(never_stored)

    deleted = photo_key(uuid.uuid4(), uuid.uuid4())
    await storage.put(deleted, PNG, "image/png")
    await storage.delete(deleted)
    with pytest.raises(KeyError):
        await storage.get(deleted)


async def test_a_wrong_secret_key_is_refused_not_taken_for_a_missing_photo(
    monkeypatch: pytest.MonkeyPatch, s3: StandIn
) -> None:
    key = photo_key(uuid.uuid4(), uuid.uuid4())
    await _storage(monkeypatch, s3).put(key, PNG, "image/png")
    forged = _storage(monkeypatch, s3, secret="not-the-secret-moto-issued")

    with pytest.raises(httpx.HTTPStatusError) as refused_write:
        await forged.put(key, b"\x89PNG\r\n\x1a\n overwritten", "image/png")
    assert refused_write.value.response.status_code == 403
    assert "SignatureDoesNotMatch" in refused_write.value.response.text

    with pytest.raises(httpx.HTTPStatusError) as refused_read:  # not KeyError: the photo is there, the key is wrong
        await forged.get(key)
    assert refused_read.value.response.status_code == 403

    assert await _storage(monkeypatch, s3).get(key) == PNG, "the refused write changed nothing"
