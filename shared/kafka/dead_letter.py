"""Dead letters: what a consumer cannot process goes to `<topic>.dlq` with the reason and origin.

The original value and headers travel unchanged; `dlq.*` headers say why and where from, so the
`python -m shared.dead_letters` command can list them and replay them to their original topic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.topics import dead_letter_topic

DLQ_HEADER_PREFIX = "dlq."


def dead_letter_headers(
    *,
    original_headers: dict[str, str],
    topic: str,
    partition: int,
    offset: int,
    consumer: str,
    reason: str,
    error_type: str,
    attempts: int,
) -> dict[str, str]:
    headers = {k: v for k, v in original_headers.items() if not k.startswith(DLQ_HEADER_PREFIX)}
    headers.update(
        {
            "dlq.reason": reason[:2000],
            "dlq.error_type": error_type,
            "dlq.original_topic": topic,
            "dlq.original_partition": str(partition),
            "dlq.original_offset": str(offset),
            "dlq.consumer": consumer,
            "dlq.attempts": str(attempts),
            "dlq.failed_at": datetime.now(UTC).isoformat(),
        }
    )
    return headers


def original_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as they were before dead-lettering, for a replay."""
    return {k: v for k, v in headers.items() if not k.startswith(DLQ_HEADER_PREFIX)}


__all__ = ["DLQ_HEADER_PREFIX", "dead_letter_headers", "dead_letter_topic", "original_headers"]
