"""The benchmark's hand-written baselines do the worker's job, with its guarantees."""

from __future__ import annotations

import pytest

from onexgen.settings import Settings
from onexgen.streams.topics import ensure_topics
from tests.integration.bench.baselines import GROUPS, check_baseline

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("module", list(GROUPS))
async def test_baseline_answers_with_the_jobs_bytes_then_commits(
        module: str, kafka_bootstrap: str, unique_prefix: str) -> None:
    await ensure_topics(Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix))
    await check_baseline(module, kafka_bootstrap, unique_prefix, {})
