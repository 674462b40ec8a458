"""What every HTTP stand-in shares: the command line, serving on a port the kernel picks, the ready file, and a
record of what it received (memory and a JSON-lines file a person can read)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


class Received:
    """Everything a stand-in took in, in order; appended to `<data-dir>/<name>.jsonl` too when there is one."""

    def __init__(self, name: str, data_dir: Path | None) -> None:
        self.items: list[dict[str, Any]] = []
        self._file = data_dir / f"{name}.jsonl" if data_dir else None
        self._lock = threading.Lock()

    def add(self, item: dict[str, Any]) -> dict[str, Any]:
        item = {"received_at": datetime.now(UTC).isoformat(), **item}
        with self._lock:
            self.items.append(item)
            if self._file is not None:
                with self._file.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
        return item


async def post_until_taken(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    give_up_s: float,
    taken: Callable[[httpx.Response], bool] = lambda response: response.status_code < 500,
) -> str:
    """What every peer does with a callback (a status report, an event, a bounce): send it, and while the receiver
    is down or refuses it, send it again with a growing pause — at most a second, so a receiver back up hears at
    once — until it is taken or `give_up_s` has passed. `send` makes the request anew each time (a push signed
    with a fresh timestamp). Returns the last answer, for the stand-in's record."""
    deadline = time.monotonic() + give_up_s
    pause = 0.2
    outcome = "not sent"
    while True:
        try:
            response = await send()
            outcome = f"HTTP {response.status_code} {response.text[:100]}".rstrip()
            if taken(response):
                return outcome
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        if time.monotonic() > deadline:
            return outcome
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)


def parse_args(name: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m embedded.standins.{name}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port the kernel picks")
    parser.add_argument("--ready-file", type=Path, help="written with {name, url, pid} once listening")
    parser.add_argument("--data-dir", type=Path, help="where <name>.jsonl records what was received")
    return parser.parse_args(argv)


def serve(app: FastAPI, name: str, args: argparse.Namespace, **ready_extra: Any) -> None:
    """Serve `app` until SIGTERM/SIGINT. The socket listens before the ready file is written, so a client that read
    the file is queued by the kernel until the app accepts: never refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(256)
    port = sock.getsockname()[1]
    if args.ready_file:
        ready = {"name": name, "url": f"http://{args.host}:{port}", "pid": os.getpid(), **ready_extra}
        temporary = args.ready_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(ready))
        temporary.replace(args.ready_file)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])
