"""Alertmanager's ``time_intervals``: named sets of periods that mute or activate routes.

A route lists interval names under ``mute_time_intervals`` (no notification
while any is in force) or ``active_time_intervals`` (notifications only while
one is). An interval is a list of periods; a period matches a moment when every
field it sets matches (``times`` as ``HH:MM`` ranges, end exclusive;
``weekdays`` ``monday:friday``; ``days_of_month`` ``1:5`` or ``-1`` for the
last day; ``months`` by name or number; ``years``), in its ``location`` (an
IANA zone, default UTC). Each field is parsed and checked the way
Alertmanager's ``timeinterval`` package does, so the same file means the same
hours in both.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = ["Period", "TimeInterval", "TimeRange"]

_DAYS = {d: i for i, d in enumerate(("sunday", "monday", "tuesday", "wednesday", "thursday",
                                     "friday", "saturday"))}
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_HHMM = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")


def _split(text: object, member: Any) -> tuple[int, int]:
    if not isinstance(text, str):
        text = str(text)
    parts = text.lower().split(":")
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"{text!r} is not a range: write one value or begin:end")
    begin = member(parts[0])
    return begin, member(parts[-1])


def _weekday(text: object) -> tuple[int, int]:
    def member(name: str) -> int:
        if name not in _DAYS:
            raise ValueError(f"{name} is not a valid weekday (write monday, monday:friday)")
        return _DAYS[name]
    begin, end = _split(text, member)
    if begin > end:
        raise ValueError("start day cannot be before end day")
    return begin, end


def _day_of_month(text: object) -> tuple[int, int]:
    begin, end = _split(text, int)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 < end:
        raise ValueError("end day must be negative if start day is negative")
    if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
        raise ValueError(f"end day {end} is always before start day {begin}")
    return begin, end


def _month(text: object) -> tuple[int, int]:
    def member(name: str) -> int:
        if name in _MONTHS:
            return _MONTHS[name]
        try:
            return int(name)
        except ValueError:
            raise ValueError(f"{name} is not a valid month") from None
    begin, end = _split(text, member)
    if begin > end:
        raise ValueError(f"end month {end} is before start month {begin}")
    return begin, end


def _year(text: object) -> tuple[int, int]:
    begin, end = _split(text, int)
    if begin > end:
        raise ValueError(f"end year {end} is before start year {begin}")
    return begin, end


def _minutes(text: str) -> int:
    if not _HHMM.match(text):
        raise ValueError(f"couldn't parse timestamp {text}, invalid format (write HH:MM)")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start_time: str
    end_time: str

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if _minutes(self.start_time) >= _minutes(self.end_time):
            raise ValueError("start time cannot be equal or greater than end time")
        return self

    def contains(self, minute: int) -> bool:
        return _minutes(self.start_time) <= minute < _minutes(self.end_time)


Weekdays = Annotated[tuple[int, int], BeforeValidator(_weekday)]
Days = Annotated[tuple[int, int], BeforeValidator(_day_of_month)]
Months = Annotated[tuple[int, int], BeforeValidator(_month)]
Years = Annotated[tuple[int, int], BeforeValidator(_year)]


class Period(BaseModel):
    """One entry of an interval's ``time_intervals`` list (fields left out match always)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    times: list[TimeRange] | None = None
    weekdays: list[Weekdays] | None = None
    days_of_month: list[Days] | None = None
    months: list[Months] | None = None
    years: list[Years] | None = None
    location: str | None = None

    @model_validator(mode="after")
    def _zone(self) -> Period:
        if self.location is not None:
            self.zone()
        return self

    def zone(self) -> ZoneInfo:
        name = self.location or "UTC"
        if name == "Local":
            name = "UTC"  # a server's local zone is not portable; onexgen runs in UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}: use an IANA name such as "
                             "Europe/Berlin") from None

    def contains(self, moment: datetime) -> bool:
        t = moment.astimezone(self.zone())
        if self.times is not None and not any(
                r.contains(t.hour * 60 + t.minute) for r in self.times):
            return False
        if self.days_of_month is not None:
            last = calendar.monthrange(t.year, t.month)[1]
            found = False
            for begin, end in self.days_of_month:
                begin = last + begin + 1 if begin < 0 else begin
                end = last + end + 1 if end < 0 else end
                if begin > last:
                    continue
                if max(min(begin, last), -last) <= t.day <= max(min(end, last), -last):
                    found = True
                    break
            if not found:
                return False
        weekday = (t.weekday() + 1) % 7  # Go: Sunday = 0
        checks = ((self.months, t.month), (self.weekdays, weekday), (self.years, t.year))
        return all(ranges is None or any(b <= value <= e for b, e in ranges)
                   for ranges, value in checks)


class TimeInterval(BaseModel):
    """A named interval (``time_intervals`` entry): in force when any period contains now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    time_intervals: list[Period] = Field(default_factory=list)

    def contains(self, moment: datetime) -> bool:
        return any(p.contains(moment) for p in self.time_intervals)
