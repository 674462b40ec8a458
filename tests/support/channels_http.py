"""Channels under uvicorn on a loopback port of its own (its real lifespan: pool, consumers, workers, outbox relay),
for peers that must reach it over real HTTP — the WeChat API stand-in pushing its users' messages to
`/wechat/callback`, a browser opening the form page. `channels_public_url` is that port, so links in replies work."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from services.channels.bootstrap import create_app
from services.channels.settings import ChannelsSettings
from tests.support.ports import bound_socket, port_of


@contextmanager
def serving_channels(database_url: str, bootstrap: str, **overrides: Any) -> Iterator[str]:
    """The base URL of channels, serving until the block ends (then stopped, its lifespan closed)."""
    sock = bound_socket()
    port = port_of(sock)
    settings = ChannelsSettings(
        **{
            "app_env": "test",
            "database_url": database_url,
            "kafka_bootstrap_servers": bootstrap,
            "channels_consumer_group": f"channels-http-test-{uuid.uuid4().hex[:8]}",
            "channels_public_url": f"http://127.0.0.1:{port}",
            **overrides,
        }
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), lifespan="on", log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"channels-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("channels did not start (see its log)")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
