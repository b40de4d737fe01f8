"""One JSON object per line, for structlog and stdlib loggers alike.

Why this shape:

* structlog is the fast path: ``make_filtering_bound_logger`` turns filtered
  levels into ``return None``, events go through three processors (context,
  standard keys, render+redact) and orjson renders bytes straight into a
  :class:`~observability.sinks.Sink` (no stdlib ``LogRecord`` on the way).
* faust, mode, aiokafka and asyncpg log through the stdlib; a root handler
  (:class:`JsonHandler`) builds the same event, runs the same context merge,
  redaction and rendering and writes to the same sink, so every line of the
  process is JSON, carries the bound correlation id and rotates with the rest.
* Loggers from :func:`get_logger` resolve on first use and then call the bound
  logger's methods directly (no proxy ``__getattr__`` per call);
  :func:`configure_logging` forgets those resolutions and swaps the sink, so
  calling it again (tests do) changes level and destination for every logger.

mode's ``Worker`` clears the root handlers while it starts: call
:func:`configure_logging` again from ``Worker.on_setup_root_logger`` with
``replace_root_handlers=True``.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import weakref
from collections.abc import MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol, cast

import orjson
import structlog
from structlog.typing import FilteringBoundLogger, Processor

from onexgen.observability.redaction import is_clean, mask_credentials, redact_event
from onexgen.observability.sinks import FileSink, Router, Sink, StreamSink

# structlog's registry of the variables behind bound keys (private, stable since 21.1):
# reading only those skips copying and scanning the whole Context. None: public path.
_BOUND_VARS: dict[str, ContextVar[Any]] | None = getattr(
    structlog.contextvars, "_CONTEXT_VARS", None
)

__all__ = [
    "PROCESSORS",
    "JsonHandler",
    "configure_logging",
    "configure_logging_from_settings",
    "flush_logging",
    "get_logger",
    "merge_context",
    "render_json",
    "shutdown_logging",
]

_ORJSON_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_METHOD_TO_LEVEL = {"warn": "warning", "exception": "error", "fatal": "critical",
                    "failure": "error", "err": "error", "msg": "info", "log": "info"}
_PREFIX_LEN = len(structlog.contextvars.STRUCTLOG_KEY_PREFIX)
# Attributes every LogRecord has; anything else came in through ``extra=``.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_format_exc_info = structlog.processors.ExceptionRenderer()

EventDict = MutableMapping[str, Any]


def merge_context(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """``structlog.contextvars.merge_contextvars``, reading only the bound keys.

    Same result (explicit keywords win over bound values), but it asks each
    variable structlog created for its value instead of copying and scanning
    the whole ``Context``: about half the cost with a few bound keys.
    """
    if _BOUND_VARS is None:  # pragma: no cover - a structlog that renamed its registry
        return structlog.contextvars.merge_contextvars(logger, method_name, event_dict)
    try:
        for key, var in _BOUND_VARS.items():
            value = var.get()
            if value is not Ellipsis:
                event_dict.setdefault(key[_PREFIX_LEN:], value)
    except RuntimeError:  # another thread bound a new key meanwhile: walk a snapshot
        for key, var in tuple(_BOUND_VARS.items()):
            value = var.get()
            if value is not Ellipsis:
                event_dict.setdefault(key[_PREFIX_LEN:], value)
    return event_dict


def _add_standard_keys(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """``level``, UTC ``timestamp``, ``exc_info`` as an ``exception`` string.

    One processor instead of structlog's four: every processor call costs.
    orjson renders the ``datetime`` as ISO 8601 with ``Z``. Loggers from
    :func:`get_logger` carry ``logger`` in their context; others get the name
    they were created with, if any.
    """
    if "logger" not in event_dict:
        name = getattr(logger, "name", None)
        if name is not None:
            event_dict["logger"] = name
    event_dict["level"] = _METHOD_TO_LEVEL.get(method_name, method_name)
    event_dict["timestamp"] = datetime.now(UTC)
    if "exc_info" in event_dict:
        return _format_exc_info(logger, method_name, event_dict)
    return event_dict


def _default(obj: Any) -> Any:
    """orjson fallback: sets as lists, everything else as its (masked) ``str``.

    ``str`` of a pydantic ``SecretStr`` is ``'**********'``, so secrets held
    that way stay hidden even when a whole settings object is logged.
    """
    if isinstance(obj, set | frozenset):
        return list(obj)
    return mask_credentials(str(obj))


def render_json(logger: Any, method_name: str, event_dict: EventDict) -> bytes:
    """Final processor: the redacted event as one JSON line (bytes, ``\\n`` included)."""
    line = orjson.dumps(event_dict, default=_default, option=_ORJSON_OPTIONS)
    if is_clean(event_dict, line):
        return line
    return orjson.dumps(redact_event(event_dict), default=_default, option=_ORJSON_OPTIONS)


PROCESSORS: list[Processor] = [merge_context, _add_standard_keys, render_json]
"""The structlog chain, context first."""


class _RoutedLogger:
    """The wrapped logger structlog hands rendered bytes to: forwards them to the sink."""

    __slots__ = ("name",)

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, message: bytes) -> None:
        _ROUTER.sink.write(message)

    def msg_now(self, message: bytes) -> None:
        _ROUTER.sink.write_now(message)

    log = debug = info = msg
    warn = warning = fatal = failure = err = error = critical = exception = msg_now


def _logger_factory(*args: Any) -> _RoutedLogger:
    return _RoutedLogger(args[0] if args else None)


class JsonHandler(logging.Handler):
    """Root handler that renders stdlib records like structlog events.

    Message, logger name, level, creation time, ``extra=`` fields and the
    formatted exception become keys; the calling task's contextvars are merged
    in (``emit`` runs in the caller's context).
    """

    _formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event: dict[str, Any] = {
                "event": record.getMessage(),
                "logger": record.name,
                "level": record.levelname.lower(),
                "timestamp": datetime.fromtimestamp(record.created, UTC),
            }
            for key, value in record.__dict__.items():
                if key not in _RECORD_ATTRS:
                    event.setdefault(key, value)
            if record.exc_info:
                event["exception"] = self._formatter.formatException(record.exc_info)
            if record.stack_info:
                event["stack"] = record.stack_info
            merge_context(None, event["level"], event)
            line = render_json(None, "", event)
            if record.levelno >= logging.WARNING:
                _ROUTER.sink.write_now(line)
            else:
                _ROUTER.sink.write(line)
        except Exception:
            self.handleError(record)


_ROUTER = Router(StreamSink(sys.__stderr__ or sys.stderr))
_HANDLER: JsonHandler | None = None
_LAZY_LOGGERS: weakref.WeakSet[_LazyLogger] = weakref.WeakSet()


class _LazyLogger:
    """What :func:`get_logger` returns: resolves on first use, then gets out of the way.

    The first attribute access builds the bound logger from the current
    configuration and stores its methods in this instance's ``__dict__``, so
    later ``log.info(...)`` calls are plain bound-method calls.
    ``configure_logging`` clears those entries to pick up a new level.
    """

    __slots__ = ("__dict__", "__weakref__", "_args", "_initial_values")
    _CACHED = ("debug", "info", "warning", "warn", "error", "exception", "critical",
               "fatal", "msg", "log", "bind", "new", "unbind", "try_unbind",
               "is_enabled_for", "get_effective_level")

    def __init__(self, args: tuple[Any, ...], initial_values: dict[str, Any]) -> None:
        self._args = args
        self._initial_values = initial_values
        _LAZY_LOGGERS.add(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        bound = structlog.get_logger(*self._args).bind(**self._initial_values)
        for method in self._CACHED:
            self.__dict__[method] = getattr(bound, method)
        return getattr(bound, name)

    def __repr__(self) -> str:
        return f"<observability logger {self._args[0] if self._args else '(root)'}>"


def get_logger(name: str | None = None, **initial_values: Any) -> FilteringBoundLogger:
    """A structlog logger whose lines carry ``logger=name`` plus ``initial_values``.

    Safe at module level (``log = get_logger(__name__)``): it resolves on first use.
    """
    args: tuple[str, ...] = ()
    if name is not None:
        args = (name,)
        initial_values.setdefault("logger", name)  # in the bound context: free per call
    return cast(FilteringBoundLogger, _LazyLogger(args, initial_values))


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(
            f"unknown log level {level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL "
            "(ONEXGEN_LOG_LEVEL)"
        )
    return number


def configure_logging(
    level: str | int = "INFO",
    log_file: Path | str | None = None,
    *,
    max_bytes: int = 100 * 1024 * 1024,
    backup_count: int = 10,
    rotate_when: str | None = None,
    stream: IO[str] | IO[bytes] | None = None,
    flush_interval_s: float = 0.2,
    replace_root_handlers: bool = False,
    capture_warnings: bool = True,
) -> None:
    """Send all logging of the process to one JSON-lines destination.

    ``log_file`` (rotating by size, or by time when ``rotate_when`` is set)
    wins over ``stream``; the default stream is the process's real stderr.
    File lines below WARNING reach the disk within ``flush_interval_s``
    (0: every line at once; see :mod:`observability.sinks`); stream lines at once.
    Calling it again replaces the previous destination and handler; with
    ``replace_root_handlers`` every other root handler (e.g. mode's coloured
    console handler) is removed too, so no non-JSON line remains.
    """
    global _HANDLER
    number = _level_number(level)
    sink: Sink
    if log_file is not None:
        sink = FileSink(Path(log_file), max_bytes=max_bytes, backup_count=backup_count,
                        rotate_when=rotate_when, flush_interval_s=flush_interval_s)
    else:
        sink = StreamSink(stream if stream is not None else (sys.__stderr__ or sys.stderr))

    structlog.configure(
        processors=PROCESSORS,
        wrapper_class=structlog.make_filtering_bound_logger(number),
        context_class=dict,
        logger_factory=_logger_factory,
        cache_logger_on_first_use=True,
    )
    for lazy in list(_LAZY_LOGGERS):
        lazy.__dict__.clear()
    _ROUTER.replace(sink).close()

    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, JsonHandler) or replace_root_handlers:
            root.removeHandler(handler)
    _HANDLER = JsonHandler(level=logging.NOTSET)
    root.addHandler(_HANDLER)
    root.setLevel(number)
    logging.captureWarnings(capture_warnings)


class _LogSettings(Protocol):
    """The part of ``onexgen.settings.Settings`` logging reads (no import cycle)."""

    @property
    def log_level(self) -> str: ...
    @property
    def log_file(self) -> Path | None: ...
    @property
    def log_max_bytes(self) -> int: ...
    @property
    def log_backup_count(self) -> int: ...
    @property
    def log_rotate_when(self) -> str | None: ...


def configure_logging_from_settings(settings: _LogSettings, **kwargs: Any) -> None:
    """:func:`configure_logging` with the ``log_*`` fields of the worker settings."""
    configure_logging(
        settings.log_level, settings.log_file, max_bytes=settings.log_max_bytes,
        backup_count=settings.log_backup_count, rotate_when=settings.log_rotate_when,
        **kwargs,
    )


def flush_logging() -> None:
    """Write pending lines now (before reading the log file, or before ``os._exit``)."""
    _ROUTER.sink.flush()


def shutdown_logging() -> None:
    """Remove the root handler and close the sink (log files); later lines go to stderr.

    For test teardown and process exit, so no file handle outlives its owner.
    """
    global _HANDLER
    if _HANDLER is not None:
        logging.getLogger().removeHandler(_HANDLER)
        _HANDLER = None
    _ROUTER.replace(StreamSink(sys.__stderr__ or sys.stderr)).close()
    logging.captureWarnings(False)


def _reinit_after_fork() -> None:
    """A sink lock held by another thread at ``fork`` would block the child forever."""
    _ROUTER.sink.reinit_after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
atexit.register(lambda: _ROUTER.sink.finish())
