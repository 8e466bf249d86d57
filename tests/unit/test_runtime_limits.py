"""The runtime builds one rate limiter per subscription key and shares it between clients; it and
the simulator run the cyclic garbage collector less often while they are open."""

from __future__ import annotations

import gc

from pydantic import SecretStr

from syncer.collector import GC_THRESHOLD
from syncer.config.accounts import Account
from syncer.config.settings import Settings
from syncer.redact import Redactor
from syncer.service.runtime import open_runtime
from syncer.sim import FakeClock, SimConfig, Simulator, run_simulator
from tests.unit.apiharness import START


def settings_of(**fields: object) -> Settings:
    return Settings(
        database_url="postgresql://nobody:db-pass-456@127.0.0.1:1/none",  # never connected to
        api_client_id="client-a",
        api_client_secret=SecretStr("secret-a-123"),
        api_subscription_key=SecretStr("key-one-123"),
        **fields,  # type: ignore[arg-type]
    )


async def test_every_client_of_one_subscription_key_shares_one_limiter() -> None:
    settings = settings_of(
        api_rate_limit_per_second=7.0,
        api_rate_burst=3,
        api_max_in_flight=5,
        accounts=[
            Account(customer_number="1"),
            Account(customer_number="2"),  # same credentials: same client
            Account(customer_number="3", client_id="client-b",
                    client_secret=SecretStr("secret-b-123")),  # same key, other client
            Account(customer_number="4", subscription_key=SecretStr("key-two-123")),
        ],
    )  # fmt: skip
    redactor = Redactor()
    async with open_runtime(settings, redactor=redactor) as rt:
        limiter = {n: rt.clients[n].transport.limiter for n in "1234"}
        assert rt.clients["1"] is rt.clients["2"]
        assert rt.clients["3"] is not rt.clients["1"]
        assert limiter["1"] is limiter["3"]  # the quota belongs to the key
        assert limiter["4"] is not limiter["1"]
        assert len(rt.limiters) == 2
        assert limiter["1"].rate == 7.0
        assert (limiter["1"].limits.burst, limiter["1"].limits.max_in_flight) == (3, 5)
        assert rt.clients["1"].transport.redactor is redactor
    for secret in ("secret-a-123", "secret-b-123", "key-one-123", "key-two-123", "db-pass-456"):
        assert secret in redactor  # what the runs store is masked with it too


async def test_the_runtime_collects_less_often_while_open_and_restores_the_threshold() -> None:
    settings = settings_of(accounts=[Account(customer_number="1")])
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # CPython's default
        async with open_runtime(settings):
            assert gc.get_threshold() == (GC_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


async def test_the_simulator_collects_less_often_while_it_serves() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        sim = Simulator(SimConfig(orders_per_account=1), FakeClock(START))
        async with run_simulator(sim):
            assert gc.get_threshold() == (GC_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
