"""The image as a platform runs it: built from this checkout, migrating a real database, serving
`syncer run` against the simulator, healthy by its own HEALTHCHECK, stopped cleanly by Docker.
Containers use the host's network and reach Postgres and each other on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.deploy.conftest import BuiltImage
from tests.deploy.support import free_port, http_status, standalone_sim, warehouse_counts

pytestmark = pytest.mark.docker

T = TypeVar("T")
SERVICE_GRACE = 10  # shutdown_grace_seconds given to the service
DOCKER_GRACE = 15  # `docker stop --time`: more than the service's, as compose sets it
# The demo's embedded Postgres, the development tools, and pip with the build backend.
ABSENT = ("pgserver", "pytest", "mypy", "ruff", "hypothesis", "pip", "setuptools")


def docker_run(docker: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([docker, *args], capture_output=True, text=True, timeout=300)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, why: Callable[[], str]) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s\n{why()}")


@contextlib.contextmanager
def container_name(docker: str, role: str) -> Iterator[str]:
    """A unique name for a container, removed (whatever its state) when the block ends."""
    name = f"syncer-test-{role}-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        docker_run(docker, "rm", "--force", name)


def test_the_image_runs_the_installed_wheel_without_demo_dev_or_build_tools(
    docker: str, image: BuiltImage
) -> None:
    probe = (
        "import importlib.util as u, syncer.warehouse.database as d; "
        "print(d.__file__); print(d.migrations_dir());"
        f"print([m for m in {ABSENT} if u.find_spec(m)])"
    )
    done = docker_run(docker, "run", "--rm", "--network", "none", image.id, "python", "-c", probe)
    assert done.returncode == 0, done.stderr
    module, migrations, present = done.stdout.splitlines()
    site = "/opt/venv/lib/python3.11/site-packages/syncer"
    assert (module, migrations) == (
        f"{site}/warehouse/database.py",
        f"{site}/migrations",
    )  # a wheel, installed
    assert present == "[]"


def test_the_image_migrates_syncs_reports_healthy_and_stops_cleanly(
    docker: str, image: BuiltImage, scratch_database: str, tmp_path: Path
) -> None:
    database = ["--env", f"SYNCER_DATABASE_URL={scratch_database}"]
    migrated = docker_run(docker, "run", "--rm", "--network", "host", *database,
                          image.id, "syncer", "db", "upgrade")  # fmt: skip
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    health_port = free_port()
    with (
        container_name(docker, "sim") as sim_name,
        standalone_sim(
            [docker, "run", "--rm", "--network", "host", "--name", sim_name, image.id, "syncer"],
            port=free_port(), orders=40, log=tmp_path / "sim.log",
        ) as sim,
        container_name(docker, "run") as name,
    ):  # fmt: skip
        settings = {**sim.settings(), "SYNCER_HEALTH_PORT": str(health_port),
                    "SYNCER_SHUTDOWN_GRACE_SECONDS": str(SERVICE_GRACE)}  # fmt: skip
        started = docker_run(
            docker, "run", "--detach", "--network", "host", "--name", name,
            "--health-interval", "1s", "--health-start-period", "1s", *database,
            *(arg for key, value in settings.items() for arg in ("--env", f"{key}={value}")),
            image.id,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr

        def logs() -> str:
            shown = docker_run(docker, "logs", "--tail", "60", name)
            return shown.stdout + shown.stderr

        expected = sim.truth_counts()
        assert expected["sales_orders"] == 40 * len(sim.customers)

        def ready() -> bool | None:
            return http_status(f"http://127.0.0.1:{health_port}/readyz") == 200 or None

        def loaded() -> bool | None:
            return warehouse_counts(scratch_database) == expected or None

        def counts() -> str:
            return f"{warehouse_counts(scratch_database)} != {expected}\n{logs()}"

        wait_for("/readyz answering 200", ready, 180, logs)
        wait_for("the simulator's orders in the warehouse", loaded, 120, counts)

        uid = docker_run(docker, "exec", name, "id", "-u")
        assert uid.returncode == 0 and uid.stdout.strip() not in ("", "0"), uid
        user = docker_run(docker, "image", "inspect", "--format", "{{.Config.User}}", image.id)
        assert user.stdout.strip().split(":")[0] not in ("", "0", "root")

        def health() -> str | None:
            state = docker_run(docker, "inspect", "--format", "{{.State.Health.Status}}", name)
            return "healthy" if state.stdout.strip() == "healthy" else None

        wait_for("HEALTHCHECK healthy", health, 60, logs)

        began = time.monotonic()
        stopped = docker_run(docker, "stop", "--time", str(DOCKER_GRACE), name)
        took = time.monotonic() - began
        assert stopped.returncode == 0, stopped.stderr
        state = docker_run(docker, "inspect", "--format",
                           "{{.State.ExitCode}} {{.State.OOMKilled}}", name)  # fmt: skip
        # Exit 0, not 137: the service ended by itself before Docker's grace ran out.
        assert state.stdout.split() == ["0", "false"], f"{state.stdout}\n{logs()}"
        print(f"image build {image.seconds:.1f} s; docker stop took {took:.1f} s")
