"""Logging: structlog for our own structured lines, with the stdlib's records routed through it.

JSON (one object per line) when stderr is not a terminal, readable lines when it is. Every line,
its fields and any traceback pass through the process's `Redactor` (`syncer.redact`) last, so a
known secret never gets out.
Tracebacks are rendered as plain text, never with local variables (they may hold secrets).
Only `syncer.cli.common` (the `syncer` command) calls `setup_logging`. Modules log through
`get_logger`: the message is a constant event, the values are keyword fields, and a run's
`account` and `run_id` (bound with `bind_run`) are added to every line it logs. Used as a library
without `setup_logging`, lines go to the stdlib's `logging` as event dicts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from syncer.redact import Redactor, structlog_processor

Format = Literal["auto", "json", "console"]


def _lead_with_essentials(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Time, level, logger and event first: JSON lines read left to right."""
    head = {
        k: event_dict.pop(k) for k in ("timestamp", "level", "logger", "event") if k in event_dict
    }
    return {**head, **event_dict}


def _shared() -> list[Processor]:
    """What every line gets, ours and the stdlib's: the run's context, logger, level, time."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]


def route_through_stdlib(shared: list[Processor] | None = None) -> None:
    """Send structlog's lines to the stdlib's `logging` (the default; `setup_logging` adds the
    handler that renders them)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *(shared if shared is not None else _shared()),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """The structured logger of module `name`."""
    return structlog.stdlib.get_logger(name)


@contextlib.contextmanager
def bind_run(account: str) -> Iterator[None]:
    """Within the block (and the tasks it starts), every line carries `account` and `run_id`
    (None until `bind_run_id`)."""
    with structlog.contextvars.bound_contextvars(account=account, run_id=None):
        yield


def bind_run_id(run_id: int | None) -> None:
    """Name the run of the enclosing `bind_run` block."""
    structlog.contextvars.bind_contextvars(run_id=run_id)


def setup_logging(
    *,
    level: str = "INFO",
    fmt: Format = "auto",
    stream: TextIO | None = None,
    redactor: Redactor | None = None,
    extra: Sequence[Processor | logging.Filter] = (),
) -> logging.Handler:
    """(Re)configure logging for the process and return the one handler it installed.

    `level` applies to our own loggers (`syncer.*`); libraries only log warnings and above.
    `redactor` masks every line last (a new one, knowing only credential patterns, if None).
    `extra` processors run on every line before redaction and rendering; `logging.Filter`s are
    attached to the handler.
    """
    stream = stream if stream is not None else sys.stderr
    console = fmt == "console" or (fmt == "auto" and _is_terminal(stream))
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(
            colors=_is_terminal(stream) and not os.environ.get("NO_COLOR"),  # no-color.org
            exception_formatter=structlog.dev.plain_traceback,
        )
        if console
        else structlog.processors.JSONRenderer()
    )
    shared = _shared()
    processors = [p for p in extra if not isinstance(p, logging.Filter)]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *processors,
            structlog_processor(redactor if redactor is not None else Redactor()),
            *([] if console else [_lead_with_essentials]),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("syncer")
    for f in extra:
        if isinstance(f, logging.Filter):
            handler.addFilter(f)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "syncer"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("syncer").setLevel(level.upper())

    route_through_stdlib(shared)
    return handler


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


if not structlog.is_configured():  # a library's lines belong to the stdlib's logging
    route_through_stdlib()
