"""Keeping secrets out of logs, error messages and tables.

A `Redactor` knows the secret values of this process (client secrets and subscription keys,
registered by the runtime from the settings; bearer tokens, registered by the transport as they
are minted) and replaces them with `***` in any text. `RedactingFilter` applies it to every log
record that reaches a handler, including its formatted traceback; `structlog_processor` does the
same for structlog event dicts. Patterns that look like credentials (`Bearer <token>`,
`client_secret=...`) are masked even when their value was never registered.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterable, MutableMapping
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; no real secret is this short
KEPT_TOKENS = 64  # tokens live an hour; the last 64 cover days of refreshes

_NAMES = r"client_secret|subscription[-_]key|access_token|Ocp-Apim-Subscription-Key"
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(rf"(?i)((?:{_NAMES})[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+"),
)


class Redactor:
    """The secret values to hide; `redactor(text)` returns the text with each one masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._tokens: deque[str] = deque(maxlen=KEPT_TOKENS)
        self._ordered: tuple[str, ...] = ()
        for s in secrets:
            self.add(s)

    def add(self, secret: str) -> None:
        """Register a long-lived secret (client secret, subscription key)."""
        if len(secret) >= MIN_SECRET_LENGTH and secret not in self._secrets:
            self._secrets.add(secret)
            self._reorder()

    def add_token(self, token: str) -> None:
        """Register a bearer token; only the most recent KEPT_TOKENS are remembered."""
        if len(token) >= MIN_SECRET_LENGTH and token not in self._tokens:
            self._tokens.append(token)
            self._reorder()

    def _reorder(self) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._ordered = tuple(sorted({*self._secrets, *self._tokens}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{MASK}", text)
        return text

    def __contains__(self, value: str) -> bool:
        return value in self._secrets or value in self._tokens


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments and traceback before any handler sees it.

    Attach it to handlers (not loggers): a logger's filters do not see records propagated from
    its children, a handler's do.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed %-format: keep what we can show
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
            # Formatters that render exc_info themselves (JSON ones do) would bypass the mask;
            # the standard Formatter prints exc_text without it.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


def install(redactor: Redactor, handlers: Iterable[logging.Handler] | None = None) -> None:
    """Attach a RedactingFilter to the given handlers (default: the root logger's)."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))


def structlog_processor(redactor: Redactor) -> Any:
    """A structlog processor masking secrets in every string value of the event dict."""

    def process(
        _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = redactor(value)
        return event

    return process
