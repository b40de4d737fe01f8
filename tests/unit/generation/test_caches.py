"""Output caches (in-process LRU and aiocache), the composition cache and cache metrics."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from onexgen.generation.cache_metrics import EngineStatsCollector, template_type
from onexgen.generation.composition import CompositionCache, canonical_order
from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.job import JobOutcome, decode_request, run_job
from onexgen.generation.output_cache import CachedResult, OutputLRU, fingerprint
from onexgen.generation.shared_cache import (
    CacheBackendUnavailable,
    MemoryStore,
    SharedOutputCache,
)
from onexgen.generation.validate import check_composition_for_real
from onexgen.models.rows import TemplateType
from onexgen.models.wire import FeedbackSource, GeneratedFile, GenerationResult, StageOutcome

PLACEHOLDERS = (b'{"request_id":"@@onexgen:request_id@@",'
                b'"correlation_id":"@@onexgen:correlation_id@@"}')
REQUEST = {"request_id": "a-1", "node_type": "reducer", "name": "Tally", "domain": "stats",
           "description": "Counts \"things\"\n.", "mixins": ["Audit", "Metrics"]}


def _raw(**changes: object) -> bytes:
    return orjson.dumps({**REQUEST, **changes})


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig())


def test_run_job_identical_request_other_ids_served_from_output_cache(engine: Engine) -> None:
    first = run_job(_raw(), "cid-1", engine)
    second = run_job(_raw(request_id="a-2"), 'cid "2"\u2028', engine)
    assert (first.cached, second.cached) == (False, True)
    fresh = GenerationResult.model_validate_json(first.payload)
    served = GenerationResult.model_validate_json(second.payload)
    assert served.request_id == "a-2" and served.correlation_id == 'cid "2"\u2028'
    assert served.model_copy(update={"request_id": "a-1", "correlation_id": "cid-1"}) == fresh
    assert second.composition is not None and second.composition.cached
    assert engine.outputs.stats().hits >= 1


def test_run_job_cached_payload_byte_identical_to_fresh_render(engine: Engine) -> None:
    run_job(_raw(name="Bytes"), "warm", engine)
    cached = run_job(_raw(name="Bytes", request_id="b-9"), "c-9", engine)
    fresh = run_job(_raw(name="Bytes", request_id="b-9"), "c-9",
                    Engine(EngineConfig(), renderer=engine.renderer))
    assert cached.cached and not fresh.cached and cached.payload == fresh.payload


def test_fingerprint_ignores_request_id_and_key_order_only() -> None:
    data, _ = decode_request(_raw())
    reordered = dict(reversed(list({**data, "request_id": "zz"}.items())))
    assert fingerprint(data) == fingerprint(reordered)
    assert fingerprint(data) != fingerprint({**data, "description": "other"})


def test_cached_result_encode_decode_and_from_payload_round_trip(engine: Engine) -> None:
    outcome = run_job(_raw(name="Round"), "c-1", engine)
    entry = CachedResult.from_payload(outcome.status, outcome.error_type, outcome.reason,
                                      outcome.payload, outcome.composition,
                                      request_id="a-1", correlation_id="c-1")
    back = CachedResult.decode(entry.encode())
    assert back.payload_for("a-1", "c-1") == outcome.payload
    assert back.composition is not None and back.composition.cached


def _served_and_stored(engine: Engine, name: str, correlation_id: str
                       ) -> tuple[JobOutcome, CachedResult, CachedResult]:
    """One job's outcome, kept as served and converted to the stored (placeholder) form."""
    outcome = run_job(_raw(name=name), correlation_id, engine)
    args = (outcome.status, outcome.error_type, outcome.reason, outcome.payload,
            outcome.composition)
    return (outcome,
            CachedResult.served(*args, request_id="a-1", correlation_id=correlation_id),
            CachedResult.from_payload(*args, request_id="a-1", correlation_id=correlation_id))


