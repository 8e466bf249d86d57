"""`syncer api` as a user runs it: a subprocess printing JSON, one-line errors, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer.sim import SimConfig, Simulator, run_simulator
from tests.integration.cli_support import syncer
from tests.integration.test_cli import run

SIM = ("api", "--sim")
CUSTOMER = "1000012345"


def ok(*args: str, stdin: str | None = None) -> Any:
    done = run(*args, timeout=60) if stdin is None else run_input(stdin, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_input(stdin: str, *args: str) -> Any:
    import subprocess

    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        env=base,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(done: Any, code: int, *fragments: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_reads_print_the_simulators_answers_as_json() -> None:
    first = ok(*SIM, "summary", "--page-size", "3")
    numbers = [r["OrderNumber"] for r in first]
    assert len(numbers) == 3 and numbers == sorted(numbers)
    order = first[0]["OrderNumber"]
    detail = ok(*SIM, "detail", "--order", order)
    assert detail["SalesOrderNumber"] == order and detail["Deliveries"]
    listed = ok(*SIM, "list", "--po-number", detail["PONumber"])
    assert order in {r["OrderNumber"] for r in listed}
    serials = ok(*SIM, "serials", "--order", order, "--page-size", "1000")
    assert sorted(r["SerialNumber"] for r in serials) == sorted(
        x["SerialNumber"]
        for d in detail["Deliveries"]
        for li in d["LineItems"]
        for x in li["LineItemDetails"]
        if x["SerialNumber"]
    )
    tracking = ok(*SIM, "tracking", "--order", order)
    assert [d["DeliveryNumber"] for d in tracking["Orders"][0]["Deliveries"]] == [
        d["DeliveryDocumentNumber"] for d in detail["Deliveries"]
    ]


def test_all_pages_stream_into_one_json_array() -> None:
    rows = ok(*SIM, "summary", "--all", "--page-size", "300", "--status", "Open")
    assert rows and all(r["Status"] == "Open" for r in rows)
    assert len({r["OrderNumber"] for r in rows}) == len(rows)


def test_quote_vrd_create_and_cancel_from_the_command_line(tmp_path: Path) -> None:
    quote = ok(*SIM, "ship-quote", "--business-unit", "1700", "--country", "US",
               "--postal-code", "29615", "--line", "ZEB-ZT41142T010000Z=2")  # fmt: skip
    assert quote["CurrencyCode"] == "USD" and "UGD" in {
        i["ServiceLevelCode"] for i in quote["Items"]
    }
    fields = ok(*SIM, "vrd", "--business-unit", "1700", "--item", "CIS-MR36HW")
    assert "EU_NAME" in {f["ID"] for f in fields["VRDItems"]}

    po = {
        "BusinessUnit": 1700,
        "PONumber": "PO-CLI-7",
        "ShippingInfo": {"ShipMethodServiceLevelCode": "UGD"},
        "Lines": [{"PartNumber": "C6PATCH-7-BL", "Quantity": 4}],
    }
    (placed,) = ok(*SIM, "create", "--file", "-", "--wait", "20", stdin=json.dumps(po))
    assert (placed["PONumber"], placed["Status"]) == ("PO-CLI-7", "Open")
    accepted = ok(*SIM, "create", "--file", "-", stdin=json.dumps(po))
    assert accepted == {"Accepted": True, "PONumber": "PO-CLI-7"}

    shipped = ok(*SIM, "summary", "--status", "Completely Shipped", "--page-size", "1")[0]
    refused = run(*SIM, "cancel", "--order", shipped["OrderNumber"])
    assert json.loads(refused.stdout)["OrderRejected"] is False
    one_line_error(refused, 1, "was not cancelled", "shipped")
    open_order = ok(*SIM, "summary", "--status", "Open", "--page-size", "1")[0]
    cancelled = ok(*SIM, "cancel", "--order", open_order["OrderNumber"])
    assert cancelled["OrderRejected"] is True


def test_errors_are_one_readable_line_with_an_exit_code(tmp_path: Path) -> None:
    one_line_error(run(*SIM, "detail", "--order", "1234567890"), 1, "HTTP 404", "not found")
    one_line_error(
        run(*SIM, "detail", "--customer", "9999999999", "--order", "7000000002"), 1, "HTTP 403"
    )
    one_line_error(run(*SIM, "ship-quote", "--country", "US"), 2, "--business-unit")
    one_line_error(run(*SIM, "create", "--file", str(tmp_path / "none.json")), 2, "cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text('{"BusinessUnit": 1700, "PoNumber": "x", "Lines": []}')
    one_line_error(run(*SIM, "create", "--file", str(bad)), 2, "PONumber", "PoNumber", "Lines")
    one_line_error(
        run_input('{"BusinessUnit": 1700, "PONumber": "P", "Lines": [{"PartNumber": "CIS-MR36HW",'
                  ' "Quantity": 1}]}', *SIM, "create", "-f", "-"),
        1,
        "HTTP 400",
        "VRD EU_NAME",
    )  # fmt: skip


def test_without_credentials_or_sim_the_error_points_at_both() -> None:
    done = run("api", "detail", "--customer", CUSTOMER, "--order", "1")
    one_line_error(done, 2, "no client_id", "SYNCER_API_CLIENT_ID", "--sim")


def api_env(running: Any, sub: Any) -> dict[str, str]:
    """This process's environment without SYNCER_* settings, plus those that point `syncer api`
    at the running simulator with subscription `sub`'s credentials."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")},
        "SYNCER_API_BASE_URL": running.base_url,
        "SYNCER_API_TOKEN_URL": running.token_url,
        "SYNCER_API_SCOPE": running.scope,
        "SYNCER_API_CLIENT_ID": sub.client_id,
        "SYNCER_API_CLIENT_SECRET": sub.client_secret,
        "SYNCER_API_SUBSCRIPTION_KEY": sub.subscription_key,
    }


