"""``onexgen alerts silence / silences / expire`` against a real migrated database."""

from __future__ import annotations

import argparse
import json

import pytest

from onexgen.cli import alerts
from onexgen.storage.migrate import migrate

pytestmark = pytest.mark.integration


@pytest.fixture
async def migrated_url(fresh_database_url: str) -> str:
    await migrate(fresh_database_url)
    return fresh_database_url


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    alerts.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_silence_cli_create_list_expire_round_trip(
        migrated_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ONEXGEN_DATABASE_URL", migrated_url)
    assert _run(["alerts", "silence", "-m", "alertname=cache_hit_rate_low", "-m",
                 "instance=~w.*", "--duration", "1h30m", "--comment", "deploy"]) == 0
    silence_id = capsys.readouterr().out.split()[1]
    assert _run(["alerts", "silences", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [s["id"] for s in listed] == [silence_id]
    assert listed[0]["matchers"] == ["alertname=cache_hit_rate_low", "instance=~w.*"]
    assert _run(["alerts", "expire", silence_id]) == 0
    capsys.readouterr()
    assert _run(["alerts", "silences"]) == 0
    assert capsys.readouterr().out.strip() == "no active silences"
    assert _run(["alerts", "silences", "--all"]) == 0
    assert "expired" in capsys.readouterr().out


def test_silence_cli_bad_matcher_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["alerts", "silence", "-m", "no-operator", "-d", "1h", "-c", "x"]) == 2
    assert "name=value" in capsys.readouterr().out


async def test_dashboard_cli_reads_running_server_in_all_formats() -> None:
    import asyncio

    from aiohttp import web
    from prometheus_client import CollectorRegistry

    from onexgen.cli.dashboard import render
    from onexgen.dashboard.routes import add_routes
    from onexgen.dashboard.snapshot import Dashboard
    from onexgen.observability.metrics import render_metrics
    from onexgen.observability.monitor import Monitor
    from tests.harness.receivers import free_port

    registry = CollectorRegistry()
    monitor = Monitor(registry)
    monitor.observe_batch(4, 0.1, 4, 0, 0, [10.0, 20.0, 30.0, 40.0])

    async def metrics(_: web.Request) -> web.Response:
        payload, content_type = render_metrics(registry)
        return web.Response(body=payload, headers={"Content-Type": content_type})

    app = web.Application()
    add_routes(app, dashboard=Dashboard(monitor))
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        as_json = json.loads(await asyncio.to_thread(render, "json", url))
        assert as_json["totals"]["messages"] == 4 and as_json["latency_ms"]["p95"] > 30
        page = await asyncio.to_thread(render, "html", url)
        assert "window.DASHBOARD_SNAPSHOT" in page
        exposition = await asyncio.to_thread(render, "prometheus", url, only_onexgen=True)
        lines = exposition.splitlines()
        assert lines and all("onexgen_" in line for line in lines)
    finally:
        await runner.cleanup()
