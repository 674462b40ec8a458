"""The staff directory's imports: an import with any bad row changes nothing; the start-up seed fills only an
empty directory."""

from __future__ import annotations

from dataclasses import dataclass

from services.console.handlers.context import ConsoleWork
from services.console.model import DirectoryImport, DirectoryRejected, ImportResult


@dataclass(frozen=True)
class ApplyImport:
    parsed: DirectoryImport
    replace_rota: bool
    #: The start-up seed, which never overwrites a directory someone already filled (None then).
    only_if_empty: bool = False


async def known_staff(_: None, work: ConsoleWork) -> set[str]:
    return await work.repo.staff_ids()


async def apply_import(cmd: ApplyImport, work: ConsoleWork) -> ImportResult | None:
    """Write an import as one unit of work; an import with problems changes nothing."""
    if cmd.parsed.problems:
        raise DirectoryRejected(cmd.parsed.problems)
    if cmd.only_if_empty and await work.repo.staff_ids():
        return None
    staff = await work.repo.upsert_staff(cmd.parsed.staff)
    rota = await work.repo.replace_rota(cmd.parsed.rota) if cmd.replace_rota else None
    return ImportResult(staff, rota)
