"""Process configuration, read from ``ONEXGEN_*`` environment variables.

One ``Settings`` object is built at start and passed down; nothing reads the
environment later, so tests can build their own settings freely. Secrets are
``SecretStr`` so that printing or logging a settings object never shows them.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"]


def stack_env() -> dict[str, str]:
    """What ``make stack-up`` wrote to ``.local/stack.env``: the local services' addresses.

    Looked up under ``ONEXGEN_ROOT`` when set, else the working directory (``make run``
    runs from the checkout); empty when the stack is not up.
    """
    path = Path(os.environ.get("ONEXGEN_ROOT") or Path.cwd()) / ".local" / "stack.env"
    if not path.is_file():
        return {}
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key: _unquote(value) for key, sep, value in pairs if sep and _unquote(value)}


def _unquote(value: str) -> str:
    """stack.env quotes its values for the shell (a DSN's query string holds ``&``)."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def stack_value(name: str) -> str | None:
    """``name`` from the environment, else from ``.local/stack.env``."""
    return os.environ.get(name) or stack_env().get(name)


class Settings(BaseSettings):
    """Every knob of a worker. Defaults suit one local worker on a 2-core machine."""

    model_config = SettingsConfigDict(
        env_prefix="ONEXGEN_",
        env_file=None,
        extra="ignore",
        frozen=True,
    )

    # --- Kafka ---------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_password: SecretStr | None = None

    topic_prefix: str = Field("onexgen", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    topic_partitions: int = Field(4, ge=1, le=1024)
    topic_replication: int = Field(1, ge=1, le=16)
    app_id: str = Field("onexgen", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    kafka_session_timeout_s: float = Field(
        10.0, ge=6, le=300, description="how soon a dead worker's partitions move to the others")
    kafka_heartbeat_interval_s: float = Field(3.0, gt=0, le=60)
    kafka_fetch_max_wait_ms: int = Field(
        10, ge=1, le=30_000, description="longest the broker holds a fetch for more data; "
        "bounds how long busy partitions wait behind it (Faust's own is 1,500) and what "
        "ONEXGEN_KAFKA_FETCH_MIN_BYTES adds to a request's latency. 10 against 25 ms at half "
        "load: p50 35 against 47 ms, more worker CPU a request; idle worker 4.1 against 3.0% "
        "of a core, broker 10.3 against 7.4% (BENCHMARKS.md, session 14)")
    kafka_fetch_min_bytes: int = Field(
        16384, ge=1, le=64 << 20, description="bytes of records the broker gathers before "
        "it answers a worker's fetch (or the fetch wait passes) while its pool is busy; "
        "while the pool is idle it answers as soon as one record is there. At 550 "
        "requests/s, 16384 against 1: 2,690 against 3,120 µs of CPU a request in all "
        "(worker 415 against 700), p50 54 against 36 ms, p99 91 against 99 (BENCHMARKS.md, "
        "session 8)")
    kafka_consumer_thread: bool = Field(
        False, description="run Faust's aiokafka consumer in its own thread (Faust's way); "
        "false: on the worker's event loop, with no hop between two loops for every fetch, "
        "commit and seek. At 720 requests/s the worker's CPU a request was 260 against 277 "
        "µs (lower in 6 of 6 paired rounds), in bursts 128 against 132 (BENCHMARKS.md)")
    kafka_linger_ms: int = Field(
        0, ge=0, le=1000, description="how long the producer holds records for more before "
        "sending; a worker sends a batch's records together and then waits for them, so any "
        "linger is added to each batch's latency")
    kafka_compression: Literal["none", "zstd", "lz4", "snappy", "gzip"] = Field(
        "none", description="codec of the record batches the worker produces (results, dead "
        "letters, feedback). zstd packs a batch of results ~16x; it needs the "
        "`onexgen[compression]` extra (cramjam) and consumers that read zstd (Kafka clients "
        "since 2.1; aiokafka with cramjam). What it costs and saves: BENCHMARKS.md, issue 25")

    # --- Batching --------------------------------------------------------------
    batch_size: int = Field(
        150, ge=1, le=10_000, description="most requests in one batch; when traffic is "
        "light, batches close on time before they fill (larger batches cost the worker less "
        "CPU a request at the same latency: BENCHMARKS.md)")
    batch_within_s: float = Field(
        0.05, gt=0, le=60, description="a batch closes this long after its first request "
        "(or when full): bounds the added latency")
    batches_in_flight: int = Field(
        3, ge=1, le=8, description="batches a worker processes at once: the next batch "
        "generates while earlier ones publish (1 = strictly one after another; 3 against 2: "
        "p99 at 350/s better in 6 of 6 paired rounds, 4 no better than 3: BENCHMARKS.md)")

    # --- Worker process ----------------------------------------------------------
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="the worker's event loop: on uvloop (libuv, in C) the loop "
        "spent 3-17% less CPU per request than on asyncio's own in five paired runs")

    # --- Postgres ---------------------------------------------------------------
    database_url: SecretStr = Field(
        SecretStr("postgresql://onexgen@127.0.0.1:5432/onexgen"), description="a libpq-style "
        "URL. TLS: ?sslmode=verify-full&sslrootcert=<CA file>; a client certificate (pg_hba "
        "`cert`, or `clientcert=verify-full`): &sslcert=<file>&sslkey=<file> (&sslpassword= "
        "for an encrypted key). Every client (worker, CLI, benchmarks) takes it whole")
    database_pool_min: int = Field(1, ge=0, le=100)
    database_pool_max: int = Field(8, ge=1, le=200)
    metrics_retention_days: int = Field(30, ge=1, le=3650)

    # --- Worker web server (/metrics, /health) -----------------------------------
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=0, le=65535)
    web_config_file: Path | None = Field(
        None, description="TLS and basic auth for every endpoint: an exporter-toolkit web "
        "config file (tls_server_config, basic_auth_users with bcrypt hashes), the format "
        "Prometheus reads; unset: plain HTTP without auth (keep web_host on loopback then)")

    # --- Logging ---------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = None
    log_max_bytes: int = Field(100 * 1024 * 1024, ge=1024)
    log_backup_count: int = Field(10, ge=0, le=1000)
    log_rotate_when: str | None = Field(
        None, description="time-based rotation (e.g. 'midnight', 'H'); overrides size rotation"
    )

    # --- Code generation ---------------------------------------------------------
    codegen_workers: int = Field(0, ge=0, le=256, description="0 = one per core")
    codegen_job_timeout_s: float = Field(10.0, gt=0, le=600)
    codegen_min_chunk: int = Field(
        16, ge=1, le=10_000, description="fewest requests a pool process is given at once "
        "while another is busy: a smaller batch goes whole to one process instead of being "
        "split across all (an idle pool shares any batch: its latency). At 550 requests/s, "
        "16 against 1: the pool spent 3-14% less CPU a request in 14 of 14 paired rounds, "
        "for a p50 5-7 ms higher (BENCHMARKS.md, session 9)")
    template_dirs: str = Field(
        "", description="template overlay directories, separated by ':' and searched in order "
        "before the built-in templates: a file there replaces the built-in of the same name "
        "(see docs/reference/templates.md; `onexgen templates list` shows the effective set)")

    # --- Learning ------------------------------------------------------------------
    mixin_policy: Literal["reject", "auto_resolve", "off"] = Field(
        "reject", description="what to do with a mixin set the model predicts to fail")
    mixin_threshold: float = Field(0.5, ge=0, le=1)
    mixin_retrain_after: int = Field(500, ge=1, description="feedback events per full retrain")

    # --- Tracing (OpenTelemetry) ------------------------------------------------------
    tracing_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="none costs nothing per message")
    tracing_otlp_endpoint: str | None = Field(None, description="OTLP/HTTP traces endpoint")
    tracing_sample_ratio: float = Field(1.0, ge=0, le=1)
    tracing_service_name: str = Field("onexgen", min_length=1, max_length=200)
    tracing_export_delay_ms: int = Field(1000, ge=10, le=60_000)

    # --- Alerting, health and dashboard -------------------------------------------------
    alert_rules_file: Path | None = Field(
        None, description="alert rules (YAML); unset: the 21 rules shipped in the package")
    alertmanager_config: Path | None = Field(
        None, description="Alertmanager-format routes and receivers; unset: the shipped one")
    alerting_extras: Path | None = Field(
        None, description="onexgen's alert-manager extras (escalation, retries); unset: shipped")
    alertmanager_url: str | None = Field(
        None, pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="an existing Alertmanager (http://host:9093): alerts are posted to its "
                    "API v2 and the built-in notifier is off; unset: built-in notifier")
    alert_notifier: Literal["builtin", "off"] = Field(
        "builtin", description="off: no alert-manager agent at all (Prometheus evaluates the "
                               "exported rules and alerts Alertmanager itself)")
    alertmanager_resend_s: float = Field(
        15.0, gt=0, le=600, description="firing alerts are re-posted to Alertmanager this often")
    health_budget_ms: float = Field(100.0, gt=0, le=10_000, description="whole /health budget")
    health_timeouts_to_fail: int = Field(
        3, ge=1, le=100, description="a check that only times out fails /ready after this many "
                                     "probes in a row (one that raises fails at once)")
    health_stall_after_s: float = Field(60.0, gt=0, description="lag without progress")
    dashboard_refresh_ms: int = Field(1000, ge=200, le=60_000, description="page poll interval")
    alert_instance: str | None = Field(
        None, max_length=200, description="``instance`` label; unset: <hostname>:<web port>")

    @field_validator("template_dirs")
    @classmethod
    def _template_dirs_exist(cls, value: str) -> str:
        for part in value.split(os.pathsep):
            if part.strip() and not Path(part.strip()).is_dir():
                raise ValueError(f"template_dirs entry {part.strip()!r} is not a directory; "
                                 "create it (`onexgen templates export DIR`) or fix "
                                 "ONEXGEN_TEMPLATE_DIRS")
        return value

    @property
    def template_layers(self) -> tuple[Path, ...]:
        """``template_dirs`` as absolute paths, in search order."""
        return tuple(Path(p.strip()).resolve() for p in self.template_dirs.split(os.pathsep)
                     if p.strip())

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(
                    f"kafka_bootstrap entry {server!r} must be host:port "
                    "(e.g. ONEXGEN_KAFKA_BOOTSTRAP=127.0.0.1:9092)"
                )
        return value

    @model_validator(mode="after")
    def _kafka_security_consistent(self) -> Settings:
        """Refuse settings that would be ignored: a password or CA file set for a protocol
        that does not use it would connect with less protection than asked for."""
        protocol = self.kafka_security_protocol
        sasl = {"ONEXGEN_KAFKA_SASL_MECHANISM": self.kafka_sasl_mechanism,
                "ONEXGEN_KAFKA_SASL_USERNAME": self.kafka_sasl_username,
                "ONEXGEN_KAFKA_SASL_PASSWORD": self.kafka_sasl_password}
        tls = {"ONEXGEN_KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
               "ONEXGEN_KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
               "ONEXGEN_KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile}
        if protocol.startswith("SASL"):
            missing = [name for name, value in sasl.items() if value is None]
            if missing and self.kafka_sasl_mechanism not in ("GSSAPI", "OAUTHBEARER"):
                raise ValueError(f"ONEXGEN_KAFKA_SECURITY_PROTOCOL={protocol} needs "
                                 f"{', '.join(missing)}")
        else:
            stray = [name for name, value in sasl.items() if value is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)} set, but ONEXGEN_KAFKA_SECURITY_PROTOCOL="
                                 f"{protocol} does not log in: set it to SASL_SSL (or unset them)")
        if protocol not in ("SSL", "SASL_SSL"):
            stray = [name for name, value in tls.items() if value is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)} set, but ONEXGEN_KAFKA_SECURITY_PROTOCOL="
                                 f"{protocol} does not use TLS: set it to SASL_SSL or SSL "
                                 "(or unset them)")
        return self

    @cached_property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    def kafka_client_kwargs(self) -> dict[str, Any]:
        """Security settings in aiokafka's keyword names (also accepted by faust's broker)."""
        kwargs: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_sasl_mechanism:
            kwargs["sasl_mechanism"] = self.kafka_sasl_mechanism
            kwargs["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                kwargs["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_context"] = self.ssl_context()
        return kwargs

    def ssl_context(self) -> Any:
        """Verifies the broker's certificate and host name; the system CAs when no CA file."""
        from aiokafka.helpers import create_ssl_context

        for name, path in (("CAFILE", self.kafka_ssl_cafile), ("CERTFILE", self.kafka_ssl_certfile),
                           ("KEYFILE", self.kafka_ssl_keyfile)):
            if path is not None and not path.is_file():
                raise FileNotFoundError(f"ONEXGEN_KAFKA_SSL_{name}={path} is not a readable "
                                        "file: fix the path")

        return create_ssl_context(
            cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None,
            certfile=str(self.kafka_ssl_certfile) if self.kafka_ssl_certfile else None,
            keyfile=str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None,
            password=(
                self.kafka_ssl_password.get_secret_value() if self.kafka_ssl_password else None
            ),
        )


class TopicNames:
    """The five topic names under one prefix: the only place they are spelled."""

    KINDS = ("requests", "results", "feedback", "alerts", "dlq")
    __slots__ = ("alerts", "dlq", "feedback", "prefix", "requests", "results")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.requests = f"{prefix}.requests"
        self.results = f"{prefix}.results"
        self.feedback = f"{prefix}.feedback"
        self.alerts = f"{prefix}.alerts"
        self.dlq = f"{prefix}.dlq"

    def all(self) -> list[str]:
        return [self.named(kind) for kind in self.KINDS]

    def named(self, kind: str) -> str:
        """The topic of ``kind`` (one of ``KINDS``)."""
        return str(getattr(self, kind))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, falling back to ``.local/stack.env`` for addresses."""
    for key, value in stack_env().items():
        if key.startswith("ONEXGEN_") and key not in os.environ:
            overrides.setdefault(key.removeprefix("ONEXGEN_").lower(), value)
    return Settings(**overrides)
