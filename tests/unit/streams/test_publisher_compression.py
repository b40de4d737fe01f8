"""A compression codec whose library is missing fails at start, naming the fix."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from onexgen.settings import Settings
from onexgen.streams.errors import PublishError
from onexgen.streams.publisher import Publisher


async def test_start_compression_library_missing_names_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, attrs = AIOKafkaProducer._COMPRESSORS["zstd"]
    monkeypatch.setitem(AIOKafkaProducer._COMPRESSORS, "zstd", (lambda: False, attrs))
    publisher = Publisher(Settings(kafka_bootstrap="127.0.0.1:1", kafka_compression="zstd"))
    with pytest.raises(PublishError, match=r"onexgen\[compression\].*COMPRESSION=none"):
        await publisher.start()


def test_settings_unknown_codec_refused() -> None:
    with pytest.raises(ValueError, match="zstd"):
        Settings(kafka_compression="brotli")
