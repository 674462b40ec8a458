"""Where photos' bytes are kept, behind one small interface: put, get, delete by key.

`LocalPhotoStorage` keeps them in the data folder (`make run`, a single host); `S3PhotoStorage` in an S3-compatible
bucket (production: several replicas share it). The database keeps each photo's row (type, size, checksum, who, when,
key); the storage only the bytes, so either can be swapped without touching the work orders.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from services.dispatch.photos import sigv4

_KEY = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*$")


class PhotoStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; KeyError when there are none."""

    async def delete(self, key: str) -> None:
        """Remove `key` (nothing when it is not there)."""


def photo_key(work_order_id: uuid.UUID, photo_id: uuid.UUID) -> str:
    """Where a photo is kept: our ids only, never a file name the client chose."""
    return f"work-orders/{work_order_id}/{photo_id}"


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalPhotoStorage:
    """Files under `root` (e.g. `.data/photos`), written to a temporary name and renamed, so a half-written photo is
    never served. File I/O runs in a thread: a 5 MiB write must not stall the event loop."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        partial.write_bytes(data)
        os.replace(partial, path)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise KeyError(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


class S3PhotoStorage:
    """One bucket of S3-compatible storage, addressed path-style (`<endpoint>/<bucket>/<key>`, which MinIO, Ceph and
    AWS all accept), every request signed with SigV4 (sigv4.py)."""

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).netloc
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.prefix = prefix.strip("/")
        self._http = http or httpx.AsyncClient(timeout=30.0)

    def _path(self, key: str) -> str:
        full = f"{self.prefix}/{_checked(key)}" if self.prefix else _checked(key)
        return "/" + sigv4.uri_encode(f"{self.bucket}/{full}", keep_slash=True)

    async def _send(
        self, method: str, key: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        path, digest = self._path(key), sigv4.payload_hash(body)
        headers = sigv4.sign(
            method=method,
            path=path,
            headers={"host": self.host, "x-amz-content-sha256": digest, **(extra or {})},
            payload=digest,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
        )
        return await self._http.request(method, f"{self.endpoint}{path}", headers=headers, content=body)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        response = await self._send("PUT", key, data, {"content-type": content_type})
        response.raise_for_status()

    async def get(self, key: str) -> bytes:
        response = await self._send("GET", key)
        if response.status_code == 404:
            raise KeyError(key)
        response.raise_for_status()
        return response.content

    async def delete(self, key: str) -> None:
        response = await self._send("DELETE", key)
        if response.status_code != 404:
            response.raise_for_status()


def photo_storage(
    kind: str,
    *,
    directory: str | Path,
    endpoint: str | None = None,
    bucket: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str = "us-east-1",
    prefix: str = "",
) -> PhotoStorage:
    """The storage the settings name: `local` (a folder) or `s3` (endpoint, bucket and keys required)."""
    if kind == "s3":
        if not (endpoint and bucket and access_key and secret_key):
            raise ValueError("S3 photo storage needs an endpoint, a bucket, an access key and a secret key")
        return S3PhotoStorage(
            endpoint=endpoint,
            bucket=bucket,
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            prefix=prefix,
        )
    return LocalPhotoStorage(directory)
