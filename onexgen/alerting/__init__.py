"""Alerting: rules over live figures, the alert-manager, silences, delivery.

- :mod:`~observability.alerts.rules` - the rules file (pydantic); 21 rules by default.
- :mod:`~observability.alerts.windows` - sliding windows the monitor keeps per figure.
- :mod:`~observability.alerts.engine` - pending -> firing -> resolved per rule.
- :mod:`~observability.alerts.promrules` - the same rules as a Prometheus rules file.
- :mod:`~observability.alerts.config` - alert-manager YAML: receivers, routes,
  inhibition, maintenance windows, escalation; ``${VAR}`` secrets.
- :mod:`~observability.alerts.routing`, :mod:`~observability.alerts.muting`,
  :mod:`~observability.alerts.silences`, :mod:`~observability.alerts.manager` -
  what goes to whom and when.
- :mod:`~observability.alerts.delivery` - per-receiver queues with retry and backoff.
- :mod:`~observability.alerts.service` - the monitor loop and alert-manager service
  the Faust agents (``agents/monitor.py``, ``agents/alertmanager.py``) run.
- :mod:`~observability.alerts.errors` - the exception tree.
"""
