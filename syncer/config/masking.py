"""The secrets settings hold, kept out of sight: masked when the settings are shown (`syncer
config show`), and listed for the log redactor (the API secrets, each account's own, and the
database URL's password).
"""

from __future__ import annotations

import re
from typing import Any

from syncer.config.settings import Settings
from syncer.config.sources import SECRET_FIELDS


def mask(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked."""
    data = settings.model_dump(mode="json")
    for name in SECRET_FIELDS:
        data[name] = "**********" if getattr(settings, name).get_secret_value() else ""
    for account in data["accounts"]:
        for key in ("client_secret", "subscription_key"):
            if account.get(key):
                account[key] = "**********"
    if "@" in data["database_url"]:
        data["database_url"] = _mask_url_password(data["database_url"])
    return data


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, for redacting logs: API secrets and the database password."""
    values = [getattr(settings, name).get_secret_value() for name in SECRET_FIELDS]
    for account in settings.accounts:
        values += [
            s.get_secret_value() for s in (account.client_secret, account.subscription_key) if s
        ]
    if settings.database_url:
        from sqlalchemy.engine import make_url

        password = make_url(settings.database_url).password
        if password:
            values.append(str(password))
    return sorted({v for v in values if v}, key=len, reverse=True)
