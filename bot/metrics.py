"""Prometheus metrics, served at /metrics in webhook mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.updates_handled = Counter(
            "prospect_coach_updates_handled",
            "Updates from Telegram handled",
            registry=self.registry,
        )
        self.updates_dropped = Counter(
            "prospect_coach_updates_dropped",
            "Updates dropped because their sender was flooding the bot",
            registry=self.registry,
        )
        self.updates_quarantined = Counter(
            "prospect_coach_updates_quarantined",
            "Stored webhook updates set aside after failing to be read or handled a few times",
            registry=self.registry,
        )
        self.outbox_pruned = Counter(
            "prospect_coach_outbox_pruned",
            "Sent and cancelled scheduled messages deleted after their retention period",
            registry=self.registry,
        )
        self.inbox_pruned = Counter(
            "prospect_coach_inbox_pruned",
            "Handled webhook updates deleted after their retention period",
            registry=self.registry,
        )
        self.messages_sent = Counter(
            "prospect_coach_messages_sent",
            "Scheduled messages sent from the outbox",
            registry=self.registry,
        )
        self.send_errors = Counter(
            "prospect_coach_send_errors",
            "Scheduled sends that failed, by kind of error",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_retries = Counter(
            "prospect_coach_outbox_retries",
            "Scheduled messages put back for a retry after a transient error, by kind of error",
            ["kind"],
            registry=self.registry,
        )
        self.schedule_repairs = Counter(
            "prospect_coach_schedule_repairs",
            "Owners whose scheduled messages the sweep had to fix (0 in a healthy system)",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "prospect_coach_outbox_depth",
            "Scheduled messages due and not sent yet",
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "prospect_coach_outbox_lag_seconds",
            "How late the oldest due, unsent message is",
            registry=self.registry,
        )


METRICS = Metrics()
