"""Prometheus metrics of rule evaluation, the alert-manager and notification delivery.

Kept apart from :mod:`observability.metrics` (the pipeline's) so that a worker
can run the monitor without the alert-manager and each registers only what it
owns. Label values are bounded: rule names come from the rules file, receiver
names from the alert-manager file, reasons and outcomes from fixed sets.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from onexgen.observability.metrics import PRODUCE_BUCKETS, MetricSet

__all__ = ["SUPPRESSION_REASONS", "AlertMetrics", "NotificationMetrics"]

SUPPRESSION_REASONS = ("silenced", "inhibited", "mute_time_interval",
                       "outside_active_time_interval", "duplicate")

EVALUATION_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                      0.01, 0.05)


class AlertMetrics(MetricSet):
    """What the rule engine does: evaluations, their cost, transitions, what is firing."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.evaluations = self.counter(
            "alert_rule_evaluations", "Evaluation cycles of the whole rule set.")
        self.evaluation_duration = self.histogram(
            "alert_rule_evaluation_duration_seconds",
            "Time to evaluate every rule once.", buckets=EVALUATION_BUCKETS)
        self.transitions = self.counter(
            "alert_transitions", "Alerts that started firing or resolved, per rule and status.",
            ["rule", "status"])
        self.firing = self.gauge(
            "alerts_firing", "Alerts firing now, per severity.", ["severity"])
        self.publish_failures = self.counter(
            "alert_publish_failures", "Alert batches Kafka did not take (retried next cycle).")
        for severity in ("info", "warning", "critical"):
            self.firing.labels(severity=severity)


class NotificationMetrics(MetricSet):
    """What the alert-manager does with alerts and how delivery to each receiver goes."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.alerts_received = self.counter(
            "alertmanager_alerts_received", "Alerts consumed from the alerts topic, by status.",
            ["status"])
        self.suppressed = self.counter(
            "alertmanager_alerts_suppressed",
            "Alerts not notified, by reason (silenced, inhibited, time intervals, duplicate).",
            ["reason"])
        self.notifications = self.counter(
            "notifications", "Notification attempts per receiver and outcome "
            "(delivered, retried, failed: given up on, dropped: no such receiver).",
            ["receiver", "outcome"])
        self.delivery_duration = self.histogram(
            "notification_delivery_duration_seconds",
            "From a notification being queued to its receiver accepting it.", ["receiver"],
            buckets=(*PRODUCE_BUCKETS, 10, 30, 60, 300))
        self.queue_depth = self.gauge(
            "notification_queue_depth", "Notifications waiting for their receiver.",
            ["receiver"])
        self.escalations = self.counter(
            "alert_escalations", "Escalation notifications sent, per escalation policy.",
            ["policy"])
        self.active_silences = self.gauge(
            "alertmanager_silences_active", "Silences in force now.")
        self.groups = self.gauge(
            "alertmanager_groups", "Aggregation groups holding at least one alert.")
        self.handoff = self.counter(
            "alertmanager_handoff_posts",
            "POSTs of alerts to the external Alertmanager's API v2, by outcome (ok, error).",
            ["outcome"])
        for outcome in ("ok", "error"):
            self.handoff.labels(outcome=outcome)
        for reason in SUPPRESSION_REASONS:
            self.suppressed.labels(reason=reason)
        for status in ("firing", "resolved"):
            self.alerts_received.labels(status=status)

    def register_receiver(self, name: str) -> None:
        """Create the receiver's series at zero so rate() has a baseline."""
        for outcome in ("delivered", "retried", "failed", "dropped"):
            self.notifications.labels(receiver=name, outcome=outcome)
        self.queue_depth.labels(receiver=name)
        self.delivery_duration.labels(receiver=name)
