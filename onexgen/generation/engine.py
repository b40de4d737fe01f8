"""One generation process's engine: renderer + template cache, output cache, composition cache.

``produce`` is what a pool job (and ``onexgen generate``) calls for a decoded
request: serve it from the output cache, or render it, compile it (syntax
stage), run it (composition stage, cached per mixin set) and cache the result.
The process-wide engine is built by :func:`configure` (the pool initializer
calls it with the pool's :class:`EngineConfig`) or lazily with the defaults.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from onexgen import __version__
from onexgen.generation.cache_stats import EngineSnapshot
from onexgen.generation.composition import CompositionCache, CompositionOutcome, canonical_order
from onexgen.generation.errors import CompositionRejected, GenerationError, RequestRejected
from onexgen.generation.mixin_gate import MixinGate
from onexgen.generation.output_cache import (
    CORRELATION_ID_PLACEHOLDER,
    REQUEST_ID_PLACEHOLDER,
    CachedResult,
    OutputLRU,
    fingerprint,
    output_key,
)
from onexgen.generation.patterns import PatternStage, suggested_mixins
from onexgen.generation.render import TEMPLATE_DIR, Renderer, default_renderer, use_renderer
from onexgen.generation.validate import validate_syntax
from onexgen.models.wire import GenerationRequest, GenerationResult, ResultStatus, StageOutcome
from onexgen.settings import Settings


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Settings of one generation process (picklable: it travels to spawned processes)."""

    template_dir: Path = TEMPLATE_DIR
    template_dirs: tuple[Path, ...] = ()
    """Overlay directories searched before ``template_dir`` (``ONEXGEN_TEMPLATE_DIRS``)."""
    max_templates: int = 100
    max_template_bytes: int = 50 * 1024 * 1024
    template_ttl_s: float = 3600.0
    template_recheck_s: float = 2.0
    output_cache_entries: int = 2048
    composition: bool = True
    composition_timeout_s: float = 5.0
    # The learned mixin gate (learning.mixins.gate): "off" by default here so that a bare
    # engine needs no model; the worker passes its configured policy and stored model.
    mixin_policy: str = "off"
    mixin_threshold: float = 0.5
    mixin_model: bytes | None = None
    detect_patterns: bool = False
    pattern_model: bytes | None = None
    stage_timings: bool = True
    """Send every stage's timing back with each result (``JobOutcome.stage_ns``), for
    tracing's spans; without tracing (``engine_config``) only the render stage's, which
    the ``onexgen_stage_duration_seconds`` histogram and the alert rules read: fewer
    tuples a result to pickle, send and unpickle in the worker process."""

    def default_templates(self) -> bool:
        """True when the shipped templates and cache bounds are used (share one renderer)."""
        plain = EngineConfig()
        return all(getattr(self, f) == getattr(plain, f) for f in _TEMPLATE_FIELDS)


_TEMPLATE_FIELDS = ("template_dir", "template_dirs", "max_templates", "max_template_bytes",
                    "template_ttl_s", "template_recheck_s")


@dataclass(frozen=True, slots=True)
class Produced:
    """What ``produce`` made: the cacheable result, its output-cache key, and whether it hit."""

    entry: CachedResult
    key: str | None
    hit: bool
    stages_ns: tuple[tuple[str, int, int], ...] = ()
    """(stage, start, end) in ``time.time_ns()`` of the stages run now (none on a cache hit)."""


