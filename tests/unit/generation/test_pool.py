"""The generation pool: enforced per-job timeouts, backpressure, caches, statistics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
from collections.abc import AsyncIterator

import pytest

from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.errors import PoolUnavailable
from onexgen.generation.job import run_job, timed_out
from onexgen.generation.pool import GenerationPool, InFlightLimit
from onexgen.models.wire import GenerationRequest, GenerationResult
from tests.harness.jobs import run_job_with_delays
from tests.harness.receivers import wait_until
from tests.unit.generation.conftest import raw_request

TIMEOUT_S = 4.0  # well above a normal job even at load average 30 (1.5 s flaked)


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[GenerationPool]:
    """Two processes running the slow/hanging test job, a short timeout, room for 4 jobs."""
    generation_pool = GenerationPool(2, job_timeout_s=TIMEOUT_S, max_in_flight=4,
                                     shared_cache=False, job=run_job_with_delays)
    await generation_pool.start()
    yield generation_pool
    await generation_pool.stop()


@pytest.fixture(scope="module")
async def single() -> AsyncIterator[GenerationPool]:
    """One process and the shared (memory) output cache: every job lands in the same caches."""
    generation_pool = GenerationPool(1)
    await generation_pool.start()
    yield generation_pool
    await generation_pool.stop()


async def test_run_hung_job_cut_off_by_timeout_while_rest_of_batch_succeeds(
    pool: GenerationPool
) -> None:
    items = [(raw_request(f"h{i}"), f"c{i}") for i in range(6)]
    items.insert(3, (raw_request("hang-1", name="TestHangForever"), "c-hang"))
    outcomes = await pool.run(items)
    hung = outcomes[3]
    assert (hung.kind, hung.request_id, hung.status, hung.error_type) == (
        "result", "hang-1", "failed", "timeout")
    assert f"timed out after {TIMEOUT_S:g}s" in (hung.reason or "")
    result = GenerationResult.model_validate_json(hung.payload)
    assert result.correlation_id == "c-hang" and result.error == hung.reason
    others = outcomes[:3] + outcomes[4:]
    assert [o.request_id for o in others] == [f"h{i}" for i in range(6)]
    assert all(o.status == "succeeded" for o in others)
    again = await pool.run([(raw_request("after-hang"), "c")])  # the pool is whole again
    assert again[0].status == "succeeded"


def test_timed_out_request_without_usable_id_dead_lettered_with_timeout_reason() -> None:
    outcome = timed_out(b'{"request_id":"x y"}', "c", 2.0)
    assert (outcome.kind, outcome.error_type) == ("invalid", "timeout")
    assert "timed out after 2s" in (outcome.reason or "")


def test_run_job_hang_name_in_production_job_is_an_ordinary_request() -> None:
    engine = Engine(EngineConfig(composition=False))
    outcome = run_job(raw_request("plain", name="TestHangForever"), "c", engine)
    assert outcome.status == "succeeded"


def test_a_chunk_decoded_ahead_is_decoded_once_and_its_bad_requests_still_reported(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from onexgen.generation import job

    raws: list[bytes | None] = [raw_request("a1"), b"{not json", None, raw_request("a1"),
                                raw_request("a2")]
    requests = job.decode_ahead(raws)
    assert [r.request_id for r in requests] == ["a1", "a1", "a2"]
    decodes: list[bytes | None] = []
    real = job.decode_request

    def counted(raw: bytes | None) -> job.Decoded:
        decodes.append(raw)
        return real(raw)

    monkeypatch.setattr(job, "decode_request", counted)
    engine = Engine(EngineConfig(composition=False))
    outcomes = [run_job(raw, "c", engine) for raw in raws]
    assert [(o.kind, o.request_id) for o in outcomes] == [
        ("result", "a1"), ("invalid", None), ("invalid", None), ("result", "a1"),
        ("result", "a2")]
    # Only what could not be decoded ahead, and the repeat of a body (held once).
    assert decodes == [b"{not json", None, raws[3]]
    assert job._ahead == {}  # nothing of the chunk is kept after its jobs


def test_a_chunk_detects_patterns_only_for_requests_the_output_cache_will_not_answer(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from onexgen.generation import engine as engine_module
    from onexgen.generation import job, output_cache

    engine = Engine(EngineConfig(composition=False, detect_patterns=True))
    same = "Keeps users."
    assert run_job(raw_request("seen-1", description=same), "c", engine).cached is False
    primed: list[str] = []
    real_prime = engine.prime_patterns

    def recording(requests: list[GenerationRequest]) -> None:
        primed.extend(r.request_id for r in requests)
        real_prime(requests)

    monkeypatch.setattr(engine, "prime_patterns", recording)
    # The same body under another id is answered by the cache; another name is not.
    raws: list[bytes | None] = [raw_request("seen-2", description=same),
                                raw_request("new-1", name="Other", description=same),
                                b"{not json"]
    job.prepare_ahead(raws, engine)
    assert primed == ["new-1"]
    prints: list[object] = []
    real_print = output_cache.fingerprint

    def counted(data: dict[str, object]) -> str:
        prints.append(data)
        return real_print(data)

    monkeypatch.setattr(engine_module, "fingerprint", counted)
    outcomes = [run_job(raw, "c", engine) for raw in raws]
    assert [(o.request_id, o.cached) for o in outcomes] == [
        ("seen-2", True), ("new-1", False), (None, False)]
    assert prints == []  # each job used the fingerprint computed before the chunk
    assert job._ahead == {}  # nothing of the chunk is kept after its jobs


async def test_run_concurrent_batches_in_flight_never_exceeds_bound(pool: GenerationPool) -> None:
    batches = [[(raw_request(f"s{b}-{i}", name="TestSlowJob"), "c") for i in range(2)]
               for b in range(3)]
    big = [(raw_request(f"big-{i}", name="TestSlowJob"), "c") for i in range(9)]
    pool.limit.peak = 0
    results = await asyncio.gather(*(pool.run(b) for b in batches), pool.run(big))
    assert pool.limit.peak == 4 and pool.in_flight == 0
    assert all(o.status == "succeeded" for part in results for o in part)
    assert [o.request_id for o in results[-1]] == [f"big-{i}" for i in range(9)]


async def test_run_process_killed_mid_batch_raises_pool_unavailable_then_recovers(
    pool: GenerationPool
) -> None:
    items = [(raw_request(f"k{i}", name="TestSlowKill"), "c") for i in range(4)]
    task = asyncio.create_task(pool.run(items))
    while pool.in_flight == 0:  # noqa: ASYNC110 - polls another thread's counter, no event
        await asyncio.sleep(0.01)
    os.kill(pool.pids()[0], signal.SIGKILL)
    with pytest.raises(PoolUnavailable, match="replaced, retry the batch"):
        await task
    outcomes = await pool.run(items)
    assert all(o.status == "succeeded" for o in outcomes)


async def test_every_pool_process_freezes_its_warm_heap_replacements_too(
    pool: GenerationPool
) -> None:
    killed = pool.pids()[0]
    os.kill(killed, signal.SIGKILL)  # its replacement runs the initializer again
    with contextlib.suppress(PoolUnavailable):
        await pool.run([(raw_request("after-kill"), "c")])
    # Under load the scheduler may not have seen the death yet: a call queued to the dead
    # process would fail with WorkerLost, so wait for the replacement first.
    await wait_until(lambda: killed not in pool.pids() and len(pool.pids()) == 2, 30,
                     "the killed pool process to be replaced")
    await pool.run([(raw_request("warm-again"), "c")])
    assert pool._pool is not None
    frozen = [await f for f in pool._pool.call_each(gc.get_freeze_count)]
    # Imported libraries, templates and models: tens of thousands of objects each.
    assert len(frozen) == 2 and min(frozen) > 10_000, frozen


async def test_run_same_mixin_set_second_request_uses_cached_composition(
    single: GenerationPool
) -> None:
    mixins = ("Validation", "HashComputation", "Stateless")
    (first,) = await single.run([(raw_request("m1", "Hasher", "compute", mixins), "c1")])
    (second,) = await single.run([(raw_request("m2", "Digester", "compute",
                                                tuple(reversed(mixins))), "c2")])
    assert first.composition is not None and second.composition is not None
    assert (first.composition.cached, second.composition.cached) == (False, True)
    assert first.composition.success and second.status == "succeeded"
    stages = GenerationResult.model_validate_json(second.payload).stages
    assert [(s.stage, s.passed) for s in stages] == [
        ("render", True), ("syntax", True), ("composition", True)]


async def test_run_identical_request_served_from_shared_output_cache(
    single: GenerationPool
) -> None:
    assert single.shared_cache is not None
    hits = single.shared_cache.hits
    (first,) = await single.run([(raw_request("o1", description="same"), "c1")])
    (second,) = await single.run([(raw_request("o2", description="same"), "c2")])
    assert (first.cached, second.cached) == (False, True)
    assert single.shared_cache.hits == hits + 1
    assert first.payload.replace(b'"o1"', b'"o2"').replace(b'"c1"', b'"c2"') == second.payload


async def test_collect_template_updates_rows_for_used_templates_then_only_new_deltas(
    single: GenerationPool
) -> None:
    await single.run([(raw_request("t1", description="stats"), "c")])
    rows = await single.collect_template_updates()
    names = {r.template_name for r in rows}
    assert {"node_effect.py.j2", "node_base.py.j2", "contract.yaml.j2"} <= names
    assert await single.collect_template_updates() == []
    totals = single.stats.totals()
    assert totals["hits"] > 0 and totals["composition_checks"] >= 1


async def test_in_flight_limit_acquire_beyond_limit_waits_for_release() -> None:
    limit = InFlightLimit(4)
    await limit.acquire(3)
    waiter = asyncio.create_task(limit.acquire(2))
    await asyncio.sleep(0)
    assert not waiter.done() and limit.in_flight == 3
    limit.release(3)
    await waiter
    assert limit.in_flight == 2 and limit.peak == 3
    with pytest.raises(ValueError, match="limit of 4"):
        await limit.acquire(5)


async def test_in_flight_limit_cancelled_waiter_gives_no_room_away() -> None:
    limit = InFlightLimit(2)
    await limit.acquire(2)
    waiter = asyncio.create_task(limit.acquire(1))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limit.release(2)
    assert limit.in_flight == 0
