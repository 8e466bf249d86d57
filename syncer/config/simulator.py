"""Settings that point at the API simulator (syncer.sim) and one of its subscriptions, for
`syncer demo`, `syncer api --sim`, the tests and the benchmarks. The simulator is described by
protocols, not imported: only the CLI may import it.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import SecretStr

from syncer.config.settings import Settings


class _ApiEndpoint(Protocol):
    @property
    def base_url(self) -> str: ...
    @property
    def token_url(self) -> str: ...
    @property
    def scope(self) -> str: ...


class _ApiCredentials(Protocol):
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def subscription_key(self) -> str: ...


# The simulator enforces no quota unless a fault asks for one: a limiter set at ScanSource's
# (the default) would make every demo and benchmark measure the quota, not the syncer.
SIMULATOR_RATE = 10_000.0


def simulator_settings(
    api: _ApiEndpoint, credentials: _ApiCredentials, **overrides: Any
) -> Settings:
    """Settings for a running simulator (a `RunningSim`, or the benchmarks' `SimInfo`) and one
    of its subscriptions; the rate limiter out of the way unless `overrides` sets it."""
    return Settings(**{**simulator_overrides(api, credentials), **overrides})


def simulator_overrides(api: _ApiEndpoint, credentials: _ApiCredentials) -> dict[str, Any]:
    """The settings that point at a simulator and one of its subscriptions, with its rate
    limiter out of the way; every other setting keeps its configured value."""
    return {
        "api_base_url": api.base_url,
        "api_token_url": api.token_url,
        "api_scope": api.scope,
        "api_client_id": credentials.client_id,
        "api_client_secret": SecretStr(credentials.client_secret),
        "api_subscription_key": SecretStr(credentials.subscription_key),
        "api_rate_limit_per_second": SIMULATOR_RATE,
    }
