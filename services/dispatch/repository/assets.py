"""The asset registry (buildings, heat exchange stations, feeders) and its version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.dispatch.repository.rows import Rows


class AssetTables(Rows):
    """`dispatch.assets` and `dispatch.asset_registry_version`."""

    async def asset_registry_version(self) -> int:
        return int(await self.conn.fetchval("SELECT version FROM dispatch.asset_registry_version"))

    async def assets(self) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT asset_id, type, name_zh, name_en, district, serves, loaded_at FROM dispatch.assets "
            "ORDER BY asset_id"
        )
        return [dict(r) for r in rows]

    async def save_assets(self, assets: Sequence[dict[str, Any]], at: datetime) -> None:
        await self.conn.executemany(
            "INSERT INTO dispatch.assets (asset_id, type, name_zh, name_en, district, serves, loaded_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (asset_id) DO UPDATE SET type = EXCLUDED.type, "
            "name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, district = EXCLUDED.district, "
            "serves = EXCLUDED.serves, loaded_at = EXCLUDED.loaded_at",
            [(a["asset_id"], a["type"], a["name_zh"], a["name_en"], a["district"], a["serves"], at) for a in assets],
        )
        await self.conn.execute("UPDATE dispatch.asset_registry_version SET version = version + 1")
