"""Secrets never reach a log line: the Redactor and the logging filter built on it."""

from __future__ import annotations

import io
import logging

from syncer.redact import MASK, RedactingFilter, Redactor, install, structlog_processor

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


def capture(redactor: Redactor) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install(redactor, [handler])
    logger = logging.getLogger("test.redact.child")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, stream, handler


def test_the_filter_masks_messages_arguments_and_tracebacks() -> None:
    logger, stream, handler = capture(Redactor([SECRET]))
    try:
        logger.debug("posting client_secret %s", SECRET)
        try:
            raise RuntimeError(f"refused {SECRET}")
        except RuntimeError:
            logger.exception("token fetch failed")
        logger.info("%s %d", "malformed args")  # a broken format must not crash or leak
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert SECRET not in out
    assert "posting client_secret ***" in out
    assert "RuntimeError: refused ***" in out
    assert "malformed args" in out


def test_install_is_idempotent_and_the_filter_sees_records_from_child_loggers() -> None:
    r = Redactor([KEY])
    handler = logging.StreamHandler(io.StringIO())
    install(r, [handler])
    install(r, [handler])
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1


def test_the_structlog_processor_masks_every_string_value() -> None:
    process = structlog_processor(Redactor([KEY]))
    event = process(None, "info", {"event": f"calling with {KEY}", "n": 3, "key": KEY})
    assert event == {"event": "calling with ***", "n": 3, "key": "***"}
