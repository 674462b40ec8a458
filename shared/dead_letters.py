"""`python -m shared.dead_letters`: list and replay dead letters.

    python -m shared.dead_letters list ingress.partner-tickets.dlq
    python -m shared.dead_letters replay ingress.partner-tickets.dlq --offset 3 --partition 0
    python -m shared.dead_letters replay ingress.partner-tickets.dlq --all

A replay republishes the original value and headers (without the `dlq.*` ones) to the original
topic, keyed as before; the consumer's dedupe makes replaying something already handled harmless.
Reads the broker from `--bootstrap` or KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.kafka.dead_letter import original_headers
from shared.kafka.replay import assign_from_start, read_to_end
from shared.kafka.security import client_options


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def summary(self) -> dict[str, object]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key.decode(errors="replace") if self.key else None,
            "original_topic": self.headers.get("dlq.original_topic"),
            "original_offset": self.headers.get("dlq.original_offset"),
            "consumer": self.headers.get("dlq.consumer"),
            "error_type": self.headers.get("dlq.error_type"),
            "reason": self.headers.get("dlq.reason"),
            "failed_at": self.headers.get("dlq.failed_at"),
            "bytes": len(self.value),
        }


async def read_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Everything currently in the dead-letter topic, read up to its end offsets (no group, no commit)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **client_options()
    )
    await consumer.start()
    try:
        try:
            partitions = await assign_from_start(consumer, bootstrap, [topic])
        except LookupError as exc:
            raise SystemExit(str(exc)) from exc
        letters: list[DeadLetter] = []
        async for records in read_to_end(consumer, partitions):
            for m in records:
                headers = {k: v.decode(errors="replace") for k, v in (m.headers or ())}
                letters.append(DeadLetter(m.partition, m.offset, m.key, m.value or b"", headers))
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


async def replay(bootstrap: str, letters: list[DeadLetter]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", **client_options())
    await producer.start()
    try:
        for letter in letters:
            target = letter.headers.get("dlq.original_topic")
            if not target:
                raise SystemExit(f"dead letter {letter.partition}/{letter.offset} names no original topic")
            headers = original_headers(letter.headers)
            headers["replayed_from"] = f"{letter.partition}/{letter.offset}"
            headers["replay_id"] = str(uuid.uuid4())
            await producer.send_and_wait(
                target, value=letter.value, key=letter.key, headers=[(k, v.encode()) for k, v in headers.items()]
            )
        return len(letters)
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.dead_letters", description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="print one JSON line per dead letter")
    listing.add_argument("topic")
    again = sub.add_parser("replay", help="republish dead letters to their original topic")
    again.add_argument("topic")
    again.add_argument("--partition", type=int)
    again.add_argument("--offset", type=int, help="replay only this offset (with --partition)")
    again.add_argument("--all", action="store_true", help="replay every dead letter of the topic")
    args = parser.parse_args(argv)

    letters = asyncio.run(read_dead_letters(args.bootstrap, args.topic))
    if args.command == "list":
        for letter in letters:
            print(json.dumps(letter.summary(), ensure_ascii=False))
        return 0
    if args.all:
        chosen = letters
    elif args.partition is not None and args.offset is not None:
        chosen = [d for d in letters if d.partition == args.partition and d.offset == args.offset]
    else:
        parser.error("replay needs --all or both --partition and --offset")
    if not chosen:
        print("nothing to replay", file=sys.stderr)
        return 1
    count = asyncio.run(replay(args.bootstrap, chosen))
    print(f"replayed {count} dead letter(s) from {args.topic}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
