"""Live pages: each console replica reads the platform's public topics and tells every open page "a change of kind K
happened" over server-sent events (`GET /live`); the page then re-reads the regions that show K as the signed-in
person (`static/console.js`), so every update passes the same permission checks as a normal read.

Why notices and not data: a stream is per browser tab, but the data each person may see is each service's rule. A
notice carries only the kinds (`live_kinds`) and the ids a page may use to tell whether it concerns it — reference,
complaint, work order, escalation — never a name, phone, address or text.

Why no consumer group (every partition of the topics assigned to each process, from the latest offset, nothing
committed): every replica must hear every change for the streams it holds, and a page that (re)connects re-reads
its regions anyway, so nothing older than the stream is wanted — and without a group there is no join, no
rebalance and no coordinator to wait for when a replica starts. A message that is no JSON event of ours is skipped:
a notice is a hint, never worth stopping the feed for, and nothing is dead-lettered (the services that own the
events do that).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.console.live_kinds import LIVE_TOPICS, kinds_of
from shared.kafka.security import KafkaSecuritySettings, client_options
from shared.logging import get_logger

log = get_logger(__name__)
#: How long the feed waits before reading again after the broker failed it.
RECONNECT_S = 2.0
#: Notices a slow stream may have waiting; beyond that it is told to re-read everything (`resync`).
STREAM_BACKLOG = 100
_IDS = ("reference_no", "work_order_id", "escalation_id", "incident_id", "outage_id", "notification_id")


@dataclass(frozen=True)
class Notice:
    """A change of these kinds happened to this case (and work order, escalation...): all a page is told."""

    kinds: tuple[str, ...]
    event_type: str
    complaint_id: str | None = None
    reference_no: str | None = None
    work_order_id: str | None = None
    escalation_id: str | None = None
    incident_id: str | None = None
    outage_id: str | None = None
    notification_id: str | None = None

    def as_sse(self) -> bytes:
        data = json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))
        return f"event: change\ndata: {data}\n\n".encode()


def notice_of(raw: bytes | None) -> Notice | None:
    """The notice an event's bytes make, or None: not JSON, not an event, or of no live kind."""
    if not raw:
        return None
    try:
        envelope = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("event_type"), str):
        return None
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    kinds = kinds_of(envelope["event_type"], payload)
    if not kinds:
        return None
    ids = {name: _id(payload.get(name)) for name in _IDS}  # type: ignore[union-attr]
    return Notice(
        kinds=tuple(sorted(kinds)),
        event_type=envelope["event_type"],
        complaint_id=_id(envelope.get("complaint_id")),
        **ids,
    )


def _id(value: Any) -> str | None:
    """An id or reference as text: short and printable, or nothing (a notice never carries free text)."""
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
        return value
    return None


class TooManyStreams(Exception):
    """This process holds its limit of open streams (`CONSOLE_LIVE_MAX_STREAMS`): 503."""


class LiveHub:
    """The open streams of this process and the fan-out of notices to them. A stream's queue is bounded: a tab
    that does not read is told to re-read everything once rather than holding memory."""

    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self._streams: set[asyncio.Queue[bytes | None]] = set()
        self.closing = False

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def has_room(self) -> bool:
        return not self.closing and len(self._streams) < self.max_streams

    @contextlib.contextmanager
    def stream(self) -> Any:
        """A new stream's queue (bytes to send; None: the process is shutting down), forgotten on exit."""
        if not self.has_room():
            raise TooManyStreams
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=STREAM_BACKLOG)
        self._streams.add(queue)
        try:
            yield queue
        finally:
            self._streams.discard(queue)

    def publish(self, notice: Notice) -> None:
        message = notice.as_sse()
        for queue in list(self._streams):
            if queue.full():
                _replace_with_resync(queue)
            else:
                queue.put_nowait(message)

    def close_all(self) -> None:
        """Shutting down: every stream ends now (the browsers reconnect to another replica)."""
        self.closing = True
        for queue in list(self._streams):
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    queue.get_nowait()
            queue.put_nowait(None)


