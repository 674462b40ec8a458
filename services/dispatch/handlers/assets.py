"""The asset registry in use cases: importing it, and the index routing and incidents read it through (rebuilt
when an import, on any replica, changed the registry)."""

from __future__ import annotations

from services.dispatch.assets import AssetIndex, RegisteredAsset
from services.dispatch.assets.registry import asset_row, registered_assets
from services.dispatch.handlers.context import DispatchWork
from shared.contracts import AssetRef
from shared.logging import get_logger

log = get_logger(__name__)


async def asset_index(work: DispatchWork) -> AssetIndex:
    """The registry's index, rebuilt when the registry's version moved since it was built."""
    cache = work.context.assets
    version = await work.repo.asset_registry_version()
    if version != cache.version:
        cache.index = AssetIndex.build(registered_assets(await work.repo.assets()))
        cache.version = version
    return cache.index


def asset_names(work: DispatchWork, asset: AssetRef | None) -> tuple[str, str] | None:
    """The registry's zh and en names of an asset, for what its callers are told."""
    found = work.context.assets.index.asset(asset.id) if asset is not None else None
    return (found.name_zh, found.name_en) if found is not None and found.name_zh else None


async def import_assets(assets: tuple[RegisteredAsset, ...], work: DispatchWork) -> int:
    """Insert or replace these assets (checked together with the rest of the registry first: AssetRegistryError)."""
    stored = {a.asset_id: a for a in registered_assets(await work.repo.assets())}
    AssetIndex.build({**stored, **{a.asset_id: a for a in assets}}.values())  # raises on conflicts
    await work.repo.save_assets([asset_row(a) for a in assets], work.now)
    log.info("asset registry imported", assets=len(assets))
    return len(assets)
