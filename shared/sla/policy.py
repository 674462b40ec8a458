"""The SLA table: which limits apply to a case, the deadlines they give, and who hears when one runs out.

One file (`policy.toml` beside this module, or `SLA_POLICY_PATH`) is read by dispatch and followup
alike, so both always agree on what "late" means. A limit may differ by the district's area class
(city / rural / remote: crews need longer to reach a village), and each rule names the escalation ladder
its breaches climb.
"""

from __future__ import annotations

import os
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts import Category
from shared.sla.calendar import WorkCalendar
from shared.sla.limits import Limit, parse_limit

DEFAULT_PATH = Path(__file__).with_name("policy.toml")
Severity = Literal["emergency", "serious", "normal"]
LIMIT_NAMES = ("acknowledge", "on_site", "resolve", "interim_reply", "callback")
AREA_CLASSES = ("city", "rural", "remote")
#: A limit: one for every area ("45m"), or one per area class ({city = "45m", rural = "90m", remote = "2h"};
#: a class left out takes the city's).
LimitSpec = str | dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _limit(value: LimitSpec | None) -> LimitSpec | None:
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(AREA_CLASSES))
        if unknown:
            raise ValueError(f"unknown area class {', '.join(unknown)}: one of {', '.join(AREA_CLASSES)}")
        if "city" not in value:
            raise ValueError("a limit per area class names the city's")
        for limit in value.values():
            parse_limit(limit)
    elif value is not None:
        parse_limit(value)
    return value


def _for_area(value: LimitSpec, area_class: str) -> Limit:
    if isinstance(value, dict):
        return parse_limit(value.get(area_class, value["city"]))
    return parse_limit(value)


class RuleConfig(_Strict):
    category: str = "*"
    severity: str = "*"
    season: Literal["heating_start"] | None = None
    acknowledge: LimitSpec | None = None
    on_site: LimitSpec | None = None
    resolve: LimitSpec | None = None
    interim_reply: LimitSpec | None = None
    callback: LimitSpec | None = None
    #: The ladder (of `[ladders]`) its breaches climb; "default" when left out.
    ladder: str = "default"

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


#: Ladders the paths name by default, so a policy that defines no `[ladders]` still loads (and may override them).
BUILT_IN_LADDERS: dict[str, list[str]] = {
    "dissatisfied": ["project_manager", "general_manager"],
    "duty_manager": ["department_manager", "general_manager"],
    "corrective_action": ["department_manager", "leadership"],
}


class AreaConfig(_Strict):
    """Which districts are rural or remote; every other district is city (or `default`)."""

    default: Literal["city", "rural", "remote"] = "city"
    rural: list[str] = []
    remote: list[str] = []

    @model_validator(mode="after")
    def _disjoint(self) -> AreaConfig:
        both = sorted({d.lower() for d in self.rural} & {d.lower() for d in self.remote})
        if both:
            raise ValueError(f"districts both rural and remote: {', '.join(both)}")
        return self


class DutyManagerConfig(_Strict):
    """A counter complaint not settled on the spot, or an agitated customer: the duty manager comes."""

    acknowledge: str = "5m"
    ladder: str = "duty_manager"
    channels: list[str] = ["counter"]
    _check = field_validator("acknowledge")(lambda cls, v: _limit(v))


class FollowThroughConfig(_Strict):
    """What happens after handling: the dissatisfied path and corrective actions of serious cases."""

    #: A customer still dissatisfied this long after the dissatisfied callback: the dissatisfied ladder's
    #: first rung (the project manager) is told; dissatisfied twice goes to its top at once.
    dissatisfied_after: str = "24h"
    dissatisfied_ladder: str = "dissatisfied"
    corrective_action_ladder: str = "corrective_action"
    _check = field_validator("dissatisfied_after")(lambda cls, v: _limit(v))


class EscalationAnswerConfig(_Strict):
    """An escalation's answer step: the department replies (what it is doing, by when) within `within` of the rung
    being climbed; an answered rung climbs no further, an unanswered one climbs when the limit passes. Left out:
    the escalation interval, so a policy without this section climbs exactly as before."""

    within: str | None = None
    _check = field_validator("within")(lambda cls, v: _limit(v))


