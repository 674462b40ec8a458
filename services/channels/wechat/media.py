"""The picture of an image message, fetched from WeChat's `PicUrl`, so that staff see the photo itself (as an
attachment of the complaint) and not a link that stops working once WeChat drops it.

Fetched only from a push whose signature was checked (the URL is WeChat's), over http(s), within a short time (the
callback answers within WeChat's 5 seconds) and a size limit; an image/* answer only. Whatever goes wrong, the
message is still taken, with the link in its text: a photo is worth having, never worth losing the complaint for.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from services.channels.model import NewAttachment
from shared.logging import get_logger

log = get_logger(__name__)

#: Of WeChat's 5 seconds, what fetching one picture may take.
FETCH_TIMEOUT_S = 2.0


async def picture(url: str | None, name: str, *, max_bytes: int) -> NewAttachment | None:
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return None
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client,
            client.stream("GET", url) as answer,
        ):
            kind = answer.headers.get("content-type", "").split(";")[0].strip().lower()
            if answer.status_code != 200 or not kind.startswith("image/"):
                log.info("wechat picture not taken", status=answer.status_code, content_type=kind)
                return None
            content = bytearray()
            async for chunk in answer.aiter_bytes():
                content += chunk
                if len(content) > max_bytes:
                    log.info("wechat picture over the attachment limit", limit=max_bytes)
                    return None
    except httpx.HTTPError as exc:
        log.info("wechat picture not fetched", error=type(exc).__name__)
        return None
    extension = kind.removeprefix("image/").replace("jpeg", "jpg")[:8] or "img"
    return NewAttachment(file_name=f"{name}.{extension}", content_type=kind, content=bytes(content))
