"""The deployment files parse, use only known ONEXGEN_* variables, and the unit verifies."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from onexgen.alerting.config import DEFAULT_MANAGER_FILE
from tests.docs.blocks import ROOT

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "onexgen-worker@.service"
ENV_EXAMPLE = DEPLOY / "systemd" / "onexgen.env.example"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
_VAR = re.compile(r"\bONEXGEN_[A-Z0-9_]+")


def known_variables() -> set[str]:
    """Every ONEXGEN_* a worker reads: settings fields and the alert-manager's ${VAR}s."""
    from onexgen.settings import Settings

    names = {f"ONEXGEN_{n.upper()}" for n in Settings.model_fields}
    names |= set(_VAR.findall(DEFAULT_MANAGER_FILE.read_text()))
    names |= {"ONEXGEN_ROOT", "ONEXGEN_WORKERS"}  # stack.env lookup root; compose replicas
    return names


def test_deploy_files_use_only_known_variables() -> None:
    known = known_variables()
    for path in (UNIT, ENV_EXAMPLE, COMPOSE, DEPLOY / "compose" / "Dockerfile"):
        unknown = set(_VAR.findall(path.read_text())) - known
        assert not unknown, f"{path.relative_to(ROOT)} uses unknown variables {unknown}"


def test_env_example_parses_into_settings() -> None:
    from onexgen.settings import Settings

    values = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                  if line and not line.startswith("#"))
    fields: dict[str, Any] = {k.removeprefix("ONEXGEN_").lower(): v for k, v in values.items()
                              if k.removeprefix("ONEXGEN_").lower() in Settings.model_fields}
    settings = Settings.model_validate(fields)
    assert settings.topic_partitions == 12 and settings.kafka_security_protocol == "SASL_SSL"


def test_compose_file_defines_kafka_postgres_and_scalable_workers() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"kafka", "postgres", "worker", "prometheus", "alertmanager",
                             "grafana"}
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    worker = services["worker"]
    assert worker["command"] == ["onexgen", "worker"]
    assert "replicas" in worker["deploy"] and "container_name" not in worker
    env = worker["environment"]
    assert env["ONEXGEN_KAFKA_BOOTSTRAP"].endswith("kafka:9092}")
    assert (ROOT / "deploy" / "compose" / worker["build"]["dockerfile"].removeprefix(
        "deploy/compose/")).is_file()


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    text = UNIT.read_text()
    assert "ExecStart=/opt/onexgen/.venv/bin/onexgen worker" in text
    if analyze is None:  # the unit's syntax is still checked by the asserts above
        return
    # the installed path does not exist here: verify a copy that runs this checkout's binary
    unit = tmp_path / "onexgen-worker@1.service"
    unit.write_text(text.replace("/opt/onexgen/.venv/bin/onexgen",
                                 str(ROOT / ".venv" / "bin" / "onexgen")))
    done = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0 and not problems, problems
