"""onexgen as a user installs it: the two wheels in a fresh venv, run from another directory.

``deploy/install.sh`` (what the container image runs) builds and installs the wheels;
then, outside the checkout, the CLI generates, detects patterns and checks the alert
config, and a worker answers a request end to end against the real stack. The venv
must hold no generic top-level import names: only ``onexgen`` and the runtime's
``onex_runtime``.
"""

from __future__ import annotations

import subprocess
import uuid
import venv
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.settings import TopicNames
from tests.harness import ROOT, WorkerProcess, scratch_database
from tests.harness.kafka import collect, produce

pytestmark = pytest.mark.integration

REQUEST = {"request_id": "wheel-1", "node_type": "effect", "name": "ParcelDispatch",
           "domain": "logistics", "description": "Stores parcels and lets callers search them.",
           "operations": [{"name": "create_parcel", "description": "add a parcel"},
                          {"name": "find_parcels", "description": "search by status"}],
           "mixins": ["Retry"]}
GENERIC_NAMES = ("agents", "models", "streams", "storage", "codegen", "pipeline", "learning",
                 "observability")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding only the wheels (and their dependencies); its bin directory."""
    home = tmp_path_factory.mktemp("wheel")
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    bin_dir = home / "venv" / "bin"
    done = subprocess.run(["sh", str(ROOT / "deploy" / "install.sh"), str(ROOT),
                           str(bin_dir / "pip")], capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    yield bin_dir


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "onexgen"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def test_wheels_install_only_onexgen_and_the_runtime_as_import_names(installed: Path,
                                                                      tmp_path: Path) -> None:
    site = subprocess.run([str(installed / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    tops: dict[str, set[str]] = {}
    for dist in ("onexgen", "onexgen_runtime"):
        record = next(Path(site).glob(f"{dist}-*.dist-info")) / "RECORD"
        tops[dist] = {line.split("/")[0] for line in record.read_text().splitlines()
                      if line and ".dist-info" not in line.split(",")[0].split("/")[0]
                      and not line.startswith("..")}
    assert tops == {"onexgen": {"onexgen"}, "onexgen_runtime": {"onex_runtime"}}
    for name in GENERIC_NAMES:
        probe = subprocess.run([str(installed / "python"), "-c", f"import {name}"],
                               cwd=tmp_path, capture_output=True, text=True, check=False)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, name


def test_installed_cli_generates_detects_and_checks_alerts_outside_the_checkout(
        installed: Path, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_bytes(orjson.dumps(REQUEST))
    generated = run(installed, "generate", str(request), "--out", str(tmp_path / "out"),
                    cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert any((tmp_path / "out").rglob("node.py"))
    detected = subprocess.run([str(installed / "onexgen"), "patterns", "detect"],
                              input=orjson.dumps(REQUEST).decode() + "\n", cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, check=False)
    assert detected.returncode == 0, detected.stderr
    assert "crud" in detected.stdout or "query" in detected.stdout
    checked = run(installed, "alerts", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_installed_wheel_carries_the_token_vectors_and_not_torch(installed: Path,
                                                                 tmp_path: Path) -> None:
    """The static vectors and the model trained with them load from site-packages (their
    digest checked), with no retraining, and nothing installed torch or transformers."""
    code = ("from onexgen.learning.patterns import embedding, persist, dataset\n"
            "vectors = embedding.shipped_embeddings()\n"
            "persist.load(dataset.DEFAULT_MODEL_PATH)\n"
            "print(vectors.dims, embedding.VECTORS_PATH)\n"
            "import importlib.util as u\n"
            "print(u.find_spec('torch'), u.find_spec('transformers'))\n")
    probe = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, check=False)
    assert probe.returncode == 0, probe.stderr
    dims_and_path, specs = probe.stdout.splitlines()
    dims, path = dims_and_path.split(" ", 1)
    assert int(dims) > 0 and "site-packages" in path and str(ROOT) not in path
    assert specs == "None None"


async def test_installed_worker_answers_a_request_end_to_end(
        installed: Path, kafka_bootstrap: str, database_url: str, tmp_path: Path) -> None:
    here = tmp_path / "deployment"
    here.mkdir()
    tag = uuid.uuid4().hex[:8]
    async with scratch_database(database_url, "wheel") as db_url:
        proc = WorkerProcess(bootstrap=kafka_bootstrap, database_url=db_url,
                             prefix=f"whl{tag}", log_file=tmp_path / "worker.log",
                             python=str(installed / "python"), cwd=here)
        proc.start()
        try:
            topics = TopicNames(f"whl{tag}")
            request = {**REQUEST, "request_id": f"{tag}-1"}
            await produce(kafka_bootstrap, topics.requests,
                          [(str(request["request_id"]).encode(), orjson.dumps(request), [])])
            records = await collect(kafka_bootstrap, topics.results,
                                    until=lambda rs: len(rs) >= 1, timeout_s=90)
            result = GenerationResult.model_validate_json(records[0].value)
            assert (result.request_id, result.status) == (f"{tag}-1", ResultStatus.SUCCEEDED)
        finally:
            assert proc.stop() == 0, proc.stderr_path.read_text()[-3000:]
