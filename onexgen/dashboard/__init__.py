"""The live dashboard: ``/dashboard`` (HTML polling ``/dashboard.json``) and the JSON itself.

:class:`~observability.dashboard.snapshot.Dashboard` gathers the figures
(monitor windows, rule states, active alerts, health) into one JSON document;
:mod:`~observability.dashboard.routes` serves it, the page and ``/health`` /
``/ready`` on the worker's aiohttp app; ``onexgen dashboard`` reads the same
document from a running worker.
"""
