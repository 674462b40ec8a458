"""`python -m services.dispatch.corrections export FILE.jsonl`: every correction people made — triage decisions,
supervisors' reclassifications, departments' returns — as labelled examples for retraining
(`python -m services.dispatch.retrain --corrections FILE.jsonl`).

One JSON object per line: text, channel, category, severity, department (what a person decided),
predicted_category, predicted_severity, model_version (what the classifier had decided), source, at.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

from services.dispatch.model import LabelledExample
from services.dispatch.repository import PostgresDispatchRepository
from services.dispatch.settings import DispatchSettings
from shared.db import transactions
from shared.runtime import connect_with_retry


def as_row(example: LabelledExample) -> dict[str, object]:
    row = asdict(example)
    row["complaint_id"] = str(example.complaint_id)
    row["at"] = example.at.isoformat()
    return row


async def export(path: Path, settings: DispatchSettings) -> int:
    pool = await connect_with_retry(settings)
    try:
        async with transactions(pool, PostgresDispatchRepository)() as work:
            examples = await work.repo.labelled_examples()
    finally:
        await pool.close()
    with path.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(as_row(example), ensure_ascii=False) + "\n")
    return len(examples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.dispatch.corrections", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    export_cmd = sub.add_parser("export", help="write every labelled example to a JSONL file")
    export_cmd.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    n = asyncio.run(export(args.file, DispatchSettings()))
    print(f"{n} labelled examples written to {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
