"""How fast metric rows reach Postgres: batched COPY versus one INSERT per row.

Runs in a throwaway database (created and dropped here) on the server named by
``ONEXGEN_DATABASE_URL`` (or ``.local/stack.env``), after real migrations, so
the rows go through the same partitions, CHECK constraints and unique indexes
as in production. Measures:

- batched writes of ``EventMetricRow`` via ``EventMetricsRepository.write_many``
  (one INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING a chunk);
- the same rows replayed (the idempotency path: nothing may be inserted);
- naive ``insert_one`` (one INSERT, one round trip per row) on fewer rows;
- batched ``GenerationMetricRow`` writes (JSONB metadata on some rows);
- the worker's sink flush (``--flushes``): batches of 500 event rows, as the worker
  writes them every half second, three ways in rotated rounds: COPY through a temp
  table created and dropped each time (what ``copy_insert`` did), through a temp table
  kept by the connection (what it does), and one ``unnest`` statement: CPU of this
  process and of Postgres per row, and wall time;
- a pooled connection's acquire and release (``--releases``), with asyncpg's reset
  query against ``storage.pool.release_as_is``, in alternating rounds.

Usage: ``python -m bench.bench_pg_writes [rows] [--flushes | --releases]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.cpu_budget import CpuBudget, descendants, local_service_pids
from bench.report import Report
from onexgen.models.rows import (
    EVENT_COLUMNS,
    EventMetricRow,
    GenerationMetricRow,
    GenerationPhase,
)
from onexgen.models.wire import NodeType
from onexgen.settings import stack_value
from onexgen.storage.migrate import migrate
from onexgen.storage.pool import Database, release_as_is
from onexgen.storage.repositories import events
from onexgen.storage.repositories._copy import copy_insert
from tests.harness import scratch_database

GOAL_ROWS_PER_S = 20_000


def database_url_from_env() -> str:
    """``ONEXGEN_DATABASE_URL``, else the value in ``.local/stack.env``."""
    value = stack_value("ONEXGEN_DATABASE_URL")
    if value:
        return value
    raise SystemExit("ONEXGEN_DATABASE_URL is not set and .local/stack.env is missing: "
                     "run `make stack-up` first")


def event_rows(count: int, start: datetime, prefix: str) -> list[EventMetricRow]:
    """Rows shaped like the monitor's: ~5 % failures, a spread of durations, distinct keys."""
    rows = []
    for i in range(count):
        failed = i % 20 == 0
        rows.append(EventMetricRow(
            event_key=f"{prefix}:{i % 12}:{i}", event_type="generation_request",
            event_source=f"codegen-{i % 4}", processing_duration_ms=float(5 + (i * 7919) % 400),
            success=not failed, created_at=start + timedelta(microseconds=i * 50),
            queue_wait_time_ms=float(i % 30), error_type="GenerationTimeout" if failed else None,
            error_message="render exceeded 30 s" if failed else None,
            retry_count=i % 3 if failed else 0, batch_size=100,
        ))
    return rows


def generation_rows(count: int, start: datetime) -> list[GenerationMetricRow]:
    phases = list(GenerationPhase)
    node_types = list(NodeType)
    return [
        GenerationMetricRow(
            request_id=f"req-{i // len(phases)}", node_type=node_types[i % 4],
            phase=phases[i % len(phases)], duration_ms=float((i * 31) % 900), created_at=start,
            memory_mb=64.0, cpu_percent=80.0, cache_hit=i % 3 != 0, parallel_execution=True,
            worker_count=2, metadata={"template": "effect.j2"} if i % 10 == 0 else None,
        )
        for i in range(count)
    ]


async def _timed_batches(db: Database, rows: list[EventMetricRow],
                         batch_size: int) -> tuple[float, int, list[float]]:
    inserted, latencies = 0, []
    began = time.perf_counter()
    for start in range(0, len(rows), batch_size):
        t0 = time.perf_counter()
        inserted += await db.events.write_many(rows[start:start + batch_size])
        latencies.append((time.perf_counter() - t0) * 1000)
    return time.perf_counter() - began, inserted, latencies


