"""``onexgen alerts``: export and check rules, create, list and expire silences.

* ``export-rules FILE`` - the alert rules as a Prometheus rules file
  (``promtool check rules FILE`` accepts it);
* ``check`` - load and validate the rules and alert-manager files, print a summary;
* ``check-config FILE`` - is FILE an Alertmanager config onexgen can run (exit 0),
  or not (exit 1, with the reason), as ``amtool check-config`` answers for Alertmanager;
* ``routes test --config FILE label=value ...`` - the receivers an alert with those
  labels is routed to, comma-separated in order, as ``amtool config routes test``;
* ``silence --matcher k=v [--matcher ...] --duration 1h --comment TEXT`` - mute
  matching alerts; stored in Postgres, every worker applies it within
  ``silence_refresh_s``;
* ``silences [--all]`` - active (or all) silences, newest first;
* ``expire ID`` - end a silence now.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def duration(text: str) -> timedelta:
    """``90m``, ``1h30m``, ``2d``, ``45s`` -> timedelta (argparse type)."""
    found = _DURATION.match(text.strip())
    if not text.strip() or found is None or not any(found.groups()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; write e.g. 1h, 30m, 1h30m, 2d")
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise argparse.ArgumentTypeError("the duration must be positive, e.g. 1h")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("alerts", help="alert rules and silences")
    cmds = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    exp = cmds.add_parser("export-rules", help="write the rules as a Prometheus rules file")
    exp.add_argument("file", type=Path)
    exp.add_argument("--rules", type=Path, default=None, help="rules YAML (default: configured)")
    exp.add_argument("--interval", default="15s",
                     help="the group's evaluation interval, a Prometheus duration (default 15s)")
    exp.set_defaults(handler=export_rules)
    chk = cmds.add_parser("check", help="validate the rules and alert-manager files")
    chk.add_argument("--rules", type=Path, default=None)
    chk.add_argument("--config", type=Path, default=None, help="alert-manager YAML")
    chk.set_defaults(handler=check)
    cc = cmds.add_parser("check-config", help="validate an Alertmanager-format config file")
    cc.add_argument("files", type=Path, nargs="*", metavar="FILE",
                    help="default: the configured file (ONEXGEN_ALERTMANAGER_CONFIG or shipped)")
    cc.set_defaults(handler=check_config)
    routes = cmds.add_parser("routes", help="routing decisions of an Alertmanager config")
    rcmds = routes.add_subparsers(dest="routes_command", required=True, metavar="ACTION")
    rt = rcmds.add_parser("test", help="receivers for a label set, as amtool prints them")
    rt.add_argument("--config", type=Path, default=None, help="Alertmanager YAML")
    rt.add_argument("labels", nargs="*", metavar="LABEL=VALUE")
    rt.set_defaults(handler=routes_test)
    sil = cmds.add_parser("silence", help="silence matching alerts for a while")
    sil.add_argument("--matcher", "-m", action="append", required=True,
                     help="label matcher k=v, k!=v, k=~re or k!~re (repeatable)")
    sil.add_argument("--duration", "-d", type=duration, required=True, help="e.g. 1h, 30m")
    sil.add_argument("--comment", "-c", required=True, help="why (shown in `silences`)")
    sil.add_argument("--author", default=None, help="default: the login name")
    sil.set_defaults(handler=silence)
    lst = cmds.add_parser("silences", help="list silences")
    lst.add_argument("--all", action="store_true", help="include expired silences")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(handler=silences)
    end = cmds.add_parser("expire", help="end a silence now")
    end.add_argument("silence_id")
    end.set_defaults(handler=expire)


def export_rules(args: argparse.Namespace) -> int:
    from onexgen.alerting.durations import parse_duration
    from onexgen.alerting.promrules import export_rules as write
    from onexgen.alerting.rules import DEFAULT_RULES_FILE, load_rules
    from onexgen.settings import load_settings

    rules = load_rules(args.rules or load_settings().alert_rules_file or DEFAULT_RULES_FILE)
    count = write(rules, args.file, interval_s=parse_duration(args.interval))
    print(f"wrote {count} rule(s) to {args.file}")
    return 0


def check(args: argparse.Namespace) -> int:
    from onexgen.alerting.config import DEFAULT_MANAGER_FILE, load_manager_config
    from onexgen.alerting.receivers import build_receivers
    from onexgen.alerting.rules import DEFAULT_RULES_FILE, load_rules
    from onexgen.settings import load_settings

    cfg = load_settings()
    rules = load_rules(args.rules or cfg.alert_rules_file or DEFAULT_RULES_FILE)
    manager = load_manager_config(args.config or cfg.alertmanager_config or DEFAULT_MANAGER_FILE)
    channels, _ = build_receivers(manager)
    print(f"{len(rules.rules)} rule(s) on {len(rules.metrics())} metric(s), evaluated every "
          f"{rules.evaluation_interval_s:g} s")
    print(f"integrations: {', '.join(sorted(channels)) or 'none'}")
    return 0


def check_config(args: argparse.Namespace) -> int:
    from onexgen.alerting.config import DEFAULT_MANAGER_FILE, load_manager_config
    from onexgen.alerting.errors import AlertingError
    from onexgen.settings import load_settings

    failed = 0
    for path in args.files or [load_settings().alertmanager_config or DEFAULT_MANAGER_FILE]:
        try:
            config = load_manager_config(path)
        except AlertingError as exc:
            print(f"Checking '{path}'  FAILED: {exc}")
            failed += 1
            continue
        print(f"Checking '{path}'  SUCCESS")
        print(f" - {len(config.inhibit_rules)} inhibit rules, {len(config.receivers)} "
              f"receivers, {len(config.time_intervals) + len(config.mute_time_intervals)} "
              "time intervals")
    return 1 if failed else 0


def routes_test(args: argparse.Namespace) -> int:
    from onexgen.alerting.config import DEFAULT_MANAGER_FILE, load_manager_config
    from onexgen.alerting.errors import AlertingError, MatcherError
    from onexgen.alerting.matchers import parse_matcher
    from onexgen.alerting.routing import build_tree, match_routes
    from onexgen.settings import load_settings

    labels: dict[str, str] = {}
    for pair in args.labels:  # parsed as amtool parses them: matcher syntax, '=' only
        try:
            matcher = parse_matcher(pair)
        except MatcherError as exc:
            print(f"onexgen: {exc}")
            return 2
        if matcher.op != "=":
            print(f"onexgen: {pair!r} is not a label: write name=value")
            return 2
        labels[matcher.name] = matcher.value
    path = args.config or load_settings().alertmanager_config or DEFAULT_MANAGER_FILE
    try:
        tree = build_tree(load_manager_config(path).route)
    except AlertingError as exc:
        print(f"onexgen: {exc}")
        return 1
    print(",".join(node.receiver for node in match_routes(tree, labels)))
    return 0


async def _with_repo(action: Any) -> Any:
    from onexgen.alerting.silence_store import SilenceRepository
    from onexgen.settings import load_settings
    from onexgen.storage.pool import create_pool

    settings = load_settings()
    pool = await create_pool(settings.database_url.get_secret_value(), 0, 1, attempts=2)
    try:
        return await action(SilenceRepository(pool))
    finally:
        await pool.close()


def silence(args: argparse.Namespace) -> int:
    from onexgen.alerting.errors import MatcherError
    from onexgen.alerting.silences import new_silence

    try:
        created = new_silence(args.matcher, args.duration, comment=args.comment,
                              created_by=args.author or getpass.getuser())
    except (MatcherError, ValueError) as exc:
        print(f"onexgen: {exc}")
        return 2

    async def run(repo: Any) -> None:
        await repo.create(created)

    asyncio.run(_with_repo(run))
    print(f"silence {created.id} until {created.ends_at:%Y-%m-%d %H:%M:%S} UTC: "
          f"{', '.join(created.matchers)}")
    return 0


def silences(args: argparse.Namespace) -> int:
    async def run(repo: Any) -> Any:
        return await repo.list(include_expired=args.all)

    found = asyncio.run(_with_repo(run))
    now = datetime.now(UTC)
    if args.json:
        for item in found:
            print(json.dumps(item.as_dict()))
        return 0
    if not found:
        print("no silences" if args.all else "no active silences")
        return 0
    for item in found:
        state = "active" if item.active(now) else "expired"
        print(f"{item.id}  {state:7}  until {item.ends_at:%Y-%m-%d %H:%M:%S}  "
              f"{' '.join(item.matchers)}  by {item.created_by}: {item.comment}")
    return 0


def expire(args: argparse.Namespace) -> int:
    async def run(repo: Any) -> bool:
        return bool(await repo.expire(args.silence_id, datetime.now(UTC)))

    if asyncio.run(_with_repo(run)):
        print(f"silence {args.silence_id} expired")
        return 0
    print(f"onexgen: no active silence {args.silence_id}; list them with `onexgen alerts silences`")
    return 1
