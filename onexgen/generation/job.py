"""What one pool process does for one request: decode, render, validate, serialise.

Everything CPU-bound for a request happens here, in a worker process, so the
event loop only moves bytes: JSON decoding and schema validation, rendering,
compiling the generated code and serialising the result all stay off it.
The function never raises for a bad request; it says what happened instead.
"""

from __future__ import annotations

import time
from typing import Any, Literal, NamedTuple

import orjson
from pydantic import ValidationError

from onexgen import __version__
from onexgen.generation.composition import CompositionOutcome
from onexgen.generation.engine import Engine, current
from onexgen.generation.output_cache import fingerprint
from onexgen.models.errors import describe_validation_error
from onexgen.models.wire import GenerationRequest, GenerationResult, ResultStatus

OutcomeKind = Literal["result", "invalid"]


class JobOutcome(NamedTuple):
    """Picklable answer from the pool: a result to publish or a reason to dead-letter.

    A named tuple: the worker unpickles one a request, and a tuple is rebuilt in C,
    not field by field as the frozen dataclass it was.

    ``composition`` is the composition verdict to publish as automated mixin
    feedback (``cached`` tells whether it is a repeat); ``cached`` says the
    result came from an output cache; ``cache_key`` is where the result may be
    shared with other workers (None when it must not be cached).
    """

    kind: OutcomeKind
    request_id: str | None
    status: str
    payload: bytes
    error_type: str | None
    reason: str | None
    duration_ms: float
    composition: CompositionOutcome | None = None
    cached: bool = False
    cache_key: str | None = None
    stage_ns: tuple[tuple[str, int, int], ...] = ()


Decoded = tuple[dict[str, Any], GenerationRequest]
"""A request's JSON and its validated model."""


def decode_request(raw: bytes | None) -> Decoded:
    """Parse and validate; raises ``ValueError`` subclasses that the caller turns into reasons."""
    if raw is None:
        raise ValueError("empty message (tombstone): a request needs a JSON body")
    data = orjson.loads(raw)
    request = GenerationRequest.model_validate(data)
    return data, request


Ahead = tuple[dict[str, Any], GenerationRequest, str]
"""A request decoded ahead: its JSON, its model and its output-cache fingerprint."""
_ahead: dict[bytes, Ahead] = {}
"""Requests of the chunk this process is working on, decoded before its first job."""


def decode_ahead(raws: list[bytes | None]) -> list[GenerationRequest]:
    """Decode and fingerprint a chunk's valid requests once, for a batched step before its
    jobs; each job then takes its request from here instead of decoding it again (a bad
    one is skipped here and reported by its job)."""
    _ahead.clear()
    requests = []
    for raw in raws:
        if raw is None:
            continue
        try:
            data, request = decode_request(raw)
        except (ValueError, ValidationError):
            continue
        _ahead[raw] = (data, request, fingerprint(data))
        requests.append(request)
    return requests


def prepare_ahead(raws: list[bytes | None], engine: Engine) -> None:
    """Before a chunk: decode its requests once, and detect the patterns of those the
    output cache will not answer in one vectorised pass (detecting a repeat's patterns
    would be thrown away)."""
    decode_ahead(raws)
    engine.prime_patterns([request for _, request, request_print in _ahead.values()
                           if not engine.answers(request_print)])


def _decoded(raw: bytes | None) -> tuple[dict[str, Any], GenerationRequest, str | None]:
    """The request decoded ahead for this chunk (with its fingerprint), or decoded now."""
    ahead = _ahead.pop(raw, None) if raw is not None else None
    if ahead is not None:
        return ahead
    data, request = decode_request(raw)
    return data, request, None


def invalid(reason: str, error_type: str, started: float) -> JobOutcome:
    return JobOutcome("invalid", None, "invalid", b"", error_type, reason,
                      (time.perf_counter() - started) * 1000)


def run_job(raw: bytes | None, correlation_id: str, engine: Engine | None = None) -> JobOutcome:
    """Turn one raw request into an outcome; called in a pool process. Never raises for input."""
    started = time.perf_counter()
    try:
        data, request, request_print = _decoded(raw)
    except orjson.JSONDecodeError as exc:
        return invalid(f"not valid JSON: {exc}", "invalid_json", started)
    except ValidationError as exc:
        return invalid(describe_validation_error(exc), "schema_violation", started)
    except ValueError as exc:
        return invalid(str(exc), "invalid_message", started)
    produced = (engine or current()).produce(data, request, request_print)
    entry = produced.entry
    composition = entry.composition
    if produced.hit and composition is not None:
        composition = composition.as_cached()
    return JobOutcome("result", request.request_id, entry.status,
                      entry.payload_for(request.request_id, correlation_id), entry.error_type,
                      entry.reason, (time.perf_counter() - started) * 1000, composition,
                      produced.hit, produced.key, produced.stages_ns)


def generate(request: GenerationRequest, correlation_id: str,
             engine: Engine | None = None) -> GenerationResult:
    """Render and validate one package (no output cache): the result with the request's ids."""
    result, _, _ = (engine or current()).generate(request)
    return result.model_copy(update={"request_id": request.request_id,
                                     "correlation_id": correlation_id})


def timed_out(raw: bytes | None, correlation_id: str, timeout_s: float) -> JobOutcome:
    """The answer for a job the pool had to kill: a ``failed`` result if the request has an id.

    Built in the worker process from the raw bytes (the job's process is gone),
    so it only parses what it must. A request without a usable id cannot get a
    result keyed by it and is dead-lettered instead.
    """
    reason = (f"generation timed out after {timeout_s:g}s and was stopped; the request may be "
              "too large, or a template loops")
    try:
        data = orjson.loads(raw) if raw is not None else None
        request = GenerationRequest.model_validate(data)
    except (ValueError, ValidationError):
        return JobOutcome("invalid", None, "invalid", b"", "timeout", reason, timeout_s * 1000)
    result = GenerationResult(request_id=request.request_id, status=ResultStatus.FAILED,
                              node_type=request.node_type, error=reason, error_type="timeout",
                              generator_version=__version__, correlation_id=correlation_id)
    return JobOutcome("result", request.request_id, result.status.value,
                      result.model_dump_json().encode(), "timeout", reason, timeout_s * 1000)


def run_chunk(items: list[tuple[bytes | None, str]]) -> list[JobOutcome]:
    """Several jobs in one call (kept for callers that batch without the pool)."""
    return [run_job(raw, cid) for raw, cid in items]
