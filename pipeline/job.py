"""What one pool process does for one request: decode, render, validate, serialise.

Everything CPU-bound for a request happens here, in a worker process, so the
event loop only moves bytes: JSON decoding and schema validation, rendering,
compiling the generated code and serialising the result all stay off it.
The function never raises for a bad request; it says what happened instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import orjson
from pydantic import ValidationError

from codegen.errors import CodegenError, RequestRejected
from codegen.render import render_package
from codegen.validate import validate_syntax
from models.wire import GenerationRequest, GenerationResult, ResultStatus, StageOutcome
from onexgen import __version__

OutcomeKind = Literal["result", "invalid"]


@dataclass(slots=True, frozen=True)
class JobOutcome:
    """Picklable answer from the pool: a result to publish or a reason to dead-letter."""

    kind: OutcomeKind
    request_id: str | None
    status: str
    payload: bytes
    error_type: str | None
    reason: str | None
    duration_ms: float


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad field, e.g. ``node_type: Input should be 'effect', ...``."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def decode_request(raw: bytes | None) -> GenerationRequest:
    """Parse and validate; raises ``ValueError`` subclasses that the caller turns into reasons."""
    if raw is None:
        raise ValueError("empty message (tombstone): a request needs a JSON body")
    data = orjson.loads(raw)
    return GenerationRequest.model_validate(data)


def invalid(reason: str, error_type: str, started: float) -> JobOutcome:
    return JobOutcome("invalid", None, "invalid", b"", error_type, reason,
                      (time.perf_counter() - started) * 1000)


def run_job(raw: bytes | None, correlation_id: str) -> JobOutcome:
    """Turn one raw request into an outcome; called in a pool process."""
    started = time.perf_counter()
    try:
        request = decode_request(raw)
    except orjson.JSONDecodeError as exc:
        return invalid(f"not valid JSON: {exc}", "invalid_json", started)
    except ValidationError as exc:
        return invalid(describe_validation_error(exc), "schema_violation", started)
    except ValueError as exc:
        return invalid(str(exc), "invalid_message", started)
    result = generate(request, correlation_id)
    return JobOutcome("result", request.request_id, result.status.value,
                      result.model_dump_json().encode(), result.error_type, result.error,
                      (time.perf_counter() - started) * 1000)


def generate(request: GenerationRequest, correlation_id: str) -> GenerationResult:
    """Render and validate one package.

    A request we will not fulfil as asked (unknown or conflicting mixins) is a
    ``rejected`` result; a template or validation failure is ``failed``. The
    result holds no timings, so the same request always gives the same bytes.
    """
    base = {
        "request_id": request.request_id,
        "node_type": request.node_type,
        "generator_version": __version__,
        "correlation_id": correlation_id,
    }
    try:
        package = render_package(request)
    except RequestRejected as exc:
        return GenerationResult(**base, status=ResultStatus.REJECTED, error=str(exc),
                                error_type=type(exc).__name__)
    except CodegenError as exc:
        return GenerationResult(**base, status=ResultStatus.FAILED, error=str(exc),
                                error_type=type(exc).__name__)
    syntax = validate_syntax(package.files)
    return GenerationResult(
        **base,
        status=ResultStatus.SUCCEEDED if syntax.passed else ResultStatus.FAILED,
        class_name=package.class_name,
        package=package.package,
        files=package.files,
        stages=[StageOutcome(stage="render", passed=True), syntax],
        template_version=package.template_version,
        error=None if syntax.passed else syntax.detail,
        error_type=None if syntax.passed else "syntax_error",
    )


def run_chunk(items: list[tuple[bytes | None, str]]) -> list[JobOutcome]:
    """Several jobs in one pool call: one pickling round trip for many requests."""
    return [run_job(raw, cid) for raw, cid in items]
