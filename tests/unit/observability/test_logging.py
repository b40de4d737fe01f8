"""configure_logging: JSON lines from structlog and stdlib, context, levels, files, rotation."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from structlog.contextvars import (
    bind_contextvars,
    merge_contextvars,
    unbind_contextvars,
)

from onexgen.observability.context import log_context
from onexgen.observability.logging import (
    JsonHandler,
    configure_logging,
    flush_logging,
    get_logger,
    merge_context,
    shutdown_logging,
)
from tests.unit.observability.conftest import ReadLines


def _read_json_lines(*paths: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


def test_info_with_bound_context_emits_json_with_standard_keys(log_lines: ReadLines) -> None:
    log = get_logger("onexgen.test")
    with log_context(correlation_id="cid-1", topic="onexgen.requests"):
        log.info("request processed", offset=7, duration_ms=1.5)

    [line] = log_lines()
    assert line["event"] == "request processed"
    assert line["correlation_id"] == "cid-1"
    assert line["topic"] == "onexgen.requests"
    assert line["offset"] == 7
    assert line["logger"] == "onexgen.test"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_debug_when_level_info_writes_nothing(log_lines: ReadLines) -> None:
    get_logger("t").debug("hidden")
    assert log_lines() == []


def test_explicit_keyword_when_context_has_same_key_wins(log_lines: ReadLines) -> None:
    with log_context(stage="outer"):
        get_logger("t").info("x", stage="explicit")
    assert log_lines()[0]["stage"] == "explicit"


def test_exception_when_logged_renders_traceback_as_string(log_lines: ReadLines) -> None:
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        get_logger("t").exception("failed")

    [line] = log_lines()
    assert line["level"] == "error"
    assert isinstance(line["exception"], str)
    assert "ZeroDivisionError" in line["exception"]


def test_stdlib_warning_from_aiokafka_comes_out_as_json_with_correlation_id(
    log_lines: ReadLines,
) -> None:
    with log_context(correlation_id="cid-kafka"):
        logging.getLogger("aiokafka").warning("coordinator %s is dead", "node-1",
                                              extra={"group": "g1"})

    [line] = log_lines()
    assert line["event"] == "coordinator node-1 is dead"
    assert line["logger"] == "aiokafka"
    assert line["level"] == "warning"
    assert line["correlation_id"] == "cid-kafka"
    assert line["group"] == "g1"


def test_stdlib_exception_when_logged_renders_traceback_as_string(log_lines: ReadLines) -> None:
    try:
        raise ConnectionError("broker gone")
    except ConnectionError:
        logging.getLogger("faust").exception("agent crashed")

    [line] = log_lines()
    assert line["logger"] == "faust"
    assert "ConnectionError: broker gone" in line["exception"]


def test_configure_when_called_twice_keeps_one_handler_and_uses_latest_stream() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", stream=first)
    configure_logging("INFO", stream=second)
    get_logger("t").info("structlog line")
    logging.getLogger("mode").info("stdlib line")

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, JsonHandler)]
    assert len(handlers) == 1
    assert first.getvalue() == ""
    assert [json.loads(x)["event"] for x in second.getvalue().splitlines()] == [
        "structlog line", "stdlib line"]


def test_reconfigure_when_logger_already_used_applies_new_level() -> None:
    buffer = io.StringIO()
    log = get_logger("t")
    configure_logging("INFO", stream=buffer)
    log.debug("before")
    configure_logging("DEBUG", stream=buffer)
    log.debug("after")

    assert [json.loads(x)["event"] for x in buffer.getvalue().splitlines()] == ["after"]


def test_replace_root_handlers_when_foreign_handler_present_removes_it() -> None:
    foreign = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(foreign)
    try:
        configure_logging("INFO", stream=io.StringIO(), replace_root_handlers=True)
        assert foreign not in logging.getLogger().handlers
    finally:
        logging.getLogger().removeHandler(foreign)


def test_unknown_level_raises_error_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="ONEXGEN_LOG_LEVEL"):
        configure_logging("LOUD", stream=io.StringIO())


@pytest.mark.parametrize("flush_interval_s", [0.0, 0.2])
def test_file_output_when_lines_exceed_max_bytes_rotates_both_structlog_and_stdlib(
    tmp_path: Path, flush_interval_s: float,
) -> None:
    path = tmp_path / "onexgen.log"
    configure_logging("INFO", path, max_bytes=2048, backup_count=3,
                      flush_interval_s=flush_interval_s)
    log = get_logger("t")
    for i in range(200):
        log.info("structlog line", i=i)
        logging.getLogger("aiokafka").info("stdlib line %d", i)
    flush_logging()

    backups = sorted(p.name for p in tmp_path.iterdir())
    assert backups == ["onexgen.log", "onexgen.log.1", "onexgen.log.2", "onexgen.log.3"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size < 2048
    newest = _read_json_lines(path)
    assert newest[-1]["event"] == "stdlib line 199"
    events = {line["event"].split(" ")[0] for line in _read_json_lines(*tmp_path.iterdir())}
    assert events == {"structlog", "stdlib"}


def test_file_output_when_rotation_time_passes_rotates_by_time(tmp_path: Path) -> None:
    path = tmp_path / "onexgen.log"
    configure_logging("INFO", path, rotate_when="S", backup_count=2, flush_interval_s=0)
    log = get_logger("t")
    log.info("first second")
    time.sleep(1.1)
    log.info("next second")

    rotated = [p for p in tmp_path.iterdir() if p.name.startswith("onexgen.log.")]
    assert len(rotated) == 1
    assert _read_json_lines(rotated[0])[0]["event"] == "first second"
    assert _read_json_lines(path)[0]["event"] == "next second"


def test_deferred_file_output_when_warning_logged_is_on_disk_at_once(tmp_path: Path) -> None:
    path = tmp_path / "onexgen.log"
    configure_logging("INFO", path, flush_interval_s=60)
    log = get_logger("t")
    log.info("context before the problem")
    log.warning("the problem")

    assert [line["event"] for line in _read_json_lines(path)] == [
        "context before the problem", "the problem"]


def test_shutdown_when_file_configured_flushes_and_closes(tmp_path: Path) -> None:
    path = tmp_path / "onexgen.log"
    configure_logging("INFO", path, flush_interval_s=60)
    get_logger("t").info("pending")
    shutdown_logging()

    assert _read_json_lines(path)[0]["event"] == "pending"
    assert not [h for h in logging.getLogger().handlers if isinstance(h, JsonHandler)]


def test_merge_context_when_keys_bound_and_unbound_matches_structlog_merge() -> None:
    bind_contextvars(correlation_id="c", topic="t", partition=2)
    unbind_contextvars("topic")
    event = {"event": "x", "partition": 9}

    assert merge_context(None, "info", dict(event)) == merge_contextvars(None, "info", dict(event))
    assert merge_context(None, "info", dict(event)) == {"event": "x", "partition": 9,
                                                        "correlation_id": "c"}
