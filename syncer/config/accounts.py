"""Accounts: the ScanSource customer numbers to sync, each with optional credentials of its own.

SYNCER_ACCOUNTS may be a plain comma list, JSON, or TOML tables; a customer number is checked
here so that a typo fails at start, not at the API.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, SecretStr, field_validator

# A ScanSource customer number: an account number of at most 10 characters, digits in every
# known case (docs/api.md §1). Anything else is a typo that would only fail at the API.
_CUSTOMER_NUMBER = re.compile(r"[0-9]{1,10}")


class Account(BaseModel):
    """One ScanSource customer number; credentials default to the global api_* ones."""

    customer_number: str
    client_id: str | None = None
    client_secret: SecretStr | None = None
    subscription_key: SecretStr | None = None

    @field_validator("customer_number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not _CUSTOMER_NUMBER.fullmatch(value):
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise ValueError(
                f"{shown!r} is not a ScanSource customer number (1 to 10 digits, nothing else)"
            )
        return value


def accounts_from_text(value: Any) -> Any:
    """The accounts setting as given, made into Account data: a comma list, a JSON list, or a
    list of numbers and tables (anything else is left to validation)."""
    # SYNCER_ACCOUNTS=1000012345,1000023456 is friendlier than JSON for the common case.
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("not valid JSON") from None
        else:
            return [{"customer_number": n.strip()} for n in value.split(",") if n.strip()]
    if isinstance(value, list):
        return [{"customer_number": v} if isinstance(v, str) else v for v in value]
    return value


def each_account_once(value: list[Account]) -> list[Account]:
    """The accounts, refused if a customer number is listed twice."""
    numbers = [a.customer_number for a in value]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        raise ValueError(f"listed more than once: {', '.join(twice)}")
    return value
