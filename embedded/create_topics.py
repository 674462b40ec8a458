"""`python -m embedded.create_topics --bootstrap kafka:9092`: create every platform topic.

The one-shot `kafka-init` job of docker-compose.yml runs this, because production Kafka has
auto-creation off: the topic list lives in `shared.topics` only. Idempotent; waits for the broker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from embedded.broker import EmbeddedBrokerError, create_topics_async
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, create the topics, report; exit status 1 when the broker never answered."""
    parser = argparse.ArgumentParser(prog="python -m embedded.create_topics", description=__doc__)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)",
    )
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument("--replication-factor", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the broker and the topics")
    args = parser.parse_args(argv)
    # While the broker boots, aiokafka logs every refused connection; our own error says enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        created = asyncio.run(
            create_topics_async(
                args.bootstrap,
                ALL_TOPICS,
                args.partitions,
                replication_factor=args.replication_factor,
                wait_seconds=args.timeout,
            )
        )
    except EmbeddedBrokerError as exc:
        print(f"create_topics: {exc}", file=sys.stderr)
        return 1
    existing = len(ALL_TOPICS) - len(created)
    print(f"topics on {args.bootstrap}: created {len(created)}, already present {existing}")
    for name in created:
        print(f"  created {name} ({args.partitions} partitions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
