"""Role names for `syncer db grant-readonly`: plain names pass, anything else is refused early."""

from __future__ import annotations

import pytest

from syncer.errors import ConfigError
from syncer.warehouse.grants import check_role_name


@pytest.mark.parametrize("name", ["bi_reader", "Metabase", "power-bi", "_x", "a$1", "r" * 63])
def test_plain_role_names_are_accepted(name: str) -> None:
    assert check_role_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "r" * 64,  # PostgreSQL would silently truncate it
        'bi"; DROP TABLE scansource.sales_orders; --',
        "bi reader",
        "bi;reader",
        "1reader",
        "bi'reader",
        "bi\x00reader",
        "lecteur_bi_é",
    ],
)
def test_names_that_would_need_explaining_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="not accepted"):
        check_role_name(name)


@pytest.mark.parametrize("name", ["public", "PUBLIC", "current_user", "session_user", "pg_monitor"])
def test_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        check_role_name(name)
