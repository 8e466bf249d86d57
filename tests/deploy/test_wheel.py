"""The wheel as a user installs it: built from this checkout, installed (not editable) into a
fresh virtualenv, and run from a folder outside the repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest

from syncer.warehouse import database as db
from tests.deploy.support import (
    ROOT,
    clean_environment,
    free_port,
    standalone_sim,
    warehouse_counts,
)

pytestmark = pytest.mark.slow

# What a build reads: the package (with its links to alembic/ and config/) and its metadata.
SOURCES = ("pyproject.toml", "README.md", "syncer", "alembic", "config")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    cwd: Path  # outside the repository

    def syncer(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "syncer"), *args],
            cwd=self.cwd, env=clean_environment(**(env or {})),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: an in-tree build would leave build/ in the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"), str(source)])
    (wheel,) = (work / "dist").glob("scansource_syncer-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), *pip[1:], "install", "--quiet", str(wheel)])
    cwd = work / "elsewhere"
    cwd.mkdir()
    yield Installed(wheel, venv, cwd)


def run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_the_wheel_carries_the_migrations_and_defaults_and_no_embedded_postgres(
    installed: Installed,
) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(wheel.read(metadata).decode())
    migrations = {p.name for p in (ROOT / "alembic" / "versions").glob("*.py")}
    assert {f"syncer/migrations/versions/{m}" for m in migrations} <= names
    assert {"syncer/migrations/env.py", "syncer/migrations/script.py.mako"} <= names
    assert {"syncer/defaults/default.toml", "syncer/defaults/example.env"} <= names
    requires = meta.get_all("Requires-Dist") or []
    assert [r for r in requires if r.startswith("pgserver")] == ['pgserver>=0.1.4; extra == "demo"']
    assert "demo" in (meta.get_all("Provides-Extra") or [])
    not_there = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import pgserver"], capture_output=True
    )
    assert not_there.returncode != 0


def test_the_installed_wheel_migrates_and_syncs_the_simulators_orders(
    installed: Installed, scratch_database: str, tmp_path: Path
) -> None:
    database = {"SYNCER_DATABASE_URL": scratch_database}
    upgraded = installed.syncer("db", "upgrade", env=database)
    assert upgraded.returncode == 0, upgraded.stderr
    current = installed.syncer("db", "current", env=database)
    assert current.returncode == 0, current.stderr
    head = db.head_revision()  # the checkout's own migrations
    assert current.stdout.split() == ["database:", head, "head:", head]

    port = free_port()
    command = [str(installed.venv / "bin" / "syncer")]
    with standalone_sim(command, port=port, orders=40, log=tmp_path / "sim.log") as sim:
        env = {**database, **sim.settings()}
        shown = installed.syncer("config", "show", env=env)
        assert shown.returncode == 0, shown.stderr
        config = json.loads(shown.stdout)
        assert config["api_base_url"] == sim.base_url
        assert config["api_client_secret"] == "**********"  # masked, never printed
        assert [a["customer_number"] for a in config["accounts"]] == list(sim.customers)

        synced = installed.syncer("sync", "--once", env=env)
        assert synced.returncode == 0, synced.stderr
        expected = sim.truth_counts()

    assert expected["sales_orders"] == 40 * len(sim.customers)
    assert warehouse_counts(scratch_database) == expected


def test_an_installation_missing_its_migrations_or_defaults_says_so(
    installed: Installed, scratch_database: str, tmp_path: Path
) -> None:
    # A copy of the installed virtualenv with the shipped files gone, run with its own python.
    broken = tmp_path / "venv"
    shutil.copytree(installed.venv, broken, symlinks=True)
    (package,) = broken.glob("lib/python3*/site-packages/syncer")

    def syncer(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(broken / "bin" / "python"), "-m", "syncer", *args], cwd=installed.cwd,
            env=clean_environment(SYNCER_DATABASE_URL=scratch_database),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    shutil.rmtree(package / "migrations" / "versions", ignore_errors=True)
    current = syncer("db", "current")
    assert current.returncode == 1
    assert "this installation has no migrations" in current.stderr
    assert "head: None" not in current.stdout and "Traceback" not in current.stderr

    (package / "defaults" / "default.toml").unlink(missing_ok=True)
    shown = syncer("config", "show")
    assert shown.returncode == 2
    assert "default.toml: reinstall scansource-syncer" in shown.stderr


def test_demo_without_the_demo_extra_says_to_install_it(installed: Installed) -> None:
    done = installed.syncer("demo", "--orders", "5")

    assert done.returncode == 2
    assert "install the demo extra (pip install 'scansource-syncer[demo]')" in done.stderr
    assert "Traceback" not in done.stderr
