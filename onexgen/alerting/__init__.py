"""Alerting: rules over live figures, the alert-manager, silences, delivery.

- :mod:`~onexgen.alerting.rules` - the rules file (pydantic); 21 rules by default.
- :mod:`~onexgen.alerting.engine` - pending -> firing -> resolved per rule.
- :mod:`~onexgen.alerting.promrules`, :mod:`~onexgen.alerting.families` - the same
  rules as a Prometheus rules file, over named metric families.
- :mod:`~onexgen.alerting.config` - Prometheus Alertmanager's config format (receivers,
  route tree, inhibit rules, time intervals), with :mod:`~onexgen.alerting.durations`,
  :mod:`~onexgen.alerting.timeintervals` and :mod:`~onexgen.alerting.matchers`;
  :mod:`~onexgen.alerting.extras` - onexgen's own additions (escalation, retries).
- :mod:`~onexgen.alerting.routing`, :mod:`~onexgen.alerting.muting`,
  :mod:`~onexgen.alerting.silences`, :mod:`~onexgen.alerting.manager` -
  what goes to whom and when, decided as Alertmanager decides.
- :mod:`~onexgen.alerting.delivery` - per-integration queues with bounded retry; poison
  notifications parked.
- :mod:`~onexgen.alerting.handoff` - posting to an existing Alertmanager's API v2.
- :mod:`~onexgen.alerting.service` - the monitor loop and alert-manager service
  the Faust agents (``agents/monitor.py``, ``agents/alertmanager.py``) run.
- :mod:`~onexgen.alerting.errors` - the exception tree.
"""
