"""What every HTTP stand-in shares: the command line, serving on a port the kernel picks, the ready file, and a
record of what it received (memory and a JSON-lines file a person can read)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
