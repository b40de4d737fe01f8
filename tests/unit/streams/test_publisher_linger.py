"""The publisher's producer lingers as ``ONEXGEN_KAFKA_LINGER_MS`` says, or as its caller says."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from onexgen.settings import Settings
from streams import publisher as publisher_module
from streams.publisher import Publisher


class _Producer:
    """Records the producer's settings instead of connecting (what is tested is the choice)."""

    made: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.made.append(kwargs)

    async def start(self) -> None:
        return None


@pytest.mark.parametrize(("setting", "given", "used"), [
    (None, None, 0),  # the default: a batch is sent as soon as it is handed over
    (7, None, 7),
    (7, 0, 0),
])
async def test_linger_comes_from_the_setting_unless_given(
    monkeypatch: pytest.MonkeyPatch, setting: int | None, given: int | None, used: int
) -> None:
    monkeypatch.setattr(publisher_module, "AIOKafkaProducer", _Producer)
    monkeypatch.delenv("ONEXGEN_KAFKA_LINGER_MS", raising=False)  # the default is under test
    _Producer.made.clear()
    settings = Settings() if setting is None else Settings(kafka_linger_ms=setting)
    await Publisher(settings, linger_ms=given).start()
    assert _Producer.made[-1]["linger_ms"] == used
