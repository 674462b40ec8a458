"""The load generator: realistic mixed-channel complaints POSTed to intake, closed-loop or open-loop.

Texts from ../shared/data/complaints_sample.jsonl, fresh accounts every run (a rerun must not be all repeat
callers), all districts. A transport error is retried with the same body (its channel ticket id makes the retry
idempotent); anything but 202 is counted as refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
#: The sample texts; bench/compare.sh, running a copy of the bench, names them with BENCH_SAMPLE.
SAMPLE = Path(os.environ.get("BENCH_SAMPLE") or ROOT.parent / "shared" / "data" / "complaints_sample.jsonl")
CHANNELS = ["phone", "web", "app", "wechat", "counter", "email"]
DISTRICTS = ["heping", "shenhe", "tiexi", "huanggu", "dadong", "hunnan", "yuhong", "sujiatun"]
HEADERS = {channel: {"X-API-Key": f"dev-only-{channel}-key"} for channel in CHANNELS}


def texts() -> list[str]:
    if SAMPLE.exists():
        return [json.loads(line)["text"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"warning: {SAMPLE} not found: three built-in texts only (no triage, few categories)", file=sys.stderr)
    return ["家里暖气不热，室温只有16度。", "这个月电费账单比上个月多了一倍。", "楼道里有燃气味。"]


def body(rng: random.Random, pool: list[str], channel: str) -> dict[str, Any]:
    return {
        "channel": channel,
        "channel_ticket_id": f"{channel}-{uuid.uuid4().hex[:16]}",
        "received_at": datetime.now(UTC).isoformat(),
        "customer": {
            "account_no": f"HT-{rng.randrange(10**6):06d}",
            "name": "张先生",
            "phone": f"139{rng.randrange(10**8):08d}",
            "preferred_contact": "phone",
        },
        "location": {
            "address": f"{rng.choice(DISTRICTS)}区{rng.randrange(1, 200)}号",
            "district": rng.choice(DISTRICTS),
        },
        "text": rng.choice(pool),
    }


class TransportError(Exception):
    """The connection failed or closed before a whole answer came back (the post is retried)."""


Slot = tuple[tuple[str, int], tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]


class KeepAlive:
    """HTTP/1.1 POSTs over at most `connections` kept-alive connections, spread evenly over the `http://host:port`
    addresses given (a service's replicas, as a Service spreads connections over its pods): the request written in
    one piece, the answer read by its Content-Length (intake's JSON answers all carry one)."""

    def __init__(self, base_urls: str | Sequence[str], connections: int) -> None:
        targets = []
        for url in [base_urls] if isinstance(base_urls, str) else base_urls:
            host, _, port = url.removeprefix("http://").rstrip("/").rpartition(":")
            targets.append((host, int(port)))
        self.idle: asyncio.Queue[Slot] = asyncio.Queue()
        for n in range(connections):
            self.idle.put_nowait((targets[n % len(targets)], None))  # a slot: connected on first use
        self.open: set[asyncio.StreamWriter] = set()

    async def post(self, path: str, payload: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        target, conn = await self.idle.get()
        kept = None
        try:
            if conn is None:
                reader, writer = await asyncio.open_connection(*target)
                self.open.add(writer)
                conn = reader, writer
            status, body, keep = await self._exchange(*conn, target, path, payload, headers)
            kept = conn if keep else None
            return status, body
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise TransportError(repr(exc)) from exc
        finally:  # also when cancelled (a timeout): a connection mid-answer is closed, its slot given back
            if kept is None:
                self._drop(conn)
            self.idle.put_nowait((target, kept))

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: tuple[str, int],
        path: str,
        payload: bytes,
        headers: dict[str, str],
    ) -> tuple[int, bytes, bool]:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {target[0]}:{target[1]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{head}\r\n".encode()
            + payload
        )
        await writer.drain()
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        if "content-length" not in fields:
            raise ValueError(f"an answer without Content-Length: {status_line} {fields}")
        body = await reader.readexactly(int(fields["content-length"]))
        return int(status_line.split(" ", 2)[1]), body, fields.get("connection", "").lower() != "close"

    def _drop(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is not None:
            self.open.discard(conn[1])
            conn[1].close()

    async def aclose(self) -> None:
        for writer in list(self.open):
            writer.close()
        self.open.clear()


class Poster:
    """Posts complaints; `accepted` maps complaint id → wall time of the 202, `refused` counts the rest."""

    def __init__(self, intake: str | Sequence[str], connections: int) -> None:
        self.client = KeepAlive(intake, connections)
        self.rng, self.pool = random.Random(), texts()
        self.accepted: dict[str, float] = {}
        self.refused: Counter[int | str] = Counter()
        self.retried = self.sent = 0
        self.tail_s = 0.0

    async def post_one(self, n: int) -> None:
        item = body(self.rng, self.pool, CHANNELS[n % len(CHANNELS)])
        failure: int | str = ""
        for _ in range(5):
            try:
                status, answer = await asyncio.wait_for(
                    self.client.post("/v1/complaints", orjson.dumps(item), HEADERS[item["channel"]]), 30
                )
            except (TransportError, TimeoutError) as exc:
                self.retried += 1
                failure = type(exc).__name__
                continue
            if status == 202:
                self.accepted[orjson.loads(answer)["complaint_id"]] = time.time()
                return
            failure = status
            break
        self.refused[failure] += 1

    async def closed_loop(self, count: int | None, seconds: float, concurrency: int) -> float:
        """`concurrency` workers post back to back until `count` were sent or `seconds` passed; the elapsed time."""
        started = time.monotonic()

        async def worker() -> None:
            while (count is None or self.sent < count) and (count is not None or time.monotonic() - started < seconds):
                self.sent += 1
                await self.post_one(self.sent)
                if self.sent % 500 == 0:
                    self.show(started)

        await asyncio.gather(*[worker() for _ in range(concurrency)])
        self.show(started, end="\n")
        return time.monotonic() - started

    async def open_loop(self, rate: float, seconds: float, max_in_flight: int = 2000) -> float:
        """One POST every 1/rate s whatever the answers do (open loop: a slow platform is not offered less); the
        seconds it offered for (the last answers' wait is `tail_s`). Past `max_in_flight` waiting posts the
        generator itself is the limit, and says so."""
        started, tasks = time.monotonic(), set()
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) + 1
            while self.sent < due:
                if len(tasks) >= max_in_flight:
                    self.refused["generator: too many in flight"] += 1
                else:
                    task = asyncio.create_task(self.post_one(self.sent))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                self.sent += 1
            if self.sent % 500 == 0:
                self.show(started)
            await asyncio.sleep(max(0.0, self.sent / rate - (time.monotonic() - started)))
        offered = time.monotonic() - started
        await asyncio.gather(*tasks)
        self.show(started, end="\n")
        self.tail_s = time.monotonic() - started - offered
        return offered

    def show(self, started: float, end: str = "") -> None:
        print(
            f"\r  posted {self.sent:>7,}  accepted {len(self.accepted):>7,}  refused {sum(self.refused.values()):>5,}"
            f"  retried {self.retried:>5,}  {time.monotonic() - started:6.1f}s",
            end=end,
            flush=True,
        )

    async def close(self) -> None:
        await self.client.aclose()
