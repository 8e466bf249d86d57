"""Keeping secrets out of logs, error messages and tables: the process's one `Redactor`.

It knows the secret values of this process (client secrets, subscription keys and the database
password, registered by the runtime from the settings; bearer tokens, registered by the
transport as they are minted) and replaces them with `***` in any text, and in every string of a
nested value (dicts, lists). Patterns that look like credentials (`Bearer <token>`,
`client_secret=...`, `Ocp-Apim-Subscription-Key: ...`) are masked even when their value was never
registered. The log handler masks every line with it (`structlog_processor`, installed by
`syncer.logs`), and every text the sync stores goes through it: `sync_runs.error`,
`sync_failures.reason` and `.payload`. A detail body about to be stored as `sales_orders.raw` is
only checked (`exposes`, a substring test on its bytes for what the request carried): one that
holds it is not loaded. docs/decisions/0011-one-redactor.md
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; no real secret is this short
KEPT_TOKENS = 64  # tokens live an hour; the last 64 cover days of refreshes
# A body can only echo what its request carried: a subscription key (registered `sent`) and the
# token in use, and the one before it for requests in flight across a refresh. Each value looked
# for costs a pass over the body, so no more.
CHECKED_TOKENS = 2
MIN_EXPOSED_LENGTH = 12  # a shorter value could be any word of an order's text

_NAMES = r"client_secret|subscription[-_]key|access_token|Ocp-Apim-Subscription-Key"
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(rf"(?i)((?:{_NAMES})[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+"),
)


class Redactor:
    """The secret values to hide; `redactor(text)` returns the text with each one masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._sent: set[str] = set()
        self._tokens: deque[str] = deque(maxlen=KEPT_TOKENS)
        self._ordered: tuple[str, ...] = ()
        self._exposing: tuple[bytes, ...] = ()
        for s in secrets:
            self.add(s)

    def add(self, secret: str, *, sent: bool = False) -> None:
        """Register a long-lived secret (client secret, subscription key, database password);
        `sent`: one every API request carries (a subscription key), which `exposes` looks for."""
        if len(secret) < MIN_SECRET_LENGTH:
            return
        if secret not in self._secrets or (sent and secret not in self._sent):
            self._secrets.add(secret)
            if sent:
                self._sent.add(secret)
            self._reorder()

    def add_token(self, token: str) -> None:
        """Register a bearer token; only the most recent KEPT_TOKENS are remembered."""
        if len(token) >= MIN_SECRET_LENGTH and token not in self._tokens:
            self._tokens.append(token)
            self._reorder()

    def _reorder(self) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._ordered = tuple(sorted({*self._secrets, *self._tokens}, key=len, reverse=True))
        recent = list(self._tokens)[-CHECKED_TOKENS:]
        self._exposing = tuple(
            s.encode() for s in {*self._sent, *recent} if len(s) >= MIN_EXPOSED_LENGTH
        )

    def __call__(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{MASK}", text)
        return text

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self(text)

    def clean(self, value: Any) -> Any:
        """`value` with every string in it masked: mappings and sequences are walked, numbers,
        booleans and None kept, anything else masked as its text."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        if isinstance(value, Mapping):
            return {k: self.clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.clean(v) for v in value]
        return self(str(value))

    def exposes(self, body: bytes) -> bool:
        """Whether `body` holds what our API requests carry: a subscription key registered
        `sent` or a recent token (the API echoing a request's headers)."""
        return any(secret in body for secret in self._exposing)

    def __contains__(self, value: str) -> bool:
        return value in self._secrets or value in self._tokens


def structlog_processor(redactor: Redactor) -> Any:
    """A structlog processor masking secrets in every value of the event dict, nested ones and
    a rendered traceback included."""

    def process(
        _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        return {key: redactor.clean(value) for key, value in event.items()}

    return process
