"""The SLA table: which limits apply to a case, and the deadlines they give.

One file (`policy.toml` beside this module, or `SLA_POLICY_PATH`) is read by dispatch and followup
alike, so both always agree on what "late" means.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts import Category
from shared.sla.calendar import WorkCalendar
from shared.sla.limits import Limit, parse_limit

DEFAULT_PATH = Path(__file__).with_name("policy.toml")
Severity = Literal["emergency", "serious", "normal"]
LIMIT_NAMES = ("acknowledge", "on_site", "resolve", "interim_reply", "callback")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _limit(value: str | None) -> str | None:
    if value is not None:
        parse_limit(value)
    return value


class RuleConfig(_Strict):
    category: str = "*"
    severity: str = "*"
    season: Literal["heating_start"] | None = None
    acknowledge: str | None = None
    on_site: str | None = None
    resolve: str | None = None
    interim_reply: str | None = None
    callback: str | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value != "*" and value not in {c.value for c in Category}:
            raise ValueError(f"unknown category {value!r}")
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in ("*", "emergency", "serious", "normal"):
            raise ValueError(f"unknown severity {value!r}")
        return value

    _check_limits = field_validator(*LIMIT_NAMES)(lambda cls, v: _limit(v))


class HeatingSeason(_Strict):
    start: str = "11-15"
    first_days: int = Field(default=14, ge=0)

    def contains(self, day: date) -> bool:
        month, dom = (int(x) for x in self.start.split("-"))
        for year in (day.year, day.year - 1):
            begin = date(year, month, dom)
            if begin <= day < begin + timedelta(days=self.first_days):
                return True
        return False


class CalendarConfig(_Strict):
    extra_holidays: list[date] = []
    extra_workdays: list[date] = []


class Defaults(_Strict):
    acknowledge: str = "1wd"
    resolve: str = "7wd"
    callback: str = "2wd"
    _check = field_validator("acknowledge", "resolve", "callback")(lambda cls, v: _limit(v))


class SlaConfig(_Strict):
    timezone: str = "Asia/Shanghai"
    warning_share: float = Field(default=0.8, gt=0, lt=1)
    escalation_ladder: list[str] = Field(default=["supervisor", "department_manager", "general_manager"], min_length=1)
    escalation_interval: str = "2h"
    phone_interim_reply: str = "12h"
    calendar: CalendarConfig = CalendarConfig()
    heating_season: HeatingSeason = HeatingSeason()
    defaults: Defaults = Defaults()
    rules: list[RuleConfig] = Field(min_length=1)

    _check = field_validator("escalation_interval", "phone_interim_reply")(lambda cls, v: _limit(v))


@dataclass(frozen=True)
class SlaPolicy:
    """The limits that apply to one case."""

    rule: int
    acknowledge: Limit
    on_site: Limit | None
    resolve: Limit
    interim_reply: Limit | None
    callback: Limit

    @property
    def policy_id(self) -> str:
        return f"rule-{self.rule}"


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: datetime
    on_site_by: datetime | None
    resolve_by: datetime
    interim_reply_by: datetime | None
    callback_limit: str


class SlaTable:
    def __init__(self, config: SlaConfig) -> None:
        self.config = config
        self.calendar = WorkCalendar(
            config.timezone,
            extra_holidays=config.calendar.extra_holidays,
            extra_workdays=config.calendar.extra_workdays,
        )
        self.warning_share = config.warning_share
        self.escalation_ladder = tuple(config.escalation_ladder)
        self.escalation_interval = parse_limit(config.escalation_interval)
        self.phone_interim_reply = parse_limit(config.phone_interim_reply)

    def policy_for(self, category: str, severity: str, at: datetime) -> SlaPolicy:
        local_day = at.astimezone(self.calendar.tz).date()
        in_season_start = self.config.heating_season.contains(local_day)
        for index, rule in enumerate(self.config.rules, start=1):
            if rule.category not in ("*", category) or rule.severity not in ("*", severity):
                continue
            if rule.season == "heating_start" and not in_season_start:
                continue
            d = self.config.defaults
            return SlaPolicy(
                rule=index,
                acknowledge=parse_limit(rule.acknowledge or d.acknowledge),
                on_site=parse_limit(rule.on_site) if rule.on_site else None,
                resolve=parse_limit(rule.resolve or d.resolve),
                interim_reply=parse_limit(rule.interim_reply) if rule.interim_reply else None,
                callback=parse_limit(rule.callback or d.callback),
            )
        raise LookupError(f"no SLA rule for {category}/{severity}: add a '*' rule at the end of the policy")

    def deadlines(
        self, policy: SlaPolicy, start: datetime, *, channel: str | None = None, scale: float = 1.0
    ) -> Deadlines:
        """Deadlines from `start` (when the complaint was accepted). Phone complaints always get an
        interim reply within `phone_interim_reply` unless the rule asks for sooner."""
        interim = policy.interim_reply
        if channel == "phone" and (interim is None or _minutes(self.phone_interim_reply) < _minutes(interim)):
            interim = self.phone_interim_reply
        cal = self.calendar
        return Deadlines(
            acknowledge_by=policy.acknowledge.deadline(start, cal, scale),
            on_site_by=policy.on_site.deadline(start, cal, scale) if policy.on_site else None,
            resolve_by=policy.resolve.deadline(start, cal, scale),
            interim_reply_by=interim.deadline(start, cal, scale) if interim else None,
            callback_limit=str(policy.callback),
        )


def _minutes(limit: Limit) -> float:
    return limit.amount * {"m": 1, "h": 60, "d": 1440, "wd": 1440}[limit.unit]


def load_sla_table(path: str | Path | None = None) -> SlaTable:
    chosen = Path(path or os.environ.get("SLA_POLICY_PATH") or DEFAULT_PATH)
    with chosen.open("rb") as handle:
        raw = tomllib.load(handle)
    try:
        return SlaTable(SlaConfig.model_validate(raw))
    except ValueError as exc:
        raise ValueError(f"invalid SLA policy {chosen}: {exc}") from exc
