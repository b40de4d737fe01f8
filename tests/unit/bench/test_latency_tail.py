"""Where the slowest requests spent their time, from the worker's ``batch`` log lines."""

from __future__ import annotations

from pathlib import Path

import orjson

from bench.bench_latency import batch_lines, tail_split


def _batch(size: int, wait: float, generate: float, publish: float) -> dict[str, float]:
    return {"size": size, "queue_wait_ms_max": wait, "generate_ms": generate,
            "publish_ms": publish, "duration_ms": generate + publish}


def test_tail_split_with_one_slow_batch_reports_its_stages_for_the_slowest_share() -> None:
    batches = [_batch(10, 5.0, 20.0, 4.0) for _ in range(99)] + [_batch(10, 60.0, 20.0, 9.0)]
    split = tail_split(batches, share=0.01)
    assert split["queue_wait_ms_max"] == (60.0, 5.0)
    assert split["publish_ms"] == (9.0, 4.0)
    assert split["generate_ms"] == (20.0, 20.0)
    assert split["size"] == (10, 10)


def test_tail_split_weights_batches_by_their_size() -> None:
    # 1 request waited 100 ms; 99 in one batch waited 50: the slowest 2% are 1 + 1 of those.
    split = tail_split([_batch(1, 100.0, 1.0, 1.0), _batch(99, 50.0, 1.0, 1.0)], share=0.02)
    assert split["queue_wait_ms_max"] == (75.0, 50.0)


def test_tail_split_without_batches_is_empty() -> None:
    assert tail_split([]) == {}


async def test_batch_lines_reads_only_batch_lines_after_the_offset(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    before = orjson.dumps({"event": "batch", **_batch(3, 1.0, 1.0, 1.0)}) + b"\n"
    log.write_bytes(before)
    after = [{"event": "batch", **_batch(2, 7.0, 1.0, 1.0)}, {"event": "generated", "size": 9}]
    log.write_bytes(before + b"".join(orjson.dumps(line) + b"\n" for line in after))
    found = await batch_lines(log, len(before), requests=2)
    assert [b["queue_wait_ms_max"] for b in found] == [7.0]