async def run(database_url: str, rows: int = 50_000, *, single_rows: int = 2_000,
              batch_size: int = 5_000) -> Report:
    """Measure batched and row-by-row metric writes in a scratch database on the server."""
    report = Report("Postgres metric writes (batched COPY vs one INSERT per row)")
    report.params = {"rows": rows, "single_rows": single_rows, "batch_size": batch_size}
    now = datetime.now(UTC)
    batched = event_rows(rows, now, "bench.batched")
    single = event_rows(single_rows, now, "bench.single")
    generation = generation_rows(min(rows, 24_000), now)
    async with scratch_database(database_url) as dsn:
        await migrate(dsn)
        async with await Database.open(dsn, min_size=1, max_size=2) as db:
            elapsed, inserted, latencies = await _timed_batches(db, batched, batch_size)
            batched_rate = rows / elapsed
            report.add("batched event rows/s", batched_rate, "rows/s",
                       goal=f">= {GOAL_ROWS_PER_S:,}", met=batched_rate >= GOAL_ROWS_PER_S,
                       note=f"{inserted:,} inserted in {elapsed:.2f} s")
            report.add(f"batch latency p50 ({batch_size:,} rows)", statistics.median(latencies),
                       "ms")
            report.add(f"batch latency max ({batch_size:,} rows)", max(latencies), "ms")

            replay_elapsed, replayed, _ = await _timed_batches(db, batched, batch_size)
            report.add("replayed event rows/s", rows / replay_elapsed, "rows/s",
                       goal="0 inserted", met=replayed == 0,
                       note=f"{replayed} rows inserted by the replay")

            began = time.perf_counter()
            one_by_one = 0
            for row in single:
                one_by_one += await db.events.insert_one(row)
            single_rate = single_rows / (time.perf_counter() - began)
            report.add("row-by-row event rows/s (insert_one)", single_rate, "rows/s",
                       note=f"{one_by_one:,} inserted, one round trip each")
            report.add("batched / row-by-row", batched_rate / single_rate, "x")

            began = time.perf_counter()
            gen_inserted = await db.generation.write_many(generation)
            gen_rate = len(generation) / (time.perf_counter() - began)
            report.add("batched generation rows/s", gen_rate, "rows/s",
                       goal=f">= {GOAL_ROWS_PER_S:,}", met=gen_rate >= GOAL_ROWS_PER_S,
                       note=f"{gen_inserted:,} inserted, 10 % with JSONB metadata")
            total = await db.events.count()
            if total != rows + single_rows:
                raise RuntimeError(f"expected {rows + single_rows} event rows, found {total}")
    return report


FLUSH_ROWS = 500
"""Rows of one sink flush: a half second of the worker at ~1,000 requests/s."""


TYPES = ("text", "text", "text", "float8", "float8", "bool", "text", "text", "int4", "int4",
         "timestamptz")
"""Postgres types of ``EVENT_COLUMNS``, in their order (0001_tables.sql)."""
UNNEST = (f"INSERT INTO {events.TABLE} ({', '.join(EVENT_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608 - module constants
          + ", ".join(f"${i}::{t}[]" for i, t in enumerate(TYPES, start=1))
          + f") ON CONFLICT ({', '.join(events.KEY)}) DO NOTHING")


async def _unnest(db: Database, records: list[tuple[object, ...]]) -> None:
    """One statement: an array a column, unnested (tried in session 15, not kept)."""
    await db.pool.execute(UNNEST, *zip(*records, strict=True))


async def _copy_via_new_table(db: Database, records: list[tuple[object, ...]]) -> None:
    """What ``copy_insert`` did before session 15: a temp table created and dropped a call."""
    stage, cols = f"_created_{events.TABLE}", ", ".join(EVENT_COLUMNS)
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE TEMP TABLE {stage} (LIKE {events.TABLE} INCLUDING DEFAULTS)"
                           " ON COMMIT DROP")
        await conn.copy_records_to_table(stage, records=records, columns=list(EVENT_COLUMNS))
        await conn.execute(f"INSERT INTO {events.TABLE} ({cols}) SELECT {cols} FROM {stage} "  # noqa: S608 - module constants
                           f"ON CONFLICT ({', '.join(events.KEY)}) DO NOTHING")


