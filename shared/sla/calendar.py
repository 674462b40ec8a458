"""Workdays of the Chinese calendar: weekends, public holidays and make-up workdays (调休).

Uses the maintained `chinese-calendar` package for the years it covers; for later years (the State
Council publishes each year's arrangement in November) it falls back to Monday–Friday plus the
holidays and make-up days listed in the SLA configuration, and says so in the log once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from shared.logging import get_logger

log = get_logger(__name__)


class WorkCalendar:
    def __init__(
        self,
        timezone: str | ZoneInfo = "Asia/Shanghai",
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self.tz = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self._warned_years: set[int] = set()
        #: Days already looked up: every deadline walks the same few days ahead, several times per work order.
        self._known: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                log.warning("no official calendar for this year: Monday-Friday plus configured days", year=day.year)
            return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, start: datetime, workdays: int) -> datetime:
        """`workdays` workdays after `start`, as local time.

        On a workday the deadline keeps the time of day (Wed 15:00 + 1 = Thu 15:00). Started on a day
        off, the clock starts with the next workday, and N workdays end at the close of the Nth one
        (Sun 15:00 + 1 = end of Monday), which is how "reply within 1 workday" is read by customers.
        """
        if workdays < 0:
            raise ValueError("workdays must not be negative")
        local = start.astimezone(self.tz)
        day = local.date()
        if not self.is_workday(day):
            day = self.next_workday(day)
            local = datetime.combine(day, time(0), self.tz)
            workdays -= 1
            if workdays < 0:
                return local
            # "End of the Nth workday" is the start of the next day.
            end = self._advance(day, workdays)
            return datetime.combine(end + timedelta(days=1), time(0), self.tz)
        end = self._advance(day, workdays)
        return datetime.combine(end, local.timetz().replace(tzinfo=None), self.tz)

    def _advance(self, day: date, workdays: int) -> date:
        while workdays > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                workdays -= 1
        return day
