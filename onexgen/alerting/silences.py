"""Silences: operator-made, expiring mutes of the alerts their matchers select.

Created with ``onexgen alerts silence --matcher k=v --duration 1h --comment ...``
and stored in Postgres (``alert_silences``, :mod:`storage.repositories.silences`)
so that every worker's alert-manager sees them and they survive restarts. The
alert-manager keeps an in-memory :class:`SilenceSet` refreshed from the table
every few seconds; checking an alert is a scan of the active silences, which
are few. A silence mutes notifications only - the alert still fires, shows on
the dashboard and is counted - and when it expires, a still-firing alert is
notified at the next group flush.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from onexgen.alerting.matchers import Matcher, matches_all, parse_matchers

__all__ = ["Silence", "SilenceSet", "new_silence"]


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    parsed: tuple[Matcher, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.matchers:
            raise ValueError("a silence needs at least one matcher "
                             "(e.g. alertname=cache_hit_rate_low)")
        if self.ends_at <= self.starts_at:
            raise ValueError("a silence must end after it starts; give a positive --duration")
        object.__setattr__(self, "parsed", parse_matchers(self.matchers))

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def silences(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.active(now) and matches_all(self.parsed, labels)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "matchers": list(self.matchers),
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "created_by": self.created_by, "comment": self.comment}


def new_silence(matchers: Iterable[str], duration: timedelta, *, comment: str,
                created_by: str, now: datetime | None = None) -> Silence:
    """A silence starting now for ``duration``; matchers are validated here, not at use."""
    start = now or datetime.now(UTC)
    return Silence(uuid.uuid4().hex, tuple(matchers), start, start + duration, created_by,
                   comment)


class SilenceSet:
    """The silences one alert-manager knows, replaced wholesale on each refresh."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self._silences: list[Silence] = list(silences)

    def replace(self, silences: Iterable[Silence]) -> None:
        self._silences = list(silences)

    def add(self, silence: Silence) -> None:
        self._silences = [s for s in self._silences if s.id != silence.id] + [silence]

    def silenced_by(self, labels: Mapping[str, str], now: datetime) -> str | None:
        """The id of an active silence matching ``labels``, else None."""
        for silence in self._silences:
            if silence.silences(labels, now):
                return silence.id
        return None

    def active(self, now: datetime) -> list[Silence]:
        return [s for s in self._silences if s.active(now)]
