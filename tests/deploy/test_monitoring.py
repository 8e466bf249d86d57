"""The Grafana dashboard and the Prometheus alert rules ask only for series the service
serves: every metric name in their PromQL is in a scrape of /metrics (or is `up`)."""

from __future__ import annotations

from pydantic import SecretStr

from syncer.api.auth import Credentials
from syncer.api.transport import Transport, make_session
from syncer.service.health import Readiness, build_app, serve
from syncer.service.metrics import Metrics
from tests.deploy.monitoring import (
    JOB,
    alert_rules,
    dashboard,
    dashboard_exprs,
    promql_names,
    served_names,
)

A, B = "1000012345", "1000023456"


async def scrape_a_fresh_service() -> str:
    """/metrics of the service's endpoint, before any run: every family is declared."""
    session = make_session(concurrency=1)
    try:
        creds = Credentials("client", SecretStr("secret"), SecretStr("key"))
        transport = Transport(
            session, base_url="http://127.0.0.1:9", token_url="http://127.0.0.1:9/token",
            scope="scope", credentials=creds,
        )  # fmt: skip
        metrics = Metrics([A, B], transports={A: transport, B: transport})

        async def ready() -> Readiness:
            return Readiness(True, [], {})

        async with (
            serve(build_app(ready, metrics), "127.0.0.1", 0) as port,
            session.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert resp.status == 200
            return await resp.text()
    finally:
        await session.close()


def test_the_names_are_read_out_of_promql() -> None:
    expr = (
        'sum by (le, operation) (rate(a_bucket{job="x", status=~"4.."}[$__rate_interval])) '
        "/ on (account) group_left b_total > bool 0.25 unless time() - c offset 5m"
    )
    assert promql_names(expr) == {"a_bucket", "b_total", "c"}
    assert promql_names('up{job="scansource-syncer"} == 0') == {"up"}
    assert promql_names("histogram_quantile(0.95, sum by (le) (rate(d_bucket[1h])))") == {
        "d_bucket"
    }


async def test_the_dashboard_and_the_alerts_name_only_series_the_service_serves() -> None:
    served = served_names(await scrape_a_fresh_service()) | {"up"}
    used: dict[str, set[str]] = {}
    for expr in dashboard_exprs() + [rule["expr"] for rule in alert_rules()]:
        names = promql_names(expr)
        assert names, f"no metric in {expr!r}"
        for name in names:
            used.setdefault(name, set()).add(expr)
    unknown = {name: exprs for name, exprs in used.items() if name not in served}
    assert not unknown, f"not served by /metrics: {unknown}"
    # What the dashboard is for: each topic has its series on it.
    on_board = set(used)
    assert {
        "syncer_runs_total", "syncer_last_success_timestamp_seconds", "syncer_orders_total",
        "syncer_rows_written_total", "syncer_api_request_duration_seconds_count",
        "syncer_api_request_duration_seconds_bucket", "syncer_api_rate_limit_requests_per_second",
        "syncer_api_congestion_events_total", "syncer_open_failures", "up",
    } <= on_board  # fmt: skip
    assert any("histogram_quantile" in e and "syncer_api_request" in e for e in dashboard_exprs())


def test_the_alerts_cover_stale_failing_growing_failures_throttling_and_down() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert set(rules) == {
        "SyncerDown", "SyncerAccountFailing", "SyncerAccountStale",
        "SyncerOpenFailuresGrowing", "SyncerThrottlingStorm",
    }  # fmt: skip
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["for"], name
    assert rules["SyncerDown"]["expr"] == f'up{{job="{JOB}"}} == 0'


def test_the_dashboard_filters_by_account_and_takes_its_datasource_as_a_variable() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["account"]["includeAll"] and variables["account"]["multi"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)
    per_account = [e for e in dashboard_exprs() if "account" in e]
    assert per_account and all('account=~"$account"' in e for e in per_account if "{" in e)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
