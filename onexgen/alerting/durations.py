"""Prometheus durations (``30s``, ``1h30m``, ``500ms``), read and written as Prometheus does.

Alertmanager's ``group_wait``/``resolve_timeout`` and Prometheus' ``for`` and
``interval`` are strings in this grammar, units largest first, each at most
once: ``y`` (365 d), ``w``, ``d``, ``h``, ``m``, ``s``, ``ms``. A bare number is
not a duration there (``30`` is rejected), so it is rejected here too: a file
that onexgen accepts must be one that Alertmanager accepts.
"""

from __future__ import annotations

import re

from onexgen.alerting.errors import DurationError

__all__ = ["format_duration", "parse_duration"]

_UNITS = (("y", 31_536_000_000), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000),
          ("m", 60_000), ("s", 1000), ("ms", 1))
_FORM = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?"
                   r"(?:(\d+)ms)?$")


def parse_duration(text: object) -> float:
    """``'1h30m'`` -> ``5400.0`` seconds; anything else raises :class:`DurationError`."""
    if not isinstance(text, str):
        raise DurationError(f"{text!r} is not a duration: write it as a string with a unit, "
                            "e.g. 30s, 5m, 1h30m")
    if text == "0":
        return 0.0
    found = _FORM.match(text)
    if not text or found is None:
        raise DurationError(f"{text!r} is not a valid duration: write e.g. 30s, 5m, 1h30m, "
                            "500ms (units y w d h m s ms, largest first)")
    ms = sum(int(group) * size for group, (_, size) in zip(found.groups(), _UNITS, strict=True)
             if group)
    return ms / 1000


def format_duration(seconds: float) -> str:
    """``5400`` -> ``1h30m``; whole milliseconds, largest units first (``0`` -> ``0s``)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, size in _UNITS[1:]:  # Prometheus prints weeks, never years
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