def test_served_result_other_ids_byte_identical_to_placeholder_form(engine: Engine) -> None:
    outcome, served, stored = _served_and_stored(engine, "Served", 'c "1"')
    assert served.payload is outcome.payload  # kept, not copied
    for ids in (("a-1", 'c "1"'), ("a-2", "c-2"), ("a-1", "other"), ("longer-id-" * 5, "c")):
        assert served.payload_for(*ids) == stored.payload_for(*ids)
    fresh = run_job(_raw(name="Served", request_id="a-2"), "c-2",
                    Engine(EngineConfig(), renderer=engine.renderer))
    assert served.payload_for("a-2", "c-2") == fresh.payload


def test_served_result_encodes_in_the_stored_format(engine: Engine) -> None:
    outcome, served, stored = _served_and_stored(engine, "Encoded", "c-1")
    assert served.encode() == stored.encode()  # what Redis holds, and older workers read
    assert CachedResult.decode(served.encode()).payload_for("a-1", "c-1") == outcome.payload


def test_served_result_payload_without_its_ids_raises() -> None:
    payload = b'{"status":"succeeded","request_id":"a-1","correlation_id":"c-1"}'
    with pytest.raises(ValueError, match="does not carry"):
        CachedResult.served("succeeded", None, None, payload, None,
                            request_id="a-2", correlation_id="c-1")
    with pytest.raises(ValueError, match="does not carry"):
        CachedResult.served("succeeded", None, None, payload, None,
                            request_id="a-1", correlation_id="c-2")


def test_output_lru_over_bounds_drops_oldest() -> None:
    payload = PLACEHOLDERS
    lru = OutputLRU(max_entries=2)
    for key in ("a", "b", "c"):
        lru.put(key, CachedResult("succeeded", None, None, payload, None))
    assert lru.get("a") is None and lru.get("c") is not None and len(lru) == 2


async def test_shared_memory_cache_second_lookup_hits() -> None:
    shared = SharedOutputCache.memory(max_entries=1)
    payload = PLACEHOLDERS
    entry = CachedResult("succeeded", None, None, payload, None)
    assert await shared.get_many(["k1"]) == [None]
    await shared.put_many([("k1", entry)])
    assert await shared.get_many(["k1"]) == [entry]
    await shared.put_many([("k2", entry)])  # bound of one entry: k1 goes
    assert await shared.get_many(["k1", "k2"]) == [None, entry]
    assert (shared.stats().hits, shared.stats().misses) == (2, 2)
    await shared.close()


