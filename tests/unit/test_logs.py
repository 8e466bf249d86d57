"""Logs: JSON off a terminal, readable on one, stdlib records included, secrets never written."""

from __future__ import annotations

import ast
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

import syncer
from syncer.logs import route_through_stdlib, setup_logging
from syncer.redact import MASK, Redactor

SECRET = "sk-live-7f3a9c2e"
DB_PASSWORD = "pg-pass-4411"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = logging.getLogger("syncer").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("syncer").setLevel(ours)
    route_through_stdlib()  # as the syncer leaves it


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_off_a_terminal_every_line_is_a_json_object_with_time_level_logger_and_event() -> None:
    out = io.StringIO()
    setup_logging(stream=out)
    structlog.stdlib.get_logger("syncer.service.scheduler").info(
        "sync run", account="1000012345", loaded=7
    )
    logging.getLogger("syncer.sync.pipeline").warning("account %s: batch failed", "1000012345")

    first, second = lines(out)
    assert list(first)[:4] == ["timestamp", "level", "logger", "event"]
    assert first["event"] == "sync run" and first["loaded"] == 7 and first["level"] == "info"
    assert second["event"] == "account 1000012345: batch failed"
    assert second["logger"] == "syncer.sync.pipeline" and second["level"] == "warning"


def test_on_a_terminal_lines_are_readable_not_json() -> None:
    out = Terminal()
    setup_logging(stream=out)
    structlog.stdlib.get_logger("syncer.service.scheduler").info("sync run", account="1000012345")

    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())  # colours on a terminal
    assert "sync run" in text and "account=1000012345" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_no_color_turns_colours_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    setup_logging(stream=out)
    logging.getLogger("syncer").info("plain")
    assert "\x1b[" not in out.getvalue() and "plain" in out.getvalue()


def test_the_format_can_be_forced_either_way() -> None:
    out = Terminal()
    setup_logging(stream=out, fmt="json")
    logging.getLogger("syncer").info("hello")
    assert lines(out)[0]["event"] == "hello"


def test_our_debug_lines_need_debug_level_and_libraries_only_warn() -> None:
    out = io.StringIO()
    setup_logging(stream=out, level="INFO")
    logging.getLogger("syncer.api.transport").debug("detail GET /detail → 200")
    logging.getLogger("aiohttp.access").info("GET /metrics 200")
    logging.getLogger("apscheduler.scheduler").warning("job skipped: max instances")
    assert [line["event"] for line in lines(out)] == ["job skipped: max instances"]

    out = io.StringIO()
    setup_logging(stream=out, level="DEBUG")
    logging.getLogger("syncer.api.transport").debug("detail GET /detail → 200")
    assert lines(out)[0]["level"] == "debug"


def test_known_secrets_are_masked_in_messages_fields_and_tracebacks() -> None:
    out = io.StringIO()
    setup_logging(stream=out, redactor=Redactor([SECRET, DB_PASSWORD]))
    log = structlog.stdlib.get_logger("syncer.x")
    log.info(f"token form client_secret={SECRET}", url=f"postgresql://u:{DB_PASSWORD}@db/w")
    log.info("nested", headers={"Ocp-Apim-Subscription-Key": SECRET}, values=[SECRET])
    logging.getLogger("syncer.y").error("refused %s", SECRET)
    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError:
        logging.getLogger("syncer.z").exception("crashed")
        log.exception("crashed again")

    text = out.getvalue()
    assert SECRET not in text and DB_PASSWORD not in text
    assert text.count(MASK) >= 7
    crashed = [line for line in lines(out) if line["event"].startswith("crashed")]
    assert len(crashed) == 2
    assert all("RuntimeError: boom with " + MASK in c["exception"] for c in crashed)


def test_tracebacks_on_a_terminal_show_no_local_variables() -> None:
    out = Terminal()
    setup_logging(stream=out)

    def leaky() -> None:
        client_secret = "unknown-to-the-redactor"  # noqa: F841 - the point of the test
        raise ValueError("bad")

    try:
        leaky()
    except ValueError:
        logging.getLogger("syncer").exception("failed")
    assert "ValueError: bad" in out.getvalue()
    assert "unknown-to-the-redactor" not in out.getvalue()


def test_extra_processors_and_filters_apply_to_every_line() -> None:
    def drop_bearer(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict["event"] = str(event_dict["event"]).replace("Bearer abc.def", "Bearer [token]")
        return event_dict

    class NoHealthChecks(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "healthz" not in record.getMessage()

    out = io.StringIO()
    setup_logging(stream=out, extra=[drop_bearer, NoHealthChecks()])
    logging.getLogger("syncer").info("sent Authorization: Bearer abc.def")
    logging.getLogger("syncer").info("GET /healthz")
    assert [line["event"] for line in lines(out)] == ["sent Authorization: Bearer [token]"]


def test_setting_up_twice_replaces_the_handler_instead_of_doubling_lines() -> None:
    out = io.StringIO()
    setup_logging(stream=io.StringIO())
    setup_logging(stream=out)
    logging.getLogger("syncer").info("once")
    assert len(lines(out)) == 1


def test_modules_log_fields_not_formatted_text() -> None:
    # Every logger comes from syncer.logs.get_logger, and no call formats values into its
    # message (%-style arguments or an f-string): values are keyword fields, so that a run's
    # lines can be filtered by account, run_id, order or operation.
    package = Path(syncer.__file__).parent
    offences = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            where = f"{path.relative_to(package.parent)}:{node.lineno}"
            if node.func.attr == "getLogger" and path.name != "logs.py":
                offences.append(f"{where}: logging.getLogger instead of get_logger")
            is_log = isinstance(node.func.value, ast.Name) and node.func.value.id == "log"
            level = node.func.attr in {"debug", "info", "warning", "error", "exception"}
            formatted = len(node.args) > 1 or any(isinstance(a, ast.JoinedStr) for a in node.args)
            if is_log and level and formatted:
                offences.append(f"{where}: values formatted into the message")
    assert not offences, "\n".join(offences)
