"""Prometheus metrics of one hub process, served at /metrics.

Each app gets its own registry, so several hubs in one test process do not
share counters. Label values are bounded sets (channel kinds, close codes),
never user or ticket ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "homi_connections", "Open websocket connections", ["role"], registry=r
        )
        self.subscriptions = Gauge(
            "homi_subscriptions", "Subscriptions by channel kind", ["kind"], registry=r
        )
        self.frames_in = Counter(
            "homi_frames_in_total", "Frames received from clients", ["type"], registry=r
        )
        self.frames_out = Counter(
            "homi_frames_out_total", "Frames queued to clients", registry=r
        )
        self.errors_out = Counter(
            "homi_error_frames_total",
            "Error frames sent, by code",
            ["code"],
            registry=r,
        )
        self.closes = Counter(
            "homi_closes_total",
            "Connections closed by the hub, by code",
            ["code"],
            registry=r,
        )
        self.slow_disconnects = Counter(
            "homi_slow_client_disconnects_total",
            "Connections closed because their send queue was full",
            registry=r,
        )
        self.redis_messages = Counter(
            "homi_redis_messages_total", "Pub/sub messages received", registry=r
        )
        self.redis_reconnects = Counter(
            "homi_redis_reconnects_total", "Pub/sub listener reconnects", registry=r
        )
        self.transitions = Counter(
            "homi_ticket_transitions_total", "Ticket transitions", ["to"], registry=r
        )
        self.frame_latency = Histogram(
            "homi_frame_handling_seconds",
            "Time to handle one client frame",
            ["type"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.http_latency = Histogram(
            "homi_http_request_seconds",
            "REST request handling time",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5),
            registry=r,
        )