async def test_configured_settings_point_it_at_a_running_simulator() -> None:
    """The way to use a `syncer sim` elsewhere: the usual SYNCER_API_* settings."""
    sim = Simulator(SimConfig(orders_per_account=20))
    sub = sim.config.subscriptions[0]
    async with run_simulator(sim) as running:
        env = {**api_env(running, sub), "SYNCER_ACCOUNTS": ",".join(sub.customer_numbers[1:])}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "syncer", "api", "summary", "--page-size", "5",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    rows = json.loads(out)
    # the first configured account is the default customer
    assert [r["OrderNumber"] for r in rows] == sim.order_numbers(sub.customer_numbers[1])[:5]
    assert sub.client_secret not in err.decode() + out.decode()


async def test_the_configured_api_settings_bound_an_ad_hoc_call() -> None:
    """`syncer api` builds its client from the settings as the syncer does: a body past
    SYNCER_API_MAX_RESPONSE_BYTES is refused, saying so, where the default accepts it."""
    import orjson

    sim = Simulator(SimConfig(orders_per_account=5))
    sub = sim.config.subscriptions[0]
    customer = sub.customer_numbers[0]
    order = sim.order_numbers(customer)[0]
    state = sim.find(order)
    assert state is not None
    body = orjson.loads(sim.detail_bytes(state, False))
    line = body["SalesOrderLines"][0]
    body["SalesOrderLines"] = [
        {**line, "LineNumber": n, "SerialNumbers": [f"S{n:04d}{k:06d}" for k in range(100)]}
        for n in range(1, 101)
    ]
    big = orjson.dumps(body)
    limit = 64 * 2**10  # the setting's least value
    assert len(big) > 2 * limit
    sim.detail_overrides[order] = (200, big)
    async with run_simulator(sim) as running:
        env = api_env(running, sub)
        args = ("api", "detail", "--customer", customer, "--order", order)
        code, out, err = await syncer(env, *args)
        assert code == 0, err
        assert json.loads(out)["SalesOrderNumber"] == order
        code, out, err = await syncer({**env, "SYNCER_API_MAX_RESPONSE_BYTES": str(limit)}, *args)
    one_line_error(Done(code, out, err), 1, "api_max_response_bytes (65,536)", f"{len(big):,}")
    assert sim.detail_hits[order] == 2  # refused once, not retried


def test_the_simulator_gets_the_configured_api_settings_too() -> None:
    """With --sim only the endpoint and credentials are the simulator's: SYNCER_API_MAX_PAGES
    still stops a search, and a misconfiguration is still exit 2."""
    done = run(*SIM, "summary", "--all", "--page-size", "1", env={"SYNCER_API_MAX_PAGES": "3"})
    one_line_error(done, 1, "still full pages after 3 pages of 1", "api_max_pages")
    done = run(*SIM, "summary", env={"SYNCER_API_MAX_PAGE": "3"})
    one_line_error(done, 2, "unknown setting SYNCER_API_MAX_PAGE", "SYNCER_API_MAX_PAGES")


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str
