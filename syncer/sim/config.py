"""The simulator's settings: who may call it, how much data it holds, how it behaves."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncer.sim.faultconfig import FaultConfig


@dataclass(frozen=True)
class Subscription:
    """One partner organisation: its credentials and the customer numbers it may query."""

    client_id: str
    client_secret: str
    subscription_key: str
    customer_numbers: tuple[str, ...]


def _demo() -> tuple[Subscription, ...]:
    return (
        Subscription(
            client_id="demo-client",
            client_secret="demo-secret",
            subscription_key="demo-subscription-key",
            customer_numbers=("1000012345", "1000023456", "1000034567"),
        ),
    )


@dataclass(frozen=True)
class SimConfig:
    seed: int = 42
    subscriptions: tuple[Subscription, ...] = field(default_factory=_demo)
    orders_per_account: int = 1000
    history_days: int = 120  # DateEntered spreads over this many days before the clock's start
    token_ttl_seconds: int = 3599
    latency_ms: float = 0.0  # added before every API (not token) response
    max_page_size: int = 1000  # a larger pageSize is clamped, as APIM-fronted list calls do
    create_delay_seconds: float = 60.0  # create-order-async: the order appears this much later
    lifecycle_events_per_hour: float = 0.0  # random order events on the clock (0: none)
    faults: FaultConfig = field(default_factory=FaultConfig)  # all off; see syncer.sim.faults

    def __post_init__(self) -> None:
        keys = [s.subscription_key for s in self.subscriptions]
        clients = [s.client_id for s in self.subscriptions]
        if len(set(keys)) != len(keys) or len(set(clients)) != len(clients):
            raise ValueError("subscription keys and client ids must be unique")
        if not all(s.customer_numbers for s in self.subscriptions):
            raise ValueError("every subscription needs at least one customer number")
        if self.orders_per_account < 0 or self.history_days < 1 or self.max_page_size < 1:
            raise ValueError("orders_per_account >= 0, history_days >= 1, max_page_size >= 1")
        if self.create_delay_seconds < 0 or self.lifecycle_events_per_hour < 0:
            raise ValueError("create_delay_seconds and lifecycle_events_per_hour must be >= 0")

    @property
    def customer_numbers(self) -> tuple[str, ...]:
        """All customer numbers, in subscription order, each once."""
        return tuple(dict.fromkeys(c for s in self.subscriptions for c in s.customer_numbers))
