"""What a photo upload must be: a JPEG, PNG or WebP image, no larger than the limit.

The type is read from the file's own first bytes (its magic number), never from the client's Content-Type or file
name: a text file named `.png` is refused, and what is served back later carries the type the bytes really have
(with `X-Content-Type-Options: nosniff`, so no browser second-guesses it into HTML or script).
"""

from __future__ import annotations

from typing import get_args

from services.dispatch.model import ImageType
from shared.errors import Invalid

#: The image types a photo may have.
IMAGE_TYPES: tuple[ImageType, ...] = get_args(ImageType)


class NotAnImage(Invalid):
    """The upload is not a JPEG, PNG or WebP image (HTTP 415 naming the field `file`)."""

    status = 415
    title = "Unsupported Media Type"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


class PhotoTooLarge(Invalid):
    """The upload exceeds the size limit (HTTP 413 naming the field `file`)."""

    status = 413
    title = "Content Too Large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the photo is larger than {limit} bytes", field="file")
        self.size = size
        self.limit = limit


def sniff(data: bytes) -> ImageType | None:
    """The image type the bytes start with, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photo(data: bytes, limit: int) -> ImageType:
    """The photo's content type; PhotoTooLarge or NotAnImage when it may not be kept."""
    if len(data) > limit:
        raise PhotoTooLarge(len(data), limit)
    content_type = sniff(data)
    if content_type is None:
        raise NotAnImage("the file is not a JPEG, PNG or WebP image (judged by its content, not its name)")
    return content_type
