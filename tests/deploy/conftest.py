"""Fixtures for the deployment tests: the product as a user installs it (the wheel, the image).

- `scratch_database`: a fresh, empty database on the test server, dropped afterwards. Its URL
  names 127.0.0.1, so a container on the host network (`docker run --network host`) reaches
  it too.
- `docker`: the path of the Docker CLI, once the engine answers. Where no engine can run at
  all, every test using it is skipped with the reason (`.ci/run` says so too).
- `image`: the image built from this checkout once per session (`docker build --network
  host`), on the base named by SYNCER_TEST_PYTHON_IMAGE (default python:3.11-slim-bookworm,
  the tag `.ci/base-image.sh` builds where no registry is reachable).

Tests that need Docker are marked `docker`; the default `pytest` run leaves them out, and
`pytest -m docker -n 0 tests/deploy` runs them (in one process: one image build per session).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import fresh_database
from tests.deploy.support import ROOT


@pytest.fixture
def scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh database (postgresql://... on the test server), dropped after the test."""
    with fresh_database(admin_url, "syncer_deploy") as url:
        yield make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def docker() -> str:
    """The Docker CLI, with an engine answering; else a skip saying why."""
    cli = shutil.which("docker")
    if cli is None:
        pytest.skip("DOCKER UNAVAILABLE: no docker CLI (.ci/run installs docker.io)")
    info = subprocess.run(
        [cli, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True
    )
    if info.returncode != 0:
        pytest.skip(f"DOCKER UNAVAILABLE: the engine does not answer: {info.stderr.strip()}")
    return cli


@dataclass(frozen=True)
class BuiltImage:
    id: str
    seconds: float  # how long this session's build took (cold or warm cache)


@pytest.fixture(scope="session")
def image(docker: str, tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """The image of this checkout, built once per session and tagged scansource-syncer:test."""
    base = os.environ.get("SYNCER_TEST_PYTHON_IMAGE", "python:3.11-slim-bookworm")
    iid = tmp_path_factory.mktemp("image") / "iid"
    started = time.monotonic()
    built = subprocess.run(
        [docker, "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={base}",
         "--iidfile", str(iid), "--tag", "scansource-syncer:test", str(ROOT)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, f"docker build failed:\n{built.stdout[-4000:]}{built.stderr}"
    return BuiltImage(iid.read_text().strip(), time.monotonic() - started)
