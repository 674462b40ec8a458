"""A batch's rows in one statement per table: the rows go to Postgres as one JSON array and come back as the table's
own row type (`jsonb_populate_recordset`), so an upsert, an insert or a delete of any number of rows is one statement.

Why: `executemany` sends one statement per row and the server executes each (a batch of 500 events was about 370
statements); typed `unnest` arrays would need every column's type spelled out and cannot carry array columns.
Postgres converts each JSON value to its column's type (uuid, timestamptz, date, smallint, jsonb ...) by the column's
own input rules, and a JSON null is an SQL NULL, as a None parameter was.

Rows are sent sorted by their key where several transactions may write the same rows (the rollups), so two batches
lock those rows in one order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.db import recordset_json


def as_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as one JSON array (the statement's `$1`)."""
    return recordset_json(rows)


def _recordset(table: str) -> str:
    return f"jsonb_populate_recordset(NULL::{table}, $1::text::jsonb)"


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """Insert every row of `$1`."""
    names = ", ".join(columns)
    return f"INSERT INTO {table} ({names}) SELECT {names} FROM {_recordset(table)}"


def upsert_sql(table: str, columns: Sequence[str], key: Sequence[str], updates: Mapping[str, str]) -> str:
    """Insert every row of `$1`, or update the row already there (`updates`: column → expression over `r`, the row
    there, and `EXCLUDED`, the row sent). The keys of `$1` must be distinct."""
    names = ", ".join(columns)
    sets = ", ".join(f"{column} = {expression}" for column, expression in updates.items())
    return (
        f"INSERT INTO {table} AS r ({names}) SELECT {names} FROM {_recordset(table)} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
    )


def replacing(columns: Sequence[str], key: Sequence[str]) -> dict[str, str]:
    """`updates` that replace every column but the key."""
    return {column: f"EXCLUDED.{column}" for column in columns if column not in key}


def delete_sql(table: str, key: Sequence[str], condition: str = "TRUE") -> str:
    """Delete the rows whose key is a row of `$1` and that meet `condition` (over `r`, the row there)."""
    same = " AND ".join(f"r.{column} = d.{column}" for column in key)
    return f"DELETE FROM {table} r USING {_recordset(table)} d WHERE {same} AND {condition}"


def by_key(rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> list[Mapping[str, Any]]:
    """The rows in the order of their key (as text: a key part may be None), the order their row locks are taken."""
    return sorted(rows, key=lambda row: tuple("" if row[c] is None else str(row[c]) for c in key))