class SlaConfig(_Strict):
    timezone: str = "Asia/Shanghai"
    warning_share: float = Field(default=0.8, gt=0, lt=1)
    #: The default ladder when `[ladders]` names none.
    escalation_ladder: list[str] = Field(default=["supervisor", "department_manager", "general_manager"], min_length=1)
    ladders: dict[str, list[str]] = {}
    escalation_interval: str = "2h"
    phone_interim_reply: str = "12h"
    calendar: CalendarConfig = CalendarConfig()
    heating_season: HeatingSeason = HeatingSeason()
    areas: AreaConfig = AreaConfig()
    duty_manager: DutyManagerConfig = DutyManagerConfig()
    follow_through: FollowThroughConfig = FollowThroughConfig()
    escalation_answer: EscalationAnswerConfig = EscalationAnswerConfig()
    defaults: Defaults = Defaults()
    rules: list[RuleConfig] = Field(min_length=1)

    _check = field_validator("escalation_interval", "phone_interim_reply")(lambda cls, v: _limit(v))

    @model_validator(mode="after")
    def _ladders_known(self) -> SlaConfig:
        """Every ladder a rule or path names exists and has rungs: a typo would leave a breach with nobody to tell."""
        known = {"default", *BUILT_IN_LADDERS, *self.ladders}
        empty = sorted(name for name, roles in self.ladders.items() if not roles)
        if empty:
            raise ValueError(f"ladders without rungs: {', '.join(empty)}")
        named = {r.ladder for r in self.rules} | {
            self.duty_manager.ladder,
            self.follow_through.dissatisfied_ladder,
            self.follow_through.corrective_action_ladder,
        }
        unknown = sorted(named - known)
        if unknown:
            raise ValueError(f"unknown ladder {', '.join(unknown)}: define it under [ladders]")
        return self


@dataclass(frozen=True)
class SlaPolicy:
    """The limits that apply to one case."""

    rule: int
    acknowledge: Limit
    on_site: Limit | None
    resolve: Limit
    interim_reply: Limit | None
    callback: Limit
    area_class: str = "city"
    ladder: str = "default"

    @property
    def policy_id(self) -> str:
        return f"rule-{self.rule}" if self.area_class == "city" else f"rule-{self.rule}/{self.area_class}"


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
        self.ladders: dict[str, tuple[str, ...]] = {
            name: tuple(roles) for name, roles in {**BUILT_IN_LADDERS, **config.ladders}.items()
        }
        self.ladders.setdefault("default", self.escalation_ladder)
        self.escalation_ladder = self.ladders["default"]
        self.escalation_interval = parse_limit(config.escalation_interval)
        #: How long the department has to answer an escalation before the next rung hears of it.
        self.escalation_answer_within = parse_limit(config.escalation_answer.within or config.escalation_interval)
        self.phone_interim_reply = parse_limit(config.phone_interim_reply)
        self.duty_manager = config.duty_manager
        self.duty_manager_acknowledge = parse_limit(config.duty_manager.acknowledge)
        self.dissatisfied_after = parse_limit(config.follow_through.dissatisfied_after)
        self._areas = {_district(d): "rural" for d in config.areas.rural} | {
            _district(d): "remote" for d in config.areas.remote
        }

    def ladder(self, name: str) -> tuple[str, ...]:
        """The roles of a named ladder, first rung first (an unknown name: the default ladder)."""
        return self.ladders.get(name, self.escalation_ladder)

    def area_class(self, district: str | None) -> str:
        """city, rural or remote: from `[areas]`, by the district's name (case, width and spaces ignored)."""
        if not district:
            return self.config.areas.default
        return self._areas.get(_district(district), self.config.areas.default)

    def policy_for(self, category: str, severity: str, at: datetime, *, district: str | None = None) -> SlaPolicy:
        area = self.area_class(district)
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
                acknowledge=_for_area(rule.acknowledge or d.acknowledge, area),
                on_site=_for_area(rule.on_site, area) if rule.on_site else None,
                resolve=_for_area(rule.resolve or d.resolve, area),
                interim_reply=_for_area(rule.interim_reply, area) if rule.interim_reply else None,
                callback=_for_area(rule.callback or d.callback, area),
                area_class=area,
                ladder=rule.ladder,
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


def _district(name: str) -> str:
    """A district's name as `[areas]` compares it: full-width folded (NFKC), case and spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


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