RESYNC = b"event: resync\ndata: {}\n\n"


def _replace_with_resync(queue: asyncio.Queue[bytes | None]) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            queue.get_nowait()
    queue.put_nowait(RESYNC)


class EventStream(Response):
    """`text/event-stream` of one tab: a `retry` hint and a first comment at once, then each notice, a heartbeat
    comment when idle; it ends when the browser goes (its `http.disconnect`, heard at once, not at the next write)
    or the hub closes."""

    media_type = "text/event-stream"

    def __init__(self, hub: LiveHub, heartbeat_s: float) -> None:
        super().__init__(headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}, media_type=self.media_type)
        # No Content-Length: the stream has no end (Response counted the empty body as 0).
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.hub = hub
        self.heartbeat_s = heartbeat_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.hub.has_room():
            busy = Response(status_code=503, headers={"Retry-After": "10", "Cache-Control": "no-store"})
            await busy(scope, receive, send)
            return
        with self.hub.stream() as queue:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            sender = asyncio.create_task(self._send(queue, send))
            gone = asyncio.create_task(_disconnected(receive))
            try:
                await asyncio.wait({sender, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sender, gone):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, OSError):
                        await task
            if not gone.done() or gone.cancelled():
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send(self, queue: asyncio.Queue[bytes | None], send: Send) -> None:
        await send({"type": "http.response.body", "body": b"retry: 2000\n: live\n\n", "more_body": True})
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout=self.heartbeat_s)
            except TimeoutError:
                message = b": heartbeat\n\n"
            if message is None:
                return
            await send({"type": "http.response.body", "body": message, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


ConsumerFactory = Callable[[], AIOKafkaConsumer]


def kafka_consumer(bootstrap_servers: str, security: KafkaSecuritySettings) -> ConsumerFactory:
    def make() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *LIVE_TOPICS,
            bootstrap_servers=bootstrap_servers,
            group_id=None,  # every partition, in every replica (see above)
            auto_offset_reset="latest",
            client_id=f"console-live-{socket.gethostname()}-{os.getpid()}",
            enable_auto_commit=False,
            **client_options(security),
        )

    return make


async def feed(hub: LiveHub, consumer: ConsumerFactory, stop: asyncio.Event) -> None:
    """Read the topics until `stop`, publishing each event's notice; a broker that fails is retried (the pages
    keep working as pages meanwhile, only without live updates)."""
    while not stop.is_set():
        reader = consumer()
        try:
            await reader.start()
            log.info("live feed reading", topics=len(LIVE_TOPICS))
            await _read(hub, reader, stop)
        except Exception as exc:
            log.warning("live feed interrupted, reading again", error=type(exc).__name__, detail=str(exc)[:200])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RECONNECT_S)
        finally:
            with contextlib.suppress(Exception):
                await reader.stop()


async def _read(hub: LiveHub, reader: AIOKafkaConsumer, stop: asyncio.Event) -> None:
    while not stop.is_set():
        batches = await reader.getmany(timeout_ms=500, max_records=500)
        for records in batches.values():
            for record in records:
                notice = notice_of(record.value)
                if notice is not None:
                    hub.publish(notice)


def close_on_exit_signals(hub: LiveHub) -> Callable[[], None]:
    """End the streams as soon as the process is told to stop (SIGTERM, SIGINT), before uvicorn's graceful wait.

    Why: uvicorn waits for open responses to finish before the lifespan's shutdown runs, and an event stream never
    finishes by itself — every open tab would hold a stop for the whole graceful timeout. The handler uvicorn
    installed is chained (it still stops the server); the returned function puts it back. Off the main thread (an
    in-process test server) nothing is installed: the lifespan's `close_all` ends the streams there."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(sig: int, frame: Any) -> None:
        loop.call_soon_threadsafe(hub.close_all)
        chained = previous[signal.Signals(sig)]
        if callable(chained):
            chained(sig, frame)
        else:  # the default action (no server's handler before us): take it
            signal.signal(sig, chained)
            signal.raise_signal(sig)

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, handler)

    return restore
