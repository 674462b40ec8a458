"""Filing an Open311 request (`handlers/open311.file_request`) on the in-memory fake through the door: one
`channel.complaint` (channel app, the service code as category hint, the client system named, the attributes in the
text), a retried POST answers the same token and files nothing more, and what a GET may show is the public copy —
masked description, district, rounded coordinates. A form's odd characters (a line break in an address, a NUL in
the description) are cleaned, not a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from services.channels.handlers.context import ChannelsContext
from services.channels.handlers.open311 import file_request, public_description
from services.channels.open311 import params
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.contracts.channels import ChannelComplaint
from shared.handling import Door
from tests.fakes.channels import FakeTransactions

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
FORM = (
    b"api_key=k&service_code=heating_temperature&lat=39.912345&long=116.401234"
    b"&address_string=%E5%B9%B8%E7%A6%8F%E9%87%8C3%E5%8F%B7%E6%A5%BC%0A2%E5%8D%95%E5%85%83501"
    b"&description=%E6%9A%96%E6%B0%94%E4%B8%8D%E7%83%AD%00%EF%BC%8C%E8%AF%B7%E6%89%93+13912345678+%E6%88%96"
    b"+wang%40example.org&attribute%5Broom_temperature%5D=15.5&attribute%5Baccount_no%5D=A-1001"
    b"&first_name=%E6%98%8E&last_name=%E7%8E%8B&phone=13912345678&email=wang%40example.org"
)


def _door() -> tuple[Door[ChannelsRepository, ChannelsContext], FakeTransactions]:
    transactions = FakeTransactions()
    context = ChannelsContext.from_settings(ChannelsSettings(app_env="test"))
    return Door(transactions, context, clock=lambda: NOW), transactions


async def test_a_request_is_handed_on_once_and_kept_public() -> None:
    door, transactions = _door()
    cmd = params.file_request(params.form_pairs(FORM), client="fixmystreet", raw_body=FORM)
    filed = await door.run(file_request, cmd)
    again = await door.run(file_request, cmd)
    assert (again.token, again.duplicate, filed.duplicate) == (filed.token, True, False)

    state = transactions.state
    [event] = state.outbox
    assert isinstance(event, ChannelComplaint)
    p = event.payload
    assert (p.channel.value, p.provider, p.client, p.category_hint) == (
        "app",
        "open311",
        "fixmystreet",
        "heating_temperature",
    )
    assert p.location.address == "幸福里3号楼 2单元501" and p.location.coordinates is not None
    assert "室温：15.5°C" in p.text and "\x00" not in p.text
    assert (p.customer.name, p.customer.account_no, p.customer.preferred_contact.value) == ("王明", "A-1001", "sms")

    public = state.open311_requests[filed.token]
    assert public.description == "暖气不热，请打 139******78 或 ***@***"
    assert (public.address, public.latitude, public.longitude) == ("未指明", 39.912, 116.401)
    assert public.complaint_id == event.complaint_id


def test_the_public_description_masks_an_id_number_as_well() -> None:
    text = "户主身份证 11010519491231002X，电话 13912345678，邮箱 13912345678@qq.com"
    public = public_description(text)
    assert public == "户主身份证 110*************2X，电话 139******78，邮箱 ***@***"
