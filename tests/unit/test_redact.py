"""Secrets never reach a log line or a table: the process's one Redactor."""

from __future__ import annotations

from syncer.redact import MASK, Redactor, structlog_processor

SECRET = "s3cr3t-client-secret"
KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhenAiOiJkZW1vIn0.c2lnbmF0dXJl"


def test_registered_secrets_and_tokens_are_masked_wherever_they_appear() -> None:
    r = Redactor([SECRET, KEY])
    r.add_token(TOKEN)
    text = f"id=demo secret {SECRET} key:{KEY} and {TOKEN}; {SECRET}{SECRET}"
    out = r(text)
    for s in (SECRET, KEY, TOKEN):
        assert s not in out
    assert out.count(MASK) >= 5 and out.startswith("id=demo secret ***")


def test_credential_shapes_are_masked_even_when_never_registered() -> None:
    r = Redactor()
    out = r(
        "Authorization: Bearer abc.def-ghi_jkl= client_secret=hunter2&scope=x "
        '{"access_token": "tok123", "subscription-key": k-777} Ocp-Apim-Subscription-Key: zzz9'
    )
    for s in ("abc.def-ghi_jkl", "hunter2", "tok123", "k-777", "zzz9"):
        assert s not in out
    assert "scope=x" in out  # the rest of the text is left alone


def test_short_values_are_not_treated_as_secrets() -> None:
    r = Redactor(["", "ab"])
    assert r("a cab stand") == "a cab stand"


def test_only_the_most_recent_tokens_are_kept() -> None:
    r = Redactor()
    for i in range(100):
        r.add_token(f"token-number-{i:03d}")
    assert "token-number-099" in r and "token-number-000" not in r


def test_nested_values_are_masked_and_other_values_kept() -> None:
    r = Redactor([KEY])
    value = {"headers": {"Ocp-Apim-Subscription-Key": KEY}, "n": 3, "ok": True, "none": None,
             "values": (KEY, 1.5), "other": ValueError(f"refused {KEY}")}  # fmt: skip
    assert r.clean(value) == {
        "headers": {"Ocp-Apim-Subscription-Key": MASK}, "n": 3, "ok": True, "none": None,
        "values": [MASK, 1.5], "other": f"refused {MASK}",
    }  # fmt: skip


def test_a_body_exposes_what_requests_carry_a_key_and_a_recent_token() -> None:
    r = Redactor([SECRET])
    r.add(KEY, sent=True)
    r.add("short-key", sent=True)
    for i in range(10):
        r.add_token(f"{TOKEN}-{i}")
    assert r.exposes(f'{{"Debug": "{KEY}"}}'.encode())
    assert r.exposes(f"Authorization: Bearer {TOKEN}-9".encode())
    assert r.exposes(f"Authorization: Bearer {TOKEN}-8".encode())  # sent before a refresh
    assert not r.exposes(f"Authorization: Bearer {TOKEN}-0".encode())  # long dead, never sent
    assert not r.exposes(f'{{"Memo": "{SECRET}"}}'.encode())  # the API is never sent it
    assert not r.exposes(b'{"Memo": "short-key is a part number here"}')
    assert r('{"Memo": "short-key"}') == '{"Memo": "***"}'  # in text it is still masked


def test_the_structlog_processor_masks_every_value_nested_ones_included() -> None:
    process = structlog_processor(Redactor([KEY]))
    event = process(None, "info", {"event": f"calling with {KEY}", "n": 3, "h": {"key": KEY}})
    assert event == {"event": "calling with ***", "n": 3, "h": {"key": "***"}}