class Engine:
    """Caches and stages of one process; thread-safe (each cache has its own lock)."""

    def __init__(self, config: EngineConfig | None = None,
                 renderer: Renderer | None = None) -> None:
        self.config = config = config or EngineConfig()
        if renderer is None:
            if config.default_templates():
                renderer = default_renderer()
            else:
                renderer = Renderer(config.template_dir, overlays=config.template_dirs,
                                    max_entries=config.max_templates,
                                    max_bytes=config.max_template_bytes,
                                    ttl_s=config.template_ttl_s,
                                    recheck_s=config.template_recheck_s)
        self.renderer = renderer
        self.outputs = OutputLRU(config.output_cache_entries)
        self.compositions = CompositionCache(timeout_s=config.composition_timeout_s)
        self._gate = MixinGate(config.mixin_policy, config.mixin_threshold, config.mixin_model)
        self._patterns = PatternStage(config.detect_patterns, config.pattern_model)
        self._stages: list[tuple[str, int, int]] = []

    def produce(self, data: dict[str, Any], request: GenerationRequest,
                request_print: str | None = None) -> Produced:
        """The result for ``request`` (parsed from ``data``, whose ``fingerprint`` the caller
        may have computed already), from the cache or made now."""
        if request_print is None:
            request_print = fingerprint(data)
        key = output_key(request_print, self.renderer.version)
        entry = self.outputs.get(key)
        if entry is not None:
            return Produced(entry, key, True)
        result, composition, cacheable = self.generate(request)
        stages = (tuple(self._stages) if self.config.stage_timings
                  else tuple(s for s in self._stages if s[0] == "render"))
        entry = CachedResult(result.status.value, result.error_type, result.error,
                             result.model_dump_json().encode(), composition)
        if result.template_version is not None:
            key = output_key(request_print, result.template_version)
        if not cacheable:
            return Produced(entry, None, False, stages)
        self.outputs.put(key, entry)
        return Produced(entry, key, False, stages)

    def generate(self, request: GenerationRequest
                 ) -> tuple[GenerationResult, CompositionOutcome | None, bool]:
        """Render and validate one package; the result carries placeholder ids.

        Returns the result, the composition verdict (None when the request never
        got as far as a composition) and whether the result may be cached (not
        when a stage timed out: that says more about the machine than the request).
        """
        base: dict[str, Any] = {
            "request_id": REQUEST_ID_PLACEHOLDER, "node_type": request.node_type,
            "generator_version": __version__, "correlation_id": CORRELATION_ID_PLACEHOLDER}
        gate_stage: list[StageOutcome] = []
        self._stages = []
        t = time.time_ns()
        verdict = self._gate.assess(request.node_type.value, tuple(request.mixins))
        t = self._stage("predict", t)
        if verdict is not None:
            if not verdict.proceed:
                return (GenerationResult(**base, status=ResultStatus.REJECTED,
                                         error=verdict.reason, error_type="MixinsPredictedToFail",
                                         stages=[StageOutcome(stage="mixins", passed=False,
                                                              detail=verdict.reason)]),
                        None, True)
            if verdict.decision == "auto_resolved":
                request = request.model_copy(update={"mixins": list(verdict.mixins)})
            gate_stage = [StageOutcome(stage="mixins", passed=True, detail=verdict.reason)]
        patterns = self._patterns.detect(request)
        t = self._stage("detect", t)
        base["patterns"] = patterns
        base["suggested_mixins"] = suggested_mixins(request, patterns)
        try:
            package = self.renderer.render(request, patterns=[(p.name, p.confidence)
                                                              for p in patterns])
        except CompositionRejected as exc:
            static = CompositionOutcome(request.node_type.value,
                                        tuple(canonical_order(request.mixins)), False, str(exc),
                                        False, "static", None)
            return (GenerationResult(**base, status=ResultStatus.REJECTED, error=str(exc),
                                     error_type=type(exc).__name__), static, True)
        except RequestRejected as exc:
            return (GenerationResult(**base, status=ResultStatus.REJECTED, error=str(exc),
                                     error_type=type(exc).__name__), None, True)
        except GenerationError as exc:
            return (GenerationResult(**base, status=ResultStatus.FAILED, error=str(exc),
                                     error_type=type(exc).__name__), None, False)
        t = self._stage("render", t)
        stages = [*gate_stage, StageOutcome(stage="render", passed=True),
                  validate_syntax(package.files)]
        composition: CompositionOutcome | None = None
        if stages[-1].passed and self.config.composition:
            mixins = canonical_order(request.mixins)
            stage, composition = self.compositions.check(
                request.node_type.value, mixins, package.template_version, package.package,
                package.files)
            stages.append(stage)
        self._stage("validate", t)
        failed = next((s for s in stages if not s.passed), None)
        if failed is not None and package.overlay_note:
            stages = [s.model_copy(update={"detail": s.detail + package.overlay_note})
                      if s is failed else s for s in stages]
            failed = next(s for s in stages if not s.passed)
        result = GenerationResult(
            **base,
            status=ResultStatus.FAILED if failed else ResultStatus.SUCCEEDED,
            class_name=package.class_name, package=package.package, files=package.files,
            stages=stages, template_version=package.template_version,
            error=failed.detail if failed else None,
            error_type=f"{failed.stage}_error" if failed else None)
        cacheable = not any(s.detail.startswith("timed out") for s in stages)
        return result, composition, cacheable

    def _stage(self, name: str, started_ns: int) -> int:
        """Record that stage ``name`` ran from ``started_ns`` until now; returns now."""
        now = time.time_ns()
        self._stages.append((name, started_ns, now))
        return now

    def answers(self, request_print: str) -> bool:
        """Whether the output cache holds the result for a request with this fingerprint."""
        return output_key(request_print, self.renderer.version) in self.outputs

    def prime_patterns(self, requests: list[GenerationRequest]) -> None:
        """Detect the patterns of many requests at once; ``generate`` then looks them up."""
        self._patterns.prime(requests)

    def snapshot(self) -> EngineSnapshot:
        """Picklable cumulative counters of every cache in this process."""
        return EngineSnapshot(pid=os.getpid(), templates=self.renderer.cache.stats(),
                              output=self.outputs.stats(),
                              composition=self.compositions.stats(),
                              composition_checks=self.compositions.checks)


_lock = threading.Lock()
_engine: Engine | None = None


_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def configure(config: EngineConfig) -> Engine:
    """Build this process's engine (called once per pool process, at start).

    BLAS and OpenMP are held to one thread here (unless the environment says otherwise):
    the pool already runs a process a core, and pattern detection's small dense products
    (the text vectors) would otherwise start OpenBLAS threads that spin on the cores the
    other processes need (detection's CPU a request doubled, the pool's rose by two
    thirds: BENCHMARKS.md, session 15). The variables cover the libraries loaded later
    (detection loads numpy with the first chunk), the call those already loaded.
    """
    global _engine
    for variable in _THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    threadpool_limits(limits=1)
    engine = Engine(config)
    use_renderer(engine.renderer)
    with _lock:
        _engine = engine
    return engine


def current() -> Engine:
    """This process's engine, built with the defaults on first use if never configured."""
    global _engine
    engine = _engine
    if engine is None:
        with _lock:
            if _engine is None:
                _engine = Engine()
            engine = _engine
    return engine


def engine_config(settings: Settings, *, composition: bool = True,
                  mixin_model: bytes | None = None, pattern_model: bytes | None = None,
                  template_dirs: tuple[Path, ...] | None = None) -> EngineConfig:
    """The engine configuration of a worker's pool processes, from its settings; ``onexgen
    generate`` builds its engine with the same function, so a request gives the same
    package both ways (same detection, mixin gate and templates)."""
    return EngineConfig(mixin_policy=settings.mixin_policy,
                        mixin_threshold=settings.mixin_threshold, detect_patterns=True,
                        composition=composition, mixin_model=mixin_model,
                        pattern_model=pattern_model,
                        template_dirs=(settings.template_layers if template_dirs is None
                                       else template_dirs),
                        stage_timings=settings.tracing_exporter != "none")
