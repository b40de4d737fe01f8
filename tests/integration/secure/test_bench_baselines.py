"""The benchmark's baselines run on the secured stack (SASL_SSL + SCRAM-SHA-512 + ACLs):
they take the ``ONEXGEN_KAFKA_*`` security settings as the worker does, so ``bench e2e``
can compare the pipelines there too."""

from __future__ import annotations

import pytest

from onexgen.streams.topics import ensure_topics
from tests.integration.bench.baselines import GROUPS, check_baseline
from tests.integration.secure.conftest import SecureStack

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("module", list(GROUPS))
async def test_baseline_on_secured_stack_answers_then_commits(
        module: str, secure_stack: SecureStack, secure_prefix: str) -> None:
    await ensure_topics(secure_stack.settings("admin", topic_prefix=secure_prefix))
    await check_baseline(module, secure_stack.bootstrap, secure_prefix,
                         secure_stack.client_kwargs("admin"), env=secure_stack.kafka_env("admin"))