async def _flushes(db: Database, how: str, rows: list[EventMetricRow]) -> dict[str, float]:
    """Write ``rows`` in flushes of ``FLUSH_ROWS``, ``how`` one of ``WAYS``; µs per row of
    this process, of Postgres, and of wall time."""
    postmaster = local_service_pids().get("Postgres")
    budget = CpuBudget({"Postgres": lambda: descendants(postmaster) if postmaster else []})
    budget.start()
    began, cpu = time.perf_counter(), time.process_time()  # finer than /proc's ticks
    for start in range(0, len(rows), FLUSH_ROWS):
        chunk = rows[start:start + FLUSH_ROWS]
        if how == "unnest":
            await _unnest(db, [r.as_record() for r in chunk])
        elif how == "copy":
            await copy_insert(db.pool, events.TABLE, EVENT_COLUMNS, events.KEY,
                              [r.as_record() for r in chunk])
        else:
            await _copy_via_new_table(db, [r.as_record() for r in chunk])
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    used = {"client": cpu, **budget.stop()}
    return {"wall": wall / len(rows) * 1e6, **{k: v / len(rows) * 1e6 for k, v in used.items()}}


WAYS = {"created": "COPY via a temp table created a call (before)",
        "copy": "COPY via a kept temp table (copy_insert)",
        "unnest": "one unnest statement"}


async def run_flushes(database_url: str, *, rounds: int = 8, flushes: int = 40) -> Report:
    """The worker's sink flush written three ways, in rounds (the order rotated each
    round), fresh rows each time; each way against the first (what the sinks did)."""
    report = Report("Postgres sink flush: three ways to write 500 event rows idempotently")
    report.params = {"rounds": rounds, "flushes_per_round": flushes, "rows_per_flush": FLUSH_ROWS,
                     "load_average_at_start": os.getloadavg()[0]}
    n = flushes * FLUSH_ROWS
    ways = list(WAYS)
    results: dict[str, list[dict[str, float]]] = {how: [] for how in ways}
    async with scratch_database(database_url) as dsn:
        await migrate(dsn)
        async with await Database.open(dsn, min_size=1, max_size=2) as db:
            for how in ways:
                await _flushes(db, how, event_rows(FLUSH_ROWS, datetime.now(UTC), f"warm.{how}"))
            for r in range(rounds):
                for how in ways[r % 3:] + ways[:r % 3]:
                    rows = event_rows(n, datetime.now(UTC), f"flush.{how}.{r}")
                    results[how].append(await _flushes(db, how, rows))
    for part, unit in (("client", "µs/row of this process"), ("Postgres", "µs/row of Postgres"),
                       ("wall", "µs/row of wall time")):
        base = [x[part] for x in results[ways[0]]]
        for how in ways:
            values = [x[part] for x in results[how]]
            lower = sum(1 for a, b in zip(values, base, strict=True) if a < b)
            report.add(f"{part}: {WAYS[how]}", statistics.median(values), "us",
                       note=f"{unit}, median of {rounds} rounds" + (
                           f"; lower than before in {lower} of {rounds}" if how != ways[0]
                           else ""))
    return report


async def _releases(dsn: str, reset: bool, n: int) -> float:
    """CPU µs of this process an acquire and release, asyncpg's reset (True) or ours."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1,
                                     reset=None if reset else release_as_is)
    try:
        began = time.process_time()
        for _ in range(n):
            async with pool.acquire():
                pass
        return (time.process_time() - began) / n * 1e6
    finally:
        await pool.close()


async def run_releases(database_url: str, *, rounds: int = 8, n: int = 2_000) -> Report:
    report = Report("Pooled connection: acquire and release, asyncpg's reset query or none")
    report.params = {"rounds": rounds, "per_round": n,
                     "load_average_at_start": os.getloadavg()[0]}
    costs: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for reset in (True, False) if r % 2 == 0 else (False, True):
            costs[reset].append(await _releases(database_url, reset, n))
    lower = sum(1 for a, b in zip(costs[False], costs[True], strict=True) if a < b)
    report.add("asyncpg's reset query (the default)", statistics.median(costs[True]), "us",
               note=f"CPU of this process an acquire and release, median of {rounds} rounds")
    report.add("release_as_is (roll back an open transaction only)",
               statistics.median(costs[False]), "us",
               note=f"lower in {lower} of {rounds} paired rounds")
    return report


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    url = database_url_from_env()
    if "--releases" in sys.argv[1:]:
        report = asyncio.run(run_releases(url))
        print(report.render())
        print(f"wrote {report.write_json('pg_releases')}")
        return
    if "--flushes" in sys.argv[1:]:
        report = asyncio.run(run_flushes(url))
        print(report.render())
        print(f"wrote {report.write_json('pg_flushes')}")
        return
    rows = int(args[0]) if args else 50_000
    report = asyncio.run(run(url, rows))
    print(report.render())
    print(f"wrote {report.write_json('pg_writes')}")


if __name__ == "__main__":
    main()
