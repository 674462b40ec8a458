"""`python -m embedded.create_topics --bootstrap kafka:9092`: bring every platform topic to its declared state.

The one-shot `kafka-init` job of docker-compose.yml and the `create-topics` Job of deploy/k8s run this,
because production Kafka has auto-creation off: names, partitions and settings live in `shared.topics`
only, and the embedded runner applies the same through `shared.kafka.admin.apply_topics`. Idempotent;
waits for the cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from shared.kafka.admin import KafkaAdminError, apply_topics
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, apply the topics, report; exit status 1 when the cluster never answered or refused."""
    parser = argparse.ArgumentParser(prog="python -m embedded.create_topics", description=__doc__)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)",
    )
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument("--replication-factor", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the cluster and the topics")
    args = parser.parse_args(argv)
    # While the broker boots, aiokafka logs every refused connection; our own error says enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        report = asyncio.run(
            apply_topics(
                args.bootstrap,
                ALL_TOPICS,
                args.partitions,
                replication_factor=args.replication_factor,
                wait_seconds=args.timeout,
            )
        )
    except KafkaAdminError as exc:
        print(f"create_topics: {exc}", file=sys.stderr)
        return 1
    print(
        f"topics on {args.bootstrap}: {len(ALL_TOPICS)} declared, created {len(report.created)}, "
        f"settings corrected {len(report.reconfigured)}, grown {len(report.grown)}"
    )
    for name in report.created:
        print(f"  created {name} ({args.partitions} partitions)")
    for name, drift in report.reconfigured.items():
        print(f"  set {name}: {', '.join(f'{k}={v}' for k, v in drift.items())}")
    for name, before in report.grown.items():
        print(f"  grew {name}: {before} -> {args.partitions} partitions")
    for name, count in report.oversized.items():
        print(f"  warning: {name} has {count} partitions, more than {args.partitions}; left as it is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
