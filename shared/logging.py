"""structlog JSON logging shared by every service.

Every line carries `complaint_id` and `correlation_id` (bound per request / message with
`bind_case`), personal data is masked, and because lines are rendered as JSON a CR/LF inside
user text is escaped and cannot forge a second log line.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import orjson
import structlog

from shared.privacy import mask_name, mask_phone, mask_text

#: Keys whose values are personal data whatever they contain.
_NAME_KEYS = frozenset({"name", "customer_name", "caller_name", "contact_name"})
_PHONE_KEYS = frozenset({"phone", "customer_phone", "caller_phone", "mobile", "telephone"})
#: Keys the pipeline itself writes (`configure_logging`'s processors): never personal data, and the timestamp's digits
#: would send it through every pattern of `mask_text` on every line.
_OWN_KEYS = frozenset({"timestamp", "level", "logger", "service"})


def _scrub(value: Any, key: str | None = None) -> Any:
    if isinstance(value, str):
        if key in _NAME_KEYS:
            return mask_name(value)
        if key in _PHONE_KEYS:
            return mask_phone(value)
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, key) for v in value]
    return value


def mask_personal_data(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask phone numbers, ID numbers, mail addresses and names anywhere in the event,
    exceptions included."""
    return {k: v if k in _OWN_KEYS else _scrub(v, k) for k, v in event_dict.items()}


def _json_line(event_dict: Any, **options: Any) -> str:
    """The line as JSON through orjson (UTF-8, CR/LF escaped as `json.dumps` did; structlog passes its `default`,
    which writes what JSON cannot hold as its repr): about a fifth of a log line's cost was the stdlib encoder."""
    return orjson.dumps(event_dict, default=options.get("default")).decode()


def ensure_case_keys(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Every line has both keys, so log queries by case never miss a line for lack of a field."""
    event_dict.setdefault("complaint_id", None)
    event_dict.setdefault("correlation_id", None)
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and the standard library (uvicorn, aiokafka, faststream) through one JSON pipeline.

    A structlog call below `level` returns before any processor runs (a filtering bound logger): otherwise each
    one merged the context, stamped the time and built the event before the standard library dropped it, and a
    debug line in a hot loop cost as much as a written one.

    No line shows the caller's source position, process or thread, so the standard library is told not to look them
    up (`logging._srcfile`, documented in its source as the switch for this, and the `log*` flags): on a written
    line they were about a quarter of its cost (a stack walk, and a `getpid` system call per record).
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        ensure_case_keys,
    ]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            mask_personal_data,
            structlog.processors.JSONRenderer(serializer=_json_line),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.captureWarnings(True)  # Python warnings become JSON lines too, not raw stderr text
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    handler.addFilter(RepeatLimit())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    structlog.contextvars.bind_contextvars(service=service)


class RepeatLimit(logging.Filter):
    """At most one line per `every_s` seconds of each repeated Kafka client complaint (by its message template),
    the next one saying how many were left out.

    Why: while the broker is down every consumer, producer and admin client of a service retries every 100 ms and
    aiokafka logs each failed attempt at ERROR ("Unable connect to node with id 1: ..."): 150-200 lines a second
    per service (issue 26's broker-kill drill), which buries everything else and fills the log store."""

    def __init__(self, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s, self.clock = every_s, clock
        self._last: dict[tuple[str, str], float] = {}
        self._left_out: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("aiokafka", "kafka")) or not isinstance(record.msg, str):
            return True
        key, now = (record.name, record.msg), self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return False
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        if left_out and last is not None:
            record.msg = f"{record.msg} (and {left_out} more like it in the last {now - last:.0f} s)"
        return True


def bind_case(*, complaint_id: str | None = None, correlation_id: str | None = None) -> None:
    """Attach the case to every following log line of this task (request or message)."""
    values = {k: v for k, v in {"complaint_id": complaint_id, "correlation_id": correlation_id}.items() if v}
    structlog.contextvars.bind_contextvars(**values)


def clear_case() -> None:
    structlog.contextvars.unbind_contextvars("complaint_id", "correlation_id")


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