def test_shared_cache_redis_configured_without_client_names_the_fix() -> None:
    with pytest.raises(CacheBackendUnavailable, match="pip install"):
        SharedOutputCache.from_env({"ONEXGEN_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert SharedOutputCache.from_env({}).backend == "memory"


@pytest.mark.parametrize(("mixins", "expected"), [
    (["Connection", "Transaction"], ["Transaction", "Connection"]),
    (["Retry", "Metrics"], ["Retry", "Metrics"]),
    (["Metrics", "Connection", "Retry", "Transaction"],
     ["Metrics", "Retry", "Transaction", "Connection"]),
])
def test_canonical_order_subclass_before_base_else_request_order(
    mixins: list[str], expected: list[str]
) -> None:
    assert canonical_order(mixins) == expected


def test_composition_cache_second_check_of_same_set_is_a_hit(engine: Engine) -> None:
    calls: list[str] = []

    def counted(files: Sequence[GeneratedFile], timeout: float, package: str) -> StageOutcome:
        calls.append(package)
        return check_composition_for_real(files, timeout, package=package)

    cache = CompositionCache(timeout_s=30, checker=counted)
    _, request = decode_request(_raw(mixins=["Metrics", "Audit"]))
    package = engine.renderer.render(request)
    args = (package.template_version, package.package, package.files)
    stage1, first = cache.check("reducer", ["Metrics", "Audit"], *args)
    stage2, second = cache.check("reducer", ["Audit", "Metrics"], *args)
    assert stage1 == stage2 and stage1.passed and len(calls) == 1
    assert (first.cached, second.cached) == (False, True)
    feedback = first.feedback("a-1")
    assert feedback is not None and feedback.source is FeedbackSource.AUTOMATED
    assert feedback.success and feedback.mixins == ["Metrics", "Audit"]


def test_run_job_statically_rejected_set_reports_static_composition_outcome(
    engine: Engine
) -> None:
    outcome = run_job(_raw(node_type="compute", mixins=["Caching"]), "c", engine)
    assert outcome.status == "rejected" and outcome.composition is not None
    comp = outcome.composition
    assert (comp.source, comp.success, comp.mixins) == ("static", False, ("Caching",))
    assert "COMPUTE nodes are pure" in comp.reason


def test_collector_repeated_snapshots_yield_deltas_rows_and_metrics(engine: Engine) -> None:
    registry = CollectorRegistry()
    collector = EngineStatsCollector(registry)
    run_job(_raw(name="Metered"), "c", engine)
    first = collector.observe([engine.snapshot()])
    assert first and all(r.access_count == r.cache_hits + r.cache_misses for r in first)
    assert collector.observe([engine.snapshot()]) == []  # nothing happened since
    run_job(_raw(name="Metered", description="again"), "c", engine)
    rows = collector.observe([engine.snapshot()])
    assert rows and all(r.cache_misses == 0 and r.load_time_ms is None for r in rows)
    hits = registry.get_sample_value("onexgen_template_cache_hits_total",
                                     {"template": "node_reducer.py.j2"})
    assert hits is not None and hits >= 2
    assert registry.get_sample_value("onexgen_composition_checks_total") is not None


def test_template_type_maps_file_names_to_table_types() -> None:
    assert template_type("contract.yaml.j2") is TemplateType.CONTRACT
    assert template_type("test_node.py.j2") is TemplateType.TEST
    assert template_type("node_effect.py.j2") is TemplateType.NODE
    assert template_type(str(Path("x") / "README.md.j2")) is TemplateType.README


async def test_memory_store_gets_sets_deletes_and_forgets_on_close() -> None:
    store = MemoryStore()
    await store.multi_set([("a", 1), ("b", 2)], ttl=60)
    assert await store.multi_get(["b", "x", "a"]) == [2, None, 1]
    assert (await store.delete("a"), await store.delete("a")) == (1, 0)
    await store.close()
    assert await store.multi_get(["b"]) == [None]


async def test_memory_store_over_bound_drops_least_recently_stored() -> None:
    store = MemoryStore(max_entries=3)
    await store.multi_set([("a", 1), ("b", 2), ("c", 3)])
    await store.multi_set([("a", 10), ("d", 4)])  # "a" stored again: "b" is the oldest now
    assert await store.multi_get(["a", "b", "c", "d"]) == [10, None, 3, 4]
    await store.multi_set([(k, 0) for k in "efgh"])  # a batch larger than the bound
    assert len(store) == 3 and await store.multi_get(["f", "g", "h"]) == [0, 0, 0]
    with pytest.raises(ValueError, match="at least 1"):
        MemoryStore(max_entries=0)


@pytest.mark.parametrize("data", [
    {"request_id": "r-1", "name": "A", "mixins": ["Retry"], "domain": "d"},
    {"name": "A", "domain": "d"},
    {},
    {"zeta": {"b": 1, "a": [2, 1]}, "request_id": None, "alpha": "é"},
])
def test_fingerprint_stays_the_stored_keys_sha256_of_the_sorted_body(
        data: dict[str, object]) -> None:
    # Shared caches (Redis) hold results under these keys: a new spelling would orphan them.
    before = dict(data)
    body = {k: v for k, v in data.items() if k != "request_id"}
    expected = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert fingerprint(data) == expected
    assert data == before  # the caller's request is left as it was
