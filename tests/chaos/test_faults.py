"""Faults against the real pipeline: crashes, a broker restart, a database outage, scale-out.

Each test runs real ``onexgen worker`` processes on topics and databases of its
own and checks what Kafka and Postgres hold afterwards: every request answered,
nothing answered twice with different content, dead letters exactly where due.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import orjson
import pytest

from onexgen.settings import Settings, TopicNames
from onexgen.streams.topics import ensure_topics
from tests.chaos.conftest import Service
from tests.chaos.load import send
from tests.harness import ResultWatcher, WorkerProcess
from tests.harness.kafka import Outgoing, collect, header, produce


def watch(bootstrap: str, topic: str, tag: str) -> ResultWatcher:
    """Every result of this test's requests, from the topic's start, surviving broker restarts."""
    return ResultWatcher(bootstrap, topic, key_prefix=f"{tag}-", from_start=True,
                         keep_values=True)

pytestmark = pytest.mark.integration


def start_worker(workers: list[WorkerProcess], tmp_path: Path, *, bootstrap: str, db: str,
                 prefix: str, **env: str) -> WorkerProcess:
    w = WorkerProcess(bootstrap=bootstrap, database_url=db, prefix=prefix,
                      log_file=tmp_path / f"worker{len(workers)}.log", extra_env=env)
    workers.append(w)
    w.start()
    return w


async def log_mentions(path: Path, needle: bytes, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if needle in await asyncio.to_thread(path.read_bytes):
                return True
        except FileNotFoundError:
            pass
        await asyncio.sleep(0.2)
    return False


async def count_rows(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def wait_rows(url: str, sql: str, expected: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = await count_rows(url, sql)
        except (OSError, asyncpg.PostgresError):
            value = -1
        if value >= expected or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.5)


async def test_kill9_mid_run_then_restart_answers_every_request_identically(
        kafka_bootstrap: str, worker_db: str, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    prefix, tag, n = f"k9{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6], 5_000
    first = start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db,
                         prefix=prefix)
    topics = TopicNames(prefix)
    async with watch(kafka_bootstrap, topics.results, tag) as results:
        await send(kafka_bootstrap, topics.requests, tag, 0, n)
        assert await results.wait_for(800, timeout_s=120) >= 800
        first.kill()  # SIGKILL: no drain, no commit
        killed_at = results.distinct
        start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db, prefix=prefix)
        assert await results.wait_for(n, timeout_s=240) == n
        assert killed_at < n, "the kill must land mid-run for this test to mean anything"
        assert results.duplicates_identical()
        assert results.all_succeeded()


async def test_two_workers_one_killed_survivor_finishes_the_work(
        kafka_bootstrap: str, worker_db: str, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    prefix, tag, n = f"tw{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6], 4_000
    a = start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db, prefix=prefix,
                     ONEXGEN_CODEGEN_WORKERS="1")
    start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db, prefix=prefix,
                 ONEXGEN_CODEGEN_WORKERS="1")
    topics = TopicNames(prefix)
    async with watch(kafka_bootstrap, topics.results, tag) as results:
        await send(kafka_bootstrap, topics.requests, tag, 0, n)
        assert await results.wait_for(600, timeout_s=120) >= 600
        a.kill()
        assert await results.wait_for(n, timeout_s=240) == n
        assert results.duplicates_identical()
        assert results.all_succeeded()


async def test_broker_restart_mid_run_loses_nothing(
        private_kafka: Service, worker_db: str, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    bootstrap = private_kafka.address
    prefix, tag, n = f"br{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6], 3_000
    start_worker(workers, tmp_path, bootstrap=bootstrap, db=worker_db, prefix=prefix)
    topics = TopicNames(prefix)
    async with watch(bootstrap, topics.results, tag) as results:
        await send(bootstrap, topics.requests, tag, 0, n)
        assert await results.wait_for(300, timeout_s=120) >= 300
        private_kafka.stop()
        await asyncio.sleep(3)  # the outage itself: the broker is down for a while
        assert private_kafka.start() == bootstrap, "the broker comes back on the same port"
        assert await results.wait_for(n, timeout_s=300) == n
        assert results.duplicates_identical()
        assert results.all_succeeded()


async def test_postgres_down_30s_generation_continues_and_rows_land_after(
        kafka_bootstrap: str, private_postgres: Service, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    db = private_postgres.address
    prefix, tag = f"pg{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6]
    start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=db, prefix=prefix)
    topics = TopicNames(prefix)
    rows_sql = ("SELECT count(*) FROM event_processing_metrics "
                f"WHERE event_source = '{topics.requests}'")
    async with watch(kafka_bootstrap, topics.results, tag) as results:
        await send(kafka_bootstrap, topics.requests, tag, 0, 500)
        assert await results.wait_for(500, timeout_s=120) == 500
        assert await wait_rows(db, rows_sql, 500, timeout_s=30) == 500
        private_postgres.stop()
        down_at = time.monotonic()
        await send(kafka_bootstrap, topics.requests, tag, 500, 1_000)
        # Generation goes on without the database.
        assert await results.wait_for(1_500, timeout_s=60) == 1_500
        assert results.all_succeeded()
        assert time.monotonic() - down_at < 30, "all results arrived while Postgres was down"
        await asyncio.sleep(max(0.0, 30 - (time.monotonic() - down_at)))  # a 30 s outage
        private_postgres.start()
        # The rows of the outage were buffered and land after recovery, once each.
        assert await wait_rows(db, rows_sql, 1_500, timeout_s=60) == 1_500


async def test_1000_malformed_among_10000_valid_give_1000_dead_letters_and_10000_results(
        kafka_bootstrap: str, worker_db: str, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    prefix, tag = f"mx{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6]
    topics = TopicNames(prefix)
    await ensure_topics(Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix))
    start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db, prefix=prefix)
    from tests.chaos.load import requests

    valid = requests(tag, 0, 10_000)
    bad_kinds = [b"{not json", b'{"request_id": "x"}', b"[]", b"",
                 b'{"request_id": "y", "node_type": "effect", "name": "def", "domain": "d"}']
    messages: list[Outgoing] = []
    for i, msg in enumerate(valid):
        messages.append(msg)
        if i % 10 == 9:
            k = i // 10
            messages.append((None, bad_kinds[k % len(bad_kinds)],
                             [("correlation-id", f"bad-{tag}-{k}".encode())]))
    async with watch(kafka_bootstrap, topics.results, tag) as results:
        await produce(kafka_bootstrap, topics.requests, messages)
        assert await results.wait_for(10_000, timeout_s=300) == 10_000
        assert results.all_succeeded()
    letters = await collect(kafka_bootstrap, topics.dlq, timeout_s=60,
                            until=lambda rs: len(rs) >= 1_000)
    assert len(letters) == 1_000
    assert all(header(r, "x-error") for r in letters)
    assert {header(r, "correlation-id") for r in letters} == {
        f"bad-{tag}-{k}".encode() for k in range(1_000)}
    assert all(r.value in bad_kinds for r in letters)
    # no stray results for the bad messages
    assert all(orjson.loads(v[0])["request_id"].startswith(tag) for v in results.values.values())


async def test_sigterm_mid_run_drains_in_flight_work_and_restart_repeats_nothing(
        kafka_bootstrap: str, worker_db: str, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    prefix, tag, n = f"st{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6], 3_000
    first = start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db,
                         prefix=prefix)
    # Mid-run, not mid-start (that is the next test): the feedback agent has its models.
    assert await log_mentions(first.log_file, b'"event":"mixin_model_loaded"', timeout_s=120)
    topics = TopicNames(prefix)
    async with watch(kafka_bootstrap, topics.results, tag) as results:
        await send(kafka_bootstrap, topics.requests, tag, 0, n)
        assert await results.wait_for(300, timeout_s=120) >= 300
        assert first.stop() == 0, "a graceful stop exits cleanly"
        stopped_at = results.distinct
        start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db, prefix=prefix)
        assert await results.wait_for(n, timeout_s=240) == n
        assert stopped_at < n
        # Everything the first worker acknowledged was committed on the way out.
        assert all(len(v) == 1 for v in results.values.values())
        assert results.all_succeeded()


async def test_sigterm_while_the_feedback_agent_trains_its_first_models_stops_cleanly(
        kafka_bootstrap: str, worker_db: str, workers: list[WorkerProcess],
        tmp_path: Path) -> None:
    # A fresh database holds no model: for the 1.5-3 s after /ready the feedback agent is
    # training both. The agents must stop before the database and publisher they use.
    worker = start_worker(workers, tmp_path, bootstrap=kafka_bootstrap, db=worker_db,
                          prefix=f"su{uuid.uuid4().hex[:8]}")
    started = time.monotonic()
    assert worker.stop(timeout_s=45) == 0
    assert time.monotonic() - started < 45
    assert b'"event":"worker_stopped"' in worker.log_file.read_bytes()
