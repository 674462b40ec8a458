"""Photos: only real images (by their bytes), within the limit; kept in a folder or S3-compatible storage, whose
requests are signed with SigV4 exactly as AWS's published examples are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.dispatch.photos import LocalPhotoStorage, NotAnImage, PhotoTooLarge, S3PhotoStorage, check_photo, sigv4
from services.dispatch.photos.storage import photo_key

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


@pytest.mark.parametrize(("data", "content_type"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_an_image_is_known_by_its_bytes(data: bytes, content_type: str) -> None:
    assert check_photo(data, 1024) == content_type


@pytest.mark.parametrize(
    "data", [b"just text, named photo.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a"]
)
def test_anything_else_is_not_an_image(data: bytes) -> None:
    with pytest.raises(NotAnImage):
        check_photo(data, 1024)


def test_a_photo_over_the_limit_is_refused() -> None:
    with pytest.raises(PhotoTooLarge):
        check_photo(PNG + b"\x00" * 1024, 1024)


# --- SigV4: AWS's published vectors --------------------------------------------------------------------------

SUITE = {"access_key": "AKIDEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "region": "us-east-1"}
SUITE_AT = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
S3_DOCS = {
    "access_key": "AKIAIOSFODNN7EXAMPLE",
    "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "region": "us-east-1",
}
S3_AT = datetime(2013, 5, 24, tzinfo=UTC)
S3_HOST = "examplebucket.s3.amazonaws.com"


def _signature(headers: dict[str, str]) -> str:
    return headers["Authorization"].rsplit("Signature=", 1)[1]


def test_sigv4_suite_get_vanilla() -> None:
    headers = sigv4.sign(
        method="GET",
        path="/",
        headers={"host": "example.amazonaws.com"},
        payload=sigv4.EMPTY_PAYLOAD,
        service="service",
        now=SUITE_AT,
        **SUITE,
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
    assert headers["x-amz-date"] == "20150830T123600Z"


def test_sigv4_suite_get_vanilla_query_order_key_case() -> None:
    headers = sigv4.sign(
        method="GET",
        path="/",
        query={"Param2": "value2", "Param1": "value1"},
        headers={"host": "example.amazonaws.com"},
        payload=sigv4.EMPTY_PAYLOAD,
        service="service",
        now=SUITE_AT,
        **SUITE,
    )
    assert _signature(headers) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"


def test_sigv4_s3_get_object_example() -> None:
    headers = sigv4.sign(
        method="GET",
        path="/test.txt",
        headers={"host": S3_HOST, "range": "bytes=0-9", "x-amz-content-sha256": sigv4.EMPTY_PAYLOAD},
        payload=sigv4.EMPTY_PAYLOAD,
        now=S3_AT,
        **S3_DOCS,
    )
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," in headers["Authorization"]
    assert _signature(headers) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


def test_sigv4_s3_put_object_example() -> None:
    body = b"Welcome to Amazon S3."
    digest = sigv4.payload_hash(body)
    assert digest == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    headers = sigv4.sign(
        method="PUT",
        path="/" + sigv4.uri_encode("test$file.text", keep_slash=True),
        headers={
            "date": "Fri, 24 May 2013 00:00:00 GMT",
            "host": S3_HOST,
            "x-amz-content-sha256": digest,
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
        },
        payload=digest,
        now=S3_AT,
        **S3_DOCS,
    )
    assert _signature(headers) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"


def test_sigv4_s3_list_objects_example() -> None:
    headers = sigv4.sign(
        method="GET",
        path="/",
        query={"max-keys": "2", "prefix": "J"},
        headers={"host": S3_HOST, "x-amz-content-sha256": sigv4.EMPTY_PAYLOAD},
        payload=sigv4.EMPTY_PAYLOAD,
        now=S3_AT,
        **S3_DOCS,
    )
    assert _signature(headers) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"


# --- the two storages ------------------------------------------------------------------------------------------


async def test_local_storage_keeps_replaces_and_deletes(tmp_path: Path) -> None:
    storage = LocalPhotoStorage(tmp_path / "photos")
    key = photo_key(uuid.uuid4(), uuid.uuid4())
    await storage.put(key, PNG, "image/png")
    assert await storage.get(key) == PNG
    assert not list((tmp_path / "photos").rglob("*.part")), "no half-written file is left behind"
    await storage.delete(key)
    with pytest.raises(KeyError):
        await storage.get(key)
    with pytest.raises(ValueError, match="not a storage key"):
        await storage.get("../etc/passwd")


async def test_s3_storage_signs_path_style_requests() -> None:
    objects: dict[str, bytes] = {}
    seen: list[httpx.Request] = []

    def bucket(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if request.method == "PUT":
            objects[path] = request.content
            return httpx.Response(200)
        if request.method == "GET":
            return httpx.Response(200, content=objects[path]) if path in objects else httpx.Response(404)
        objects.pop(path, None)
        return httpx.Response(204)

    storage = S3PhotoStorage(
        endpoint="http://minio.test:9000",
        bucket="photos",
        access_key="AK",
        secret_key="SK",
        prefix="dispatch",
        http=httpx.AsyncClient(transport=httpx.MockTransport(bucket)),
    )
    key = photo_key(uuid.uuid4(), uuid.uuid4())
    await storage.put(key, JPEG, "image/jpeg")
    assert await storage.get(key) == JPEG
    await storage.delete(key)
    with pytest.raises(KeyError):
        await storage.get(key)
    put = seen[0]
    assert put.url.path == f"/photos/dispatch/{key}"
    assert put.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AK/")
    assert "content-type;host;x-amz-content-sha256;x-amz-date" in put.headers["authorization"]
    assert put.headers["x-amz-content-sha256"] == sigv4.payload_hash(JPEG)
