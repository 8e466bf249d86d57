"""Fixtures for the deployment tests: the product as a user installs it.

- `scratch_database`: a fresh, empty database on the test server, dropped afterwards. Its URL
  names 127.0.0.1, so a container on the host network (`docker run --network host`) reaches
  it too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import fresh_database


@pytest.fixture
def scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh database (postgresql://... on the test server), dropped after the test."""
    with fresh_database(admin_url, "syncer_deploy") as url:
        yield make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
