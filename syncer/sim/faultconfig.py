"""What can go wrong, and how often: the simulator's fault settings and their text form.

All faults are off by default. `FaultConfig.parse("rate_limit=50,error_rate=0.02")` reads the
form `syncer sim --fault` takes; `chaos` names a preset with a bit of everything.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

QUIRKS = (
    "null_arrays",  # an empty array arrives as null
    "missing_arrays",  # an empty array is left out
    "float_ints",  # 10 arrives as 10.0
    "invoice_string",  # InvoiceNumbers with one number arrives as that string
    "invoice_misspelt",  # InvoiceNumbers arrives as InvoiceNmbers
    "empty_dates",  # a date that is null arrives as ""
    "ascii_escapes",  # non-ASCII text arrives as \uXXXX escapes
)
RETRY_AFTER_FORMS = ("seconds", "date", "none")

# Payload-level faults: a 200 whose body is broken (or only sent oddly), in the order they are
# tried.
BODY_FAULTS = (
    "reset", "slow", "truncate", "malformed", "html", "chunked", "echo_detail", "echo_broken",
)  # fmt: skip


@dataclass(frozen=True)
class FaultConfig:
    # Rate limit per subscription key, as APIM's rate-limit-by-key: 429 + Retry-After.
    rate_limit: float = 0.0  # requests per second; 0 = no limit
    rate_limit_burst: int = 0  # requests allowed at once; 0 = one second's worth
    retry_after: str = "seconds"  # the Retry-After form: seconds | date | none (header left out)
    retry_after_seconds: float = (
        0.0  # > 0: always this (tests use fractions, or days, or 1e308); 0: computed, APIM-style
    )
    # Per request, each with this probability (the first that hits wins):
    error_rate: float = 0.0  # 500/502/503/504
    hang_rate: float = 0.0  # no answer for hang_seconds (the client should time out)
    hang_seconds: float = 30.0
    reset_rate: float = 0.0  # the connection drops halfway through the body
    slow_rate: float = 0.0  # the body trickles in over slow_seconds
    slow_seconds: float = 2.0
    truncate_rate: float = 0.0  # 200 with the JSON cut short
    malformed_rate: float = 0.0  # 200 with JSON that does not parse
    html_rate: float = 0.0  # 200 with a gateway's HTML page (wrong content type)
    chunked_rate: float = 0.0  # the body comes chunked, with no Content-Length (nothing broken)
    token_expiry_rate: float = 0.0  # a request finds its (already used) bearer token revoked: 401
    # A gateway echoing the request's headers (subscription key, bearer token) back in a body:
    echo_error_rate: float = 0.0  # a 400 whose message and body hold them
    echo_detail_rate: float = 0.0  # a 200 detail that still parses, with them in an extra field
    echo_broken_rate: float = 0.0  # a 200 detail with them in place of its lines: it cannot parse
    # The token answer's expires_in: a number as written (0, -5, 1e12, 1e400), `none` (left out)
    # or other text (sent as a JSON string); empty: the token's real lifetime.
    token_expires_in: str = ""
    # Tokens are refused (401) from the start, as tokens that expire at once would be; otherwise
    # they live the simulator's token_ttl_seconds, whatever expires_in says.
    token_dies_at_once: bool = False
    # Payload quirks of docs/api.md §10, per order (the same order always gets the same ones).
    quirk_rate: float = 0.0  # share of orders showing each quirk in `quirks`
    quirks: frozenset[str] = field(default_factory=lambda: frozenset(QUIRKS))
    # Data, not representation: this share of orders has a long unicode memo, in truth() too,
    # of about long_text_chars characters (past the syncer's 10,000 to test its truncation).
    long_text_rate: float = 0.0
    long_text_chars: int = 4000
    # Paging gone wrong, on list answers (they ignore `only`): page 1 whatever page is asked
    # for (an API ignoring `page`); every page served twice (page n+1 answers as page n did);
    # the matches repeated without end, so that every page is full and the list never ends.
    list_ignores_page: bool = False
    list_repeats_pages: bool = False
    list_endless: bool = False
    # Which operations the per-request faults hit ("list", "detail", ..., "token" for the token
    # endpoint); empty: all of them. The rate limit and quirks are not affected.
    only: frozenset[str] = frozenset()
    seed: int | None = None  # None: the simulator's data seed

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be between 0 and 1, not {value}")
        if self.rate_limit < 0 or self.rate_limit_burst < 0 or self.retry_after_seconds < 0:
            raise ValueError("rate_limit, rate_limit_burst and retry_after_seconds must be >= 0")
        if self.hang_seconds < 0 or self.slow_seconds < 0:
            raise ValueError("hang_seconds and slow_seconds must be >= 0")
        if self.long_text_chars < 1:
            raise ValueError("long_text_chars must be at least 1")
        if self.retry_after not in RETRY_AFTER_FORMS:
            raise ValueError(f"retry_after must be one of {', '.join(RETRY_AFTER_FORMS)}")
        unknown = set(self.quirks) - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}; known: {', '.join(QUIRKS)}")

    @functools.cached_property  # asked on every request; the config is frozen
    def active(self) -> bool:
        """Whether any fault can happen (a quiet simulator skips the fault machinery)."""
        return self != FaultConfig(
            seed=self.seed, quirks=self.quirks, only=self.only, long_text_chars=self.long_text_chars
        )

    @property
    def burst(self) -> int:
        return self.rate_limit_burst or max(1, round(self.rate_limit))

    @classmethod
    def parse(cls, spec: str | list[str], base: FaultConfig | None = None) -> FaultConfig:
        """`name=value` pairs separated by commas (or given as a list), over `base`.

        Names are the field names (`-` may stand for `_`); `quirks` takes names joined by `+`
        (or `all`), `only` operation names joined by `+`; a bare `chaos` applies the CHAOS
        preset.
        """
        items = [spec] if isinstance(spec, str) else spec
        pairs = [p.strip() for item in items for p in item.split(",") if p.strip()]
        config = base or cls()
        changes: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for pair in pairs:
            if pair == "chaos":
                config = dataclasses.replace(config, **CHAOS)
                continue
            name, sep, text = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in fields:
                known = ", ".join(["chaos", *fields])
                raise ValueError(
                    f"bad fault {pair!r}: expected name=value with a name among {known}"
                )
            changes[name] = _value(name, text.strip(), getattr(config, name))
        return dataclasses.replace(config, **changes)


def _value(name: str, text: str, current: Any) -> Any:
    if name == "quirks":
        chosen = QUIRKS if text == "all" else tuple(q for q in text.split("+") if q)
        return frozenset(chosen)
    if name == "only":
        return frozenset(op.strip().lower() for op in text.split("+") if op.strip())
    if isinstance(current, str):
        return text
    if isinstance(current, bool):
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"fault {name}: not true or false: {text!r}")
        return text.lower() in ("true", "1", "yes")
    try:
        return int(text) if isinstance(current, int) or name == "seed" else float(text)
    except ValueError:
        raise ValueError(f"fault {name}: not a number: {text!r}") from None


# Enough of everything that a sync of a few hundred orders meets each fault several times.
CHAOS: dict[str, Any] = {
    "error_rate": 0.03,
    "hang_rate": 0.005,
    "reset_rate": 0.01,
    "slow_rate": 0.01,
    "truncate_rate": 0.01,
    "malformed_rate": 0.01,
    "html_rate": 0.01,
    "token_expiry_rate": 0.01,
    "quirk_rate": 0.3,
    "long_text_rate": 0.05,
}
