"""CSV injection: a text cell a spreadsheet would read as a formula leaves reporting as text; figures stay figures."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import pytest
from pydantic import BaseModel

from services.reporting.exports import csv_chunks, models_csv, spreadsheet_safe


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\r=1"])
def test_a_formula_start_becomes_text(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["暖气不热", "TS-20261123-000042", "", -3, -0.5, 0, None])
def test_everything_else_is_left_as_it_is(value: object) -> None:
    assert spreadsheet_safe(value) == value


class Row(BaseModel):
    text: str
    delta: int


def test_both_writers_escape_every_cell() -> None:
    written = models_csv(Row, [Row(text="=1+1", delta=-2)])
    assert list(csv.DictReader(io.StringIO(written))) == [{"text": "'=1+1", "delta": "-2"}]


async def test_the_streamed_export_escapes_every_batch() -> None:
    async def batches() -> AsyncIterator[Iterable[Mapping[str, Any]]]:
        yield [{"text": "@cmd", "n": 1}]
        yield [{"text": "-1+1", "n": 2}]

    streamed = "".join([chunk async for chunk in csv_chunks(["text", "n"], batches())])
    assert [r["text"] for r in csv.DictReader(io.StringIO(streamed))] == ["'@cmd", "'-1+1"]
