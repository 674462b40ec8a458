"""`python -m services.dispatch.load_assets load FILE [--if-empty]`: load the asset registry from a CSV or JSON file
(the formats `registry.py` documents) into dispatch's database — the same import as `POST /v1/assets/import`.

Every problem of the file is listed before anything is written; exit status 2 then. `--if-empty` loads only into
an empty registry (the embedded runner loads the demo city this way without overwriting an operator's edits).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.dispatch.assets.registry import AssetRegistryError, load_assets
from services.dispatch.classification import load_rules
from services.dispatch.handlers.assets import import_assets
from services.dispatch.handlers.context import DispatchContext
from services.dispatch.repository import DispatchRepository, PostgresDispatchRepository
from services.dispatch.settings import DispatchSettings
from shared.db import Transactions, transactions
from shared.handling import Door
from shared.runtime import connect_with_retry
from shared.sla import load_sla_table


async def load(path: Path, *, if_empty: bool, settings: DispatchSettings) -> int | None:
    """Import the file; None when `if_empty` and the registry already has assets."""
    assets = load_assets(path)
    pool = await connect_with_retry(settings)
    try:
        # Typed as the use cases know it: they take the repository's Protocol, not the Postgres class.
        work: Transactions[DispatchRepository] = transactions(pool, PostgresDispatchRepository)
        if if_empty:
            async with work() as unit:
                if await unit.repo.assets():
                    return None
        context = DispatchContext(rules=load_rules(settings.dispatch_rules_path), sla=load_sla_table())
        return await Door(work, context).run(import_assets, assets)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.dispatch.load_assets", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load_cmd = sub.add_parser("load", help="load a registry file (CSV or JSON)")
    load_cmd.add_argument("file", type=Path)
    load_cmd.add_argument("--if-empty", action="store_true", help="only if the registry has no assets yet")
    args = parser.parse_args(argv)
    try:
        loaded = asyncio.run(load(args.file, if_empty=args.if_empty, settings=DispatchSettings()))
    except AssetRegistryError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    print("asset registry not empty: nothing loaded" if loaded is None else f"asset registry: {loaded} assets loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
