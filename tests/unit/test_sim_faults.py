"""The simulator's faults on the wire: what a client sees for each one, and that each is
repeatable per seed, counted, and adjustable on a running simulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
import pytest

from syncer.sim import (
    FakeClock,
    FaultConfig,
    RunningSim,
    SimConfig,
    Simulator,
    Subscription,
    run_simulator,
)
from syncer.sim.faultconfig import CHAOS, QUIRKS

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)
DEMO = SimConfig().subscriptions[0]
CUSTOMER = DEMO.customer_numbers[0]


class Wire:
    """Raw HTTP against a running simulator: status, headers and body bytes, nothing parsed."""

    def __init__(self, http: aiohttp.ClientSession, running: RunningSim) -> None:
        self.http = http
        self.running = running
        self.sim = running.sim
        self._token = ""

    async def token(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": DEMO.client_id,
            "client_secret": DEMO.client_secret,
            "scope": self.running.scope,
        }
        async with self.http.post(self.running.token_url, data=form) as r:
            assert r.status == 200, await r.text()
            token: str = (await r.json())["access_token"]
            return token

    async def get(
        self, op: str, token: str | None = None, **params: str
    ) -> tuple[int, dict[str, str], bytes]:
        self._token = token or self._token or await self.token()
        headers = {
            "Ocp-Apim-Subscription-Key": DEMO.subscription_key,
            "Authorization": f"Bearer {self._token}",
        }
        query = {"customerNumber": CUSTOMER, **params}
        url = f"{self.running.base_url}/{op}"
        async with self.http.get(url, params=query, headers=headers) as r:
            return r.status, dict(r.headers), await r.read()

    async def detail(self, n: int = 0) -> tuple[int, dict[str, str], bytes]:
        return await self.get("detail", salesOrderNumber=self.sim.order_numbers(CUSTOMER)[n])


@asynccontextmanager
async def wire(**faults: Any) -> AsyncIterator[Wire]:
    sim = Simulator(
        SimConfig(orders_per_account=30, faults=FaultConfig(**faults)), FakeClock(START)
    )
    async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
        yield Wire(http, running)


# -- the fault settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "served"),
    [("0", 0), ("-5", -5), ("1e12", 1e12), ("abc", "abc"), ("none", None), ("1e400", "1e400")],
)
async def test_the_token_answer_says_the_expires_in_asked_for(
    expires_in: str, served: object
) -> None:
    async with wire(token_expires_in=expires_in) as w:
        form = {"grant_type": "client_credentials", "client_id": DEMO.client_id,
                "client_secret": DEMO.client_secret, "scope": w.running.scope}  # fmt: skip
        async with w.http.post(w.running.token_url, data=form) as r:
            assert r.status == 200
            body = await r.read()
        if expires_in == "1e400":  # no double holds it: as written, for the client to cope
            assert b'"expires_in":1e400' in body
        else:
            answer = orjson.loads(body)
            assert answer.get("expires_in", None) == served
            assert ("expires_in" in answer) == (expires_in != "none")
        token = orjson.loads(body.replace(b"1e400", b"0"))["access_token"]
        assert (await w.get("list", token))[0] == 200  # it lives on: only the answer lies
        assert w.sim.faults.injected["token_expires_in"] == 1


async def test_tokens_can_die_at_once() -> None:
    async with wire(token_dies_at_once=True) as w:
        status, _, body = await w.get("list", await w.token())
        assert status == 401
        assert orjson.loads(body)["message"] == "Unauthorized! Access token is missing or invalid."
        assert FaultConfig.parse("token_dies_at_once=true,token_expires_in=0") == FaultConfig(
            token_dies_at_once=True, token_expires_in="0"
        )


async def test_a_chunked_body_has_no_content_length_and_arrives_whole() -> None:
    async with wire(chunked_rate=1.0, only=frozenset({"detail"})) as w:
        number = w.sim.order_numbers(CUSTOMER)[0]
        status, headers, body = await w.get("detail", salesOrderNumber=number)
        assert status == 200 and "Content-Length" not in headers
        assert headers["Transfer-Encoding"] == "chunked"
        state = w.sim.find(number)
        assert state is not None and body == w.sim.detail_bytes(state, False)


@pytest.mark.parametrize(("form", "header"), [("seconds", "1e+308"), ("date", "9999")])
async def test_a_retry_after_can_ask_for_forever(form: str, header: str) -> None:
    async with wire(rate_limit=1, retry_after=form, retry_after_seconds=1e308) as w:
        token = await w.token()
        await w.get("list", token)
        status, headers, _ = await w.get("list", token)
        assert status == 429 and header in headers["Retry-After"]


def test_faults_are_off_by_default_and_parse_from_the_cli_form() -> None:
    assert not FaultConfig().active
    c = FaultConfig.parse("rate_limit=50, error-rate=0.02,quirks=float_ints+null_arrays")
    assert (c.rate_limit, c.error_rate) == (50.0, 0.02)
    assert c.quirks == {"float_ints", "null_arrays"} and c.active
    assert FaultConfig.parse(["chaos", "error_rate=0"]).error_rate == 0.0
    assert FaultConfig.parse("chaos").hang_rate == CHAOS["hang_rate"]
    assert FaultConfig.parse("quirks=all").quirks == set(QUIRKS)
    assert FaultConfig(rate_limit=10).burst == 10 and FaultConfig(rate_limit=0.5).burst == 1
    long = FaultConfig.parse("long_text_rate=0.5,long_text_chars=12345")
    assert (long.long_text_rate, long.long_text_chars) == (0.5, 12_345) and long.active
    assert not FaultConfig(long_text_chars=50).active  # the length of memos none has


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("error_rate=2", "between 0 and 1"),
        ("nonsense=1", "expected name=value"),
        ("rate_limit=fast", "not a number"),
        ("quirks=typos", "unknown quirks"),
        ("retry_after=later", "retry_after must be one of"),
        ("long_text_chars=0", "long_text_chars must be at least 1"),
        ("token_dies_at_once=maybe", "not true or false"),
    ],
)
def test_a_bad_fault_spec_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        FaultConfig.parse(spec)


# -- rate limit ----------------------------------------------------------------------------


async def test_over_the_rate_limit_the_gateway_answers_429_with_retry_after_and_apim_body() -> None:
    async with wire(rate_limit=0.5, rate_limit_burst=3) as w:
        token = await w.token()  # the token endpoint is Azure AD's, not under the APIM limit
        answers = [await w.get("list", token) for _ in range(5)]
        assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
        _, headers, body = answers[3]
        assert headers["Retry-After"] == "2"  # whole seconds, as APIM sends them
        assert orjson.loads(body) == {
            "statusCode": 429,
            "message": "Rate limit is exceeded. Try again in 2 seconds.",
        }
        assert w.sim.faults.injected["rate_limit"] == 2
        assert [a.status for a in w.sim.faults.journal] == [200, 200, 200, 429, 429]


async def test_retry_after_can_be_an_http_date_or_absent() -> None:
    async with wire(rate_limit=0.5, rate_limit_burst=1, retry_after="date") as w:
        await w.get("list")
        status, headers, _ = await w.get("list")
        assert status == 429
        when = parsedate_to_datetime(headers["Retry-After"])
        assert 0 < (when - datetime.now(UTC)).total_seconds() <= 3
        w.sim.faults.config = FaultConfig(rate_limit=0.5, rate_limit_burst=1, retry_after="none")
        status, headers, _ = await w.get("list")
        assert status == 429 and "Retry-After" not in headers


async def test_each_subscription_key_has_its_own_limit() -> None:
    other = Subscription("other-client", "other-secret", "other-key", ("2000099999",))
    config = SimConfig(
        subscriptions=(DEMO, other),
        orders_per_account=5,
        faults=FaultConfig(rate_limit=0.01, rate_limit_burst=1),
    )
    sim = Simulator(config, FakeClock(START))
    async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
        w = Wire(http, running)
        assert (await w.get("list"))[0] == 200
        assert (await w.get("list"))[0] == 429
        form = {"grant_type": "client_credentials", "client_id": other.client_id,
                "client_secret": other.client_secret, "scope": running.scope}  # fmt: skip
        async with http.post(running.token_url, data=form) as r:
            token = (await r.json())["access_token"]
        headers = {"Ocp-Apim-Subscription-Key": other.subscription_key,
                   "Authorization": f"Bearer {token}"}  # fmt: skip
        params = {"customerNumber": "2000099999"}
        async with http.get(f"{running.base_url}/list", params=params, headers=headers) as r:
            assert r.status == 200  # the other key's quota is untouched


# -- failures ----------------------------------------------------------------------------


async def test_random_5xx_answers_carry_the_backend_or_gateway_body() -> None:
    async with wire(error_rate=1.0) as w:
        token = await _token_without_faults(w)
        numbers = w.sim.order_numbers(CUSTOMER)[:8]
        answers = [await w.get("detail", token, salesOrderNumber=n) for n in numbers]
        statuses = {a[0] for a in answers}
        assert statuses <= {500, 502, 503, 504} and len(statuses) > 1
        assert w.sim.faults.injected["error"] == 8
        for _, _, body in answers:
            assert orjson.loads(body).keys() & {"Message", "message"}


async def test_a_hang_keeps_the_client_waiting_until_it_gives_up() -> None:
    async with wire(hang_rate=1.0, hang_seconds=5.0) as w:
        token = await _token_without_faults(w)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with w.http.get(
                f"{w.running.base_url}/list",
                params={"customerNumber": CUSTOMER},
                headers=_headers(token),
                timeout=aiohttp.ClientTimeout(total=0.3),
            ) as r:
                await r.read()
        assert time.monotonic() - started < 2  # the hang ended when the client hung up
        assert w.sim.faults.injected["hang"] >= 1


async def test_broken_bodies_come_back_as_200_that_no_json_parser_accepts() -> None:
    for kind in ("truncate", "malformed", "html"):
        async with wire(**{f"{kind}_rate": 1.0}) as w:
            token = await _token_without_faults(w)
            status, headers, body = await w.get(
                "detail", token, salesOrderNumber=w.sim.order_numbers(CUSTOMER)[0]
            )
            assert status == 200
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(body)
            if kind == "html":
                assert headers["Content-Type"].startswith("text/html")
            assert w.sim.faults.injected[kind] >= 1


async def test_a_reset_drops_the_connection_halfway_through_the_body() -> None:
    async with wire(reset_rate=1.0) as w:
        token = await _token_without_faults(w)
        with pytest.raises(aiohttp.ClientPayloadError):
            await w.get("detail", token, salesOrderNumber=w.sim.order_numbers(CUSTOMER)[0])


async def test_a_slow_body_arrives_whole_but_late() -> None:
    async with wire(slow_rate=1.0, slow_seconds=0.4) as w:
        token = await _token_without_faults(w)
        started = time.monotonic()
        status, _, body = await w.get(
            "detail", token, salesOrderNumber=w.sim.order_numbers(CUSTOMER)[0]
        )
        assert status == 200 and orjson.loads(body)["SalesOrderNumber"]
        assert time.monotonic() - started >= 0.35


async def test_a_used_token_can_die_before_its_exp_and_a_fresh_one_works() -> None:
    async with wire() as w:
        token = await w.token()
        assert (await w.get("list", token))[0] == 200
        w.sim.faults.config = FaultConfig(token_expiry_rate=1.0)
        status, _, body = await w.get("list", token)
        assert status == 401
        assert orjson.loads(body)["message"] == "Unauthorized! Access token is missing or invalid."
        assert (await w.get("list", token))[0] == 401  # revoked for good
        fresh = await w.token()
        assert (await w.get("list", fresh))[0] == 200  # a fresh token serves at least once
        assert w.sim.faults.injected["token_expiry"] == 1
        # the same text as the API's own answer to a bad token
        _, _, own = await w.get("list", "not-a-token")
        assert orjson.loads(own) == orjson.loads(body)


# -- paging ----------------------------------------------------------------------------------


async def _list_pages(w: Wire, pages: int) -> list[list[str]]:
    """The order numbers of list pages 1..pages, in pages of 10."""
    out = []
    for page in range(1, pages + 1):
        status, _, body = await w.get("list", page=str(page), pageSize="10")
        assert status == 200
        out.append([row["OrderNumber"] for row in orjson.loads(body)])
    return out


async def test_list_paging_can_ignore_page_repeat_each_page_or_never_end() -> None:
    async with wire() as w:  # 30 orders: three full pages of 10, then an empty one
        first, second, third, end = await _list_pages(w, 4)
    assert len({*first, *second, *third}) == 30 and end == []

    async with wire(list_ignores_page=True) as w:
        assert await _list_pages(w, 4) == [first] * 4
        assert w.sim.faults.injected["list_ignores_page"] == 3
    async with wire(list_repeats_pages=True) as w:
        assert await _list_pages(w, 4) == [first, first, second, second]
        assert w.sim.faults.injected["list_repeats_pages"] == 3
    async with wire(list_endless=True) as w:  # past the end, the matches start over: full
        assert await _list_pages(w, 5) == [first, second, third, first, second]
        assert w.sim.faults.injected["list_endless"] == 5


def test_paging_faults_parse_as_switches() -> None:
    c = FaultConfig.parse("list_ignores_page=1,list-endless=true,list_repeats_pages=0")
    assert (c.list_ignores_page, c.list_endless, c.list_repeats_pages) == (True, True, False)
    assert c.active and not FaultConfig.parse("list_endless=0").active
    with pytest.raises(ValueError, match="not true or false"):
        FaultConfig.parse("list_endless=maybe")


async def test_faults_repeat_exactly_for_the_same_seed() -> None:
    async def run(seed: int) -> list[int]:
        async with wire(error_rate=0.4, seed=seed) as w:
            token = await _token_without_faults(w)
            w.sim.faults.config = FaultConfig(error_rate=0.4, seed=seed)
            return [(await w.get("detail", token, salesOrderNumber=n))[0]
                    for n in w.sim.order_numbers(CUSTOMER)[:20]]  # fmt: skip

    first, again, other = await run(7), await run(7), await run(8)
    assert first == again
    assert first != other
    assert 0 < first.count(200) < 20


async def _token_without_faults(w: Wire) -> str:
    saved = w.sim.faults.config
    w.sim.faults.config = FaultConfig()
    try:
        return await w.token()
    finally:
        w.sim.faults.config = saved


def _headers(token: str) -> dict[str, str]:
    return {"Ocp-Apim-Subscription-Key": DEMO.subscription_key, "Authorization": f"Bearer {token}"}
