"""Settings turned into the options of the layers below, in one place: one function per options
object. The service, `syncer sync`/`backfill`/`check`/`status` and `syncer api` all build their
clients, limiters, sync runs, schedule, endpoint and engines from these, so a setting read here
applies to every command alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from syncer.api.ratelimit import Limits
from syncer.config.schedule import expected_period, make_trigger
from syncer.config.settings import Settings

if TYPE_CHECKING:  # imported when used: `syncer health` (a container's probe) needs none of it
    import aiohttp

    from syncer.api.auth import Credentials
    from syncer.api.client import ScanSourceClient
    from syncer.api.ratelimit import RateLimiter
    from syncer.redact import Redactor
    from syncer.sync.result import SyncOptions

# A command's engine runs a few statements on one connection.
COMMAND_POOL_SIZE = 1


def limits(settings: Settings) -> Limits:
    """One subscription key's rate limiter (syncer.api.ratelimit)."""
    return Limits(
        rate=settings.api_rate_limit_per_second,
        burst=settings.api_rate_burst,
        max_in_flight=settings.api_max_in_flight,
        decrease=settings.api_rate_decrease,
        recovery_seconds=settings.api_rate_recovery_seconds,
        default_retry_after=settings.api_retry_after_default_seconds,
        max_retry_after=settings.api_retry_after_max_seconds,
    )


@dataclass(frozen=True)
class ClientOptions:
    """Where the API is and how one set of credentials calls it: the Transport's keyword
    arguments, and the client's page bound."""

    base_url: str
    token_url: str
    scope: str
    timeout_seconds: float
    max_attempts: int
    max_throttled: int
    backoff_base: float
    backoff_cap: float
    token_leeway_seconds: float
    token_refreshes_per_call: int
    token_refreshes_per_run: int
    call_deadline_seconds: float
    max_response_bytes: int
    max_pages: int

    def client(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        limiter: RateLimiter,
        redactor: Redactor,
    ) -> ScanSourceClient:
        from syncer.api.client import ScanSourceClient
        from syncer.api.transport import Transport

        transport_options: dict[str, Any] = asdict(self)
        max_pages = transport_options.pop("max_pages")
        transport = Transport(
            session,
            credentials=credentials,
            limiter=limiter,
            redactor=redactor,
            **transport_options,
        )
        return ScanSourceClient(transport, max_pages=max_pages)


def client_options(settings: Settings) -> ClientOptions:
    return ClientOptions(
        base_url=settings.api_base_url,
        token_url=settings.api_token_url,
        scope=settings.api_scope,
        timeout_seconds=settings.api_timeout_seconds,
        max_attempts=settings.api_max_attempts,
        max_throttled=settings.api_max_throttled,
        backoff_base=settings.api_backoff_base_seconds,
        backoff_cap=settings.api_backoff_cap_seconds,
        token_leeway_seconds=settings.api_token_leeway_seconds,
        token_refreshes_per_call=settings.api_token_refreshes_per_call,
        token_refreshes_per_run=settings.api_token_refreshes_per_run,
        call_deadline_seconds=settings.api_call_deadline_seconds,
        max_response_bytes=settings.api_max_response_bytes,
        max_pages=settings.api_max_pages,
    )


@dataclass(frozen=True)
class SessionOptions:
    """The process's one HTTP session (syncer.api.transport.make_session)."""

    concurrency: int
    verify_tls: bool


def session_options(settings: Settings, *, keys: int = 1) -> SessionOptions:
    """Enough pooled connections for every key's requests in flight (`keys`: the subscription
    keys in use): a call waiting for a connection would spend its timeout in our own queue."""
    return SessionOptions(
        concurrency=max(settings.api_concurrency, settings.api_max_in_flight * keys),
        verify_tls=settings.api_verify_tls,
    )


def sync_options(settings: Settings) -> SyncOptions:
    from syncer.sync.result import SyncOptions

    return SyncOptions(
        batch_size=settings.sync_batch_size,
        page_size=settings.sync_page_size,
        lookback_days=settings.sync_lookback_days,
        timezone=settings.sync_timezone,
        safety_margin_seconds=settings.sync_safety_margin_seconds,
        concurrency=settings.api_concurrency,
        writers=settings.sync_writers,
        wait_for_lock=settings.sync_lock_wait,
        defer_foreign_keys=settings.sync_defer_foreign_keys,
        gone_after_attempts=settings.sync_gone_after_attempts,
    )


@dataclass(frozen=True)
class ScheduleOptions:
    """When the service runs each account, and how long a stop may take."""

    interval_seconds: int
    cron: str
    timezone: str
    jitter_seconds: int
    run_at_start: bool
    grace_seconds: float  # shutdown_grace_seconds

    def trigger(self) -> Any:
        """The APScheduler trigger: the cron expression when given, else the interval."""
        return make_trigger(
            interval_seconds=self.interval_seconds,
            cron=self.cron,
            timezone=self.timezone,
            jitter_seconds=self.jitter_seconds,
        )

    def describe(self) -> str:
        if self.cron:
            when = f"cron '{self.cron}' ({self.timezone})"
        else:
            when = f"every {self.interval_seconds} s"
        return f"{when}, jitter up to {self.jitter_seconds} s"


def schedule_options(settings: Settings) -> ScheduleOptions:
    return ScheduleOptions(
        interval_seconds=settings.schedule_interval_seconds,
        cron=settings.schedule_cron,
        timezone=settings.schedule_timezone,
        jitter_seconds=settings.schedule_jitter_seconds,
        run_at_start=settings.schedule_run_at_start,
        grace_seconds=settings.shutdown_grace_seconds,
    )


@dataclass(frozen=True)
class HealthOptions:
    """The service's endpoint, and how old an account's last run may be before it is stale."""

    host: str
    port: int
    stale_after: timedelta


def health_options(settings: Settings) -> HealthOptions:
    """stale_after: the schedule's period (the interval, or the cron's longest gap) times
    health_stale_after_runs."""
    period = expected_period(schedule_options(settings).trigger())
    return HealthOptions(
        host=settings.health_host,
        port=settings.health_port,
        stale_after=period * settings.health_stale_after_runs,
    )


@dataclass(frozen=True)
class EngineOptions:
    """syncer.warehouse.database.create_engine's pool."""

    pool_size: int
    max_overflow: int


def engine_options(settings: Settings) -> EngineOptions:
    """The runs' engine. Its overflow is enough for every account's run at once: accounts sync
    at the same time, and a run holds up to sync_writers + 3 connections (its lock's for the
    whole run, a second one for the account's row lock while a reader holds its advisory lock,
    its writers', one to look up a list page), plus one for the service's readiness check. A
    pool smaller than that would not just slow writers down: once the runs' lock connections
    alone filled it, every run would wait for a connection until the pool's timeout, and fail."""
    needed = len(settings.accounts) * (settings.sync_writers + 3) + 1
    return EngineOptions(
        pool_size=settings.db_pool_size,
        max_overflow=max(settings.db_pool_size, needed - settings.db_pool_size),
    )


def command_engine_options() -> EngineOptions:
    """A command's engine (`status`, `db`, `check`): one connection for its few statements."""
    return EngineOptions(pool_size=COMMAND_POOL_SIZE, max_overflow=COMMAND_POOL_SIZE)
