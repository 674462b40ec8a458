"""Photos a crew takes on site: what counts as an image (`images.py`), and where the bytes are kept
(`storage.py`: the data folder, or S3-compatible storage signed with `sigv4.py`)."""

from services.dispatch.photos.images import IMAGE_TYPES, NotAnImage, PhotoTooLarge, check_photo
from services.dispatch.photos.storage import LocalPhotoStorage, PhotoStorage, S3PhotoStorage, photo_storage

__all__ = [
    "IMAGE_TYPES",
    "LocalPhotoStorage",
    "NotAnImage",
    "PhotoStorage",
    "PhotoTooLarge",
    "S3PhotoStorage",
    "check_photo",
    "photo_storage",
]
