"""After every fault of the package, on its one platform: reporting rebuilt from offset 0 equals the live read
models, and no customer's phone number or name is in any log, dead letter or shared topic (crash tracebacks,
outage retries and dead letters included). Its file name sorts after the fault modules', so it runs last."""

from __future__ import annotations

import pytest

from tests.faults.support.checks import assert_no_personal_data, assert_rebuild_equals_live
from tests.faults.support.ledger import Ledger
from tests.support.platform import Platform

pytestmark = pytest.mark.faults


async def test_reporting_rebuilt_from_offset_zero_equals_the_live_read_models(
    platform: Platform, ledger: Ledger
) -> None:
    assert len(ledger) > 0, "runs after the package's fault scenarios"
    await assert_rebuild_equals_live(platform, ledger)


async def test_no_phone_or_name_in_any_log_dead_letter_or_shared_topic(platform: Platform, ledger: Ledger) -> None:
    print(f"\n[privacy] {await assert_no_personal_data(platform, ledger)}")
