"""log_context and the correlation-id header helpers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from structlog.contextvars import get_contextvars

from onexgen.observability.context import (
    CORRELATION_ID_HEADER,
    correlation_id_from_headers,
    current_correlation_id,
    log_context,
    new_correlation_id,
    with_correlation_header,
    with_log_context,
)
from onexgen.observability.logging import get_logger
from tests.unit.observability.conftest import ReadLines


def test_nested_context_when_inner_exits_restores_outer_values_exactly() -> None:
    with log_context(correlation_id="outer", topic="t1"):
        with log_context(correlation_id="inner", stage="render"):
            assert get_contextvars() == {"correlation_id": "inner", "topic": "t1",
                                         "stage": "render"}
        assert get_contextvars() == {"correlation_id": "outer", "topic": "t1"}
    assert get_contextvars() == {}


def test_context_when_block_raises_still_restores() -> None:
    with pytest.raises(KeyError), log_context(correlation_id="x"):
        raise KeyError("boom")
    assert current_correlation_id() is None


def test_same_instance_when_nested_restores_each_level() -> None:
    ctx = log_context(stage="a")
    with log_context(stage="outer"):
        with ctx, ctx:
            assert get_contextvars()["stage"] == "a"
        assert get_contextvars()["stage"] == "outer"


async def test_async_with_when_awaiting_keeps_values_and_restores() -> None:
    async with log_context(correlation_id="a1"):
        await asyncio.sleep(0)
        assert current_correlation_id() == "a1"
    assert current_correlation_id() is None


def test_decorator_when_sync_function_called_binds_per_call(log_lines: ReadLines) -> None:
    @log_context(stage="validate")
    def validate(n: int) -> int:
        get_logger("t").info("validating", n=n)
        return n * 2

    assert validate(3) == 6
    assert validate.__name__ == "validate"
    assert log_lines()[0]["stage"] == "validate"
    assert get_contextvars() == {}


async def test_decorator_when_async_tasks_run_concurrently_each_line_has_own_id(
    log_lines: ReadLines,
) -> None:
    log = get_logger("t")

    @with_log_context(stage="codegen")
    async def handle(request: str) -> str:
        for step in range(3):
            log.info("step", request=request, step=step)
            await asyncio.sleep(0)  # the other task runs here
        return request

    async def one_message(request: str, correlation_id: str) -> str:
        async with log_context(correlation_id=correlation_id):
            return await handle(request)

    results = await asyncio.gather(one_message("r1", "cid-1"), one_message("r2", "cid-2"))
    assert list(results) == ["r1", "r2"]

    lines = log_lines()
    assert len(lines) == 6
    assert [line["request"] for line in lines[:2]] == ["r1", "r2"]  # really interleaved
    for line in lines:
        assert line["correlation_id"] == {"r1": "cid-1", "r2": "cid-2"}[line["request"]]
        assert line["stage"] == "codegen"
    assert current_correlation_id() is None


async def test_shared_instance_when_exited_in_other_task_raises_clear_error() -> None:
    ctx = log_context(correlation_id="shared")
    await asyncio.create_task(_enter(ctx))
    with pytest.raises(RuntimeError, match="one log_context per task"):
        ctx.__exit__(None, None, None)


async def _enter(ctx: log_context) -> None:
    ctx.__enter__()


def test_new_correlation_id_when_called_twice_returns_distinct_hex() -> None:
    a, b = new_correlation_id(), new_correlation_id()
    assert a != b
    assert len(a) == 32 and int(a, 16) >= 0


def test_new_correlation_id_is_a_version_4_uuid_in_lowercase_hex() -> None:
    ids = {new_correlation_id() for _ in range(2_000)}
    assert len(ids) == 2_000
    for cid in ids:
        parsed = uuid.UUID(cid)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, cid)


@pytest.mark.parametrize("headers", [
    [(CORRELATION_ID_HEADER, b"abc-123")],
    {CORRELATION_ID_HEADER: b"abc-123"},
    [("Correlation-ID", b"abc-123")],
    [("other", b"x"), (CORRELATION_ID_HEADER, "abc-123")],
])
def test_correlation_id_from_headers_when_valid_returns_it(headers: object) -> None:
    assert correlation_id_from_headers(headers) == "abc-123"  # type: ignore[arg-type]  # str/mixed forms on purpose


@pytest.mark.parametrize("value", [
    b"", b"has space", b"tab\there", b"\x00\x01", "caf\u00e9".encode(), b"x" * 129,
    b"line\nbreak", b"\xff\xfe",
])
def test_correlation_id_from_headers_when_junk_generates_new(value: bytes) -> None:
    result = correlation_id_from_headers([(CORRELATION_ID_HEADER, value)])
    assert result != value.decode("latin-1")
    assert len(result) == 32


@pytest.mark.parametrize("headers", [None, [], {}, [("other", b"x")]])
def test_correlation_id_from_headers_when_missing_generates_new(headers: object) -> None:
    assert len(correlation_id_from_headers(headers)) == 32  # type: ignore[arg-type]  # empty forms


def test_correlation_id_from_headers_when_128_chars_accepts() -> None:
    assert correlation_id_from_headers({CORRELATION_ID_HEADER: b"a" * 128}) == "a" * 128


def test_with_correlation_header_when_present_replaces_and_keeps_input() -> None:
    original = [("x-trace", b"1"), (CORRELATION_ID_HEADER, b"old"), ("Correlation-Id", b"old2")]
    result = with_correlation_header(original, "new")

    assert result == [("x-trace", b"1"), (CORRELATION_ID_HEADER, b"new")]
    assert original[1] == (CORRELATION_ID_HEADER, b"old")


def test_with_correlation_header_when_none_creates_list() -> None:
    assert with_correlation_header(None, "cid") == [(CORRELATION_ID_HEADER, b"cid")]


def test_with_correlation_header_when_id_invalid_raises() -> None:
    with pytest.raises(ValueError, match="new_correlation_id"):
        with_correlation_header([], "bad id")


@pytest.mark.parametrize(("headers", "expected"), [
    ([("CORRELATION-ID", b"first"), (CORRELATION_ID_HEADER, b"second")], "first"),
    ([(CORRELATION_ID_HEADER, b"bad id"), ("Correlation-Id", b"good")], "good"),
    ([(b"correlation-id", b"from-bytes-name")], "from-bytes-name"),
    ([(CORRELATION_ID_HEADER, bytearray(b"from-bytearray"))], "from-bytearray"),
    ([("traceparent", b"00-x"), ("correlation-id-x", b"no"), ("correlation-i", b"no"),
      (CORRELATION_ID_HEADER, b"yes")], "yes"),
])
def test_correlation_id_from_headers_when_names_vary_takes_the_first_valid_match(
        headers: list[tuple[object, object]], expected: str) -> None:
    assert correlation_id_from_headers(headers) == expected  # type: ignore[arg-type]  # mixed forms on purpose


def test_correlation_id_from_headers_when_name_only_lowers_to_longer_is_not_matched() -> None:
    # "\u0130" (dotted capital I) lowers to two characters: the one case a shorter name
    # grows when lower-cased, and it cannot become the header's name.
    name = "correlat\u0130on-id"
    assert name.lower() != CORRELATION_ID_HEADER
    assert len(correlation_id_from_headers([(name, b"looks-like-one")])) == 32
