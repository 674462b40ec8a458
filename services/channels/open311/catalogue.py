"""The Open311 service list: our complaint categories as GeoReport v2 services, and their service definitions.

Why our categories and not a list of our own: a civic app's choice then arrives as the complaint's category hint,
so dispatch routes it as it routes any other channel's. Every service is `batch` type: a POST answers with a
token at once, and the service request id — our reference number — exists only once intake has accepted the
complaint (`tokens/{token}`). Names are given in Chinese or English (the request's `Accept-Language`).

Attributes (`attribute[code]=value` on POST) carry what a civic app's form can ask beyond the description: the
utility account number (so intake matches the household), the room temperature of a heating complaint, which
supply is out. Nothing here does I/O; the definitions are checked when the module loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.contracts.complaint import ACCOUNT_NO_MAX_LENGTH, ACCOUNT_NO_PATTERN, Category

Language = Literal["zh", "en"]
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


@dataclass(frozen=True)
class Choice:
    key: str
    name: dict[Language, str]


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: Datatype
    required: bool
    order: int
    description: dict[Language, str]
    datatype_description: dict[Language, str] | None = None
    values: tuple[Choice, ...] = ()
    #: A regular expression a string value must match in full.
    pattern: str | None = None
    #: How the value reads in the complaint text ("室温：{value}°C"); None: not put in the text.
    in_text: dict[Language, str] | None = None


@dataclass(frozen=True)
class Service:
    code: str
    name: dict[Language, str]
    description: dict[Language, str]
    group: str
    keywords: dict[Language, str]
    attributes: tuple[Attribute, ...] = ()

    @property
    def metadata(self) -> bool:
        """Spec: true when a client must read the service definition for more form fields."""
        return bool(self.attributes)

    def attribute(self, code: str) -> Attribute | None:
        return next((a for a in self.attributes if a.code == code), None)


ACCOUNT = Attribute(
    code="account_no",
    datatype="string",
    required=False,
    order=1,
    description={"zh": "用户编号（缴费户号），如有", "en": "Your utility account number, if you have it"},
    datatype_description={"zh": "字母、数字或连字符，最多 32 位", "en": "Letters, digits or hyphens, up to 32"},
    pattern=ACCOUNT_NO_PATTERN.removeprefix("^").removesuffix("+$") + f"{{1,{ACCOUNT_NO_MAX_LENGTH}}}",
)
ROOM_TEMPERATURE = Attribute(
    code="room_temperature",
    datatype="number",
    required=False,
    order=2,
    description={"zh": "室内温度（摄氏度）", "en": "Room temperature (°C)"},
    datatype_description={"zh": "数字，如 15.5", "en": "A number, e.g. 15.5"},
    in_text={"zh": "室温：{value}°C", "en": "Room temperature: {value}°C"},
)
SUPPLY = Attribute(
    code="supply",
    datatype="singlevaluelist",
    required=True,
    order=2,
    description={"zh": "哪项供应中断？", "en": "Which supply is out?"},
    values=(
        Choice("heat", {"zh": "供热", "en": "Heating"}),
        Choice("power", {"zh": "供电", "en": "Electricity"}),
        Choice("water", {"zh": "供水", "en": "Water"}),
        Choice("gas", {"zh": "供气", "en": "Gas"}),
    ),
    in_text={"zh": "中断：{value}", "en": "Supply out: {value}"},
)


def _service(category: Category, zh: str, en: str, group: str, keywords: tuple[str, str], *extra: Attribute) -> Service:
    return Service(
        code=category.value,
        name={"zh": zh, "en": en},
        description={"zh": f"{zh}方面的投诉或报修", "en": f"Complaints and reports: {en.lower()}"},
        group=group,
        keywords={"zh": keywords[0], "en": keywords[1]},
        attributes=(ACCOUNT, *extra),
    )


SERVICES: tuple[Service, ...] = (
    _service(
        Category.HEATING_TEMPERATURE,
        "室温不达标",
        "Room not warm enough",
        "heating",
        ("暖气不热, 室温低, 供暖", "heating, radiator cold, temperature"),
        ROOM_TEMPERATURE,
    ),
    _service(
        Category.EQUIPMENT_FAULT,
        "设备故障",
        "Equipment fault",
        "repair",
        ("漏水, 阀门, 表计, 水泵", "leak, valve, meter, pump"),
    ),
    _service(
        Category.OUTAGE,
        "停电停热停水停气",
        "Outage",
        "repair",
        ("停电, 停热, 停水, 停气", "outage, no power, no heat"),
        SUPPLY,
    ),
    _service(
        Category.SAFETY_HAZARD,
        "安全隐患",
        "Safety hazard",
        "repair",
        ("燃气味, 漏电, 积水", "gas smell, live wire, flooding"),
    ),
    _service(
        Category.BILLING,
        "费用争议",
        "Billing",
        "billing",
        ("账单, 收费, 退费, 抄表", "bill, fee, refund, meter reading"),
    ),
    _service(
        Category.SERVICE_ATTITUDE,
        "服务态度",
        "Service conduct",
        "customer_service",
        ("态度, 爽约", "conduct, no-show"),
    ),
    _service(Category.CONSULTATION, "咨询", "Enquiry", "customer_service", ("咨询, 问题", "question, enquiry")),
    _service(Category.OTHER, "其他", "Other", "customer_service", ("其他", "other")),
)
BY_CODE = {service.code: service for service in SERVICES}


def _check() -> None:
    """Spec rules on definitions: unique attribute orders per service; lists carry values, others none."""
    for service in SERVICES:
        orders = [a.order for a in service.attributes]
        if len(set(orders)) != len(orders) or min(orders, default=1) < 1:
            raise ValueError(f"{service.code}: attribute orders must be distinct positive integers")
        for attribute in service.attributes:
            listed = attribute.datatype in ("singlevaluelist", "multivaluelist")
            if listed != bool(attribute.values):
                raise ValueError(f"{service.code}.{attribute.code}: values go with list datatypes only")


_check()
