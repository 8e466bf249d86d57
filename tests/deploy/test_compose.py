"""The compose stack. Without an engine: the files as the real Compose v2 loader resolves them
(profiles, settings, hardening, secrets). Marked `docker`: the stack built and run for real,
against the simulator, then removed without a trace."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from syncer.config.settings import PRODUCTION_BASE_URL, PRODUCTION_TOKEN_URL, Settings
from syncer.config.simulator import SIMULATOR_RATE
from syncer.sim import SimConfig
from tests.container import dockerfile_stages
from tests.deploy.compose_support import (
    CI_FILE,
    COMPOSE_FILE,
    ROOT,
    SECRETS_FILE,
    Project,
    env_file_values,
    inspect,
    removed_after,
    require_docker,
    wait_for,
    write_env_file,
    write_secrets,
)
from tests.deploy.support import free_port, http_status

SYNCER_IMAGE_SERVICES = ("simulator", "migrate", "syncer")
DEMO = SimConfig().subscriptions[0]


def service(config: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in config["services"], f"no {name} service"
    svc = config["services"][name]
    assert isinstance(svc, dict)
    return svc


def settings_of(svc: dict[str, Any]) -> Settings:
    """The service's SYNCER_* environment, validated exactly as `syncer run` validates it."""
    env = svc["environment"]
    return Settings(
        **{
            k.removeprefix("SYNCER_").lower(): v
            for k, v in env.items()
            if k.startswith("SYNCER_") and not k.endswith("_FILE") and v
        }
    )


def real_api_env_file(tmp_path: Path) -> Path:
    """config/example.env filled in as a user of the real API would."""
    values = {
        **env_file_values(ROOT / "config" / "example.env"),
        "SYNCER_API_CLIENT_ID": "real-id",
        "SYNCER_API_CLIENT_SECRET": "real-secret",
        "SYNCER_API_SUBSCRIPTION_KEY": "real-key",
        "SYNCER_ACCOUNTS": "1000099999",
    }
    return write_env_file(tmp_path / "real.env", values)


# -- the files, through the real loader ----------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [(COMPOSE_FILE,), (COMPOSE_FILE, SECRETS_FILE), (COMPOSE_FILE, CI_FILE)],
    ids=["compose", "with secrets", "ci"],
)
@pytest.mark.parametrize("profiles", [(), ("demo",)], ids=["no profile", "demo"])
def test_the_compose_files_load(
    files: tuple[Path, ...], profiles: tuple[str, ...], tmp_path: Path
) -> None:
    project = Project(files, profiles, {"SYNCER_SECRETS_DIR": str(tmp_path)})
    project.run("config", "--quiet")  # the loader's own validation: exit 0 or the reason


def test_the_simulator_starts_only_with_the_demo_profile() -> None:
    assert set(Project().config()["services"]) == {"postgres", "migrate", "syncer"}
    demo = Project(profiles=("demo",)).config()
    assert set(demo["services"]) == {"postgres", "migrate", "syncer", "simulator"}
    # With the profile the syncer waits for a healthy simulator; without it, not at all.
    assert service(demo, "syncer")["depends_on"]["simulator"] == {
        "condition": "service_healthy",
        "required": False,
    }


def test_a_real_api_env_file_without_the_profile_leaves_the_simulator_out(
    tmp_path: Path,
) -> None:
    config = Project(env_file=str(real_api_env_file(tmp_path))).config()
    assert "simulator" not in config["services"]
    settings = settings_of(service(config, "syncer"))
    assert settings.api_base_url == PRODUCTION_BASE_URL
    assert settings.api_token_url == PRODUCTION_TOKEN_URL
    assert settings.api_client_id == "real-id"
    assert settings.api_client_secret == SecretStr("real-secret")
    assert [a.customer_number for a in settings.accounts] == ["1000099999"]


def test_by_default_the_syncer_talks_to_the_simulator_with_its_demo_credentials() -> None:
    config = Project(profiles=("demo",)).config()
    settings = settings_of(service(config, "syncer"))
    command = service(config, "simulator")["command"]
    assert command[:2] == ["syncer", "sim"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert settings.api_base_url == f"http://simulator:{port}/scsc/salesorder/v1"
    assert settings.api_token_url == f"http://simulator:{port}/sim/oauth2/v2.0/token"
    assert settings.api_client_id == DEMO.client_id
    assert settings.api_client_secret == SecretStr(DEMO.client_secret)
    assert settings.api_subscription_key == SecretStr(DEMO.subscription_key)
    assert tuple(a.customer_number for a in settings.accounts) == DEMO.customer_numbers
    # The quota compose passes by default is the syncer's own default.
    default_rate = Settings.model_fields["api_rate_limit_per_second"].default
    assert settings.api_rate_limit_per_second == default_rate


def test_migrate_runs_once_on_a_healthy_postgres_and_the_syncer_after_it() -> None:
    config = Project().config()
    postgres = service(config, "postgres")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    migrate = service(config, "migrate")
    assert migrate["command"] == ["syncer", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    syncer = service(config, "syncer")
    assert syncer.get("command") is None  # the image's `syncer run`
    assert syncer["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert syncer["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("migrate", "syncer"):
        env = service(config, name)["environment"]
        pg = postgres["environment"]
        assert env["SYNCER_DATABASE_URL"] == (
            f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
            f"@postgres:5432/{pg['POSTGRES_DB']}"
        )


def test_every_service_stops_by_itself_when_asked() -> None:
    config = Project(profiles=("demo",)).config()
    syncer = service(config, "syncer")
    grace = float(syncer["environment"]["SYNCER_SHUTDOWN_GRACE_SECONDS"])
    stop = syncer["stop_grace_period"]
    assert stop.endswith("s") and float(stop[:-1]) > grace
    # `syncer sim` has no signal handler: as PID 1 it would ignore SIGTERM until killed.
    assert service(config, "simulator")["init"] is True


def test_every_variable_passed_to_the_syncer_is_a_setting() -> None:
    config = Project(profiles=("demo",)).config()
    for name in ("migrate", "syncer"):
        for key in service(config, name)["environment"]:
            setting = key.removeprefix("SYNCER_").lower().removesuffix("_file")
            assert key.startswith("SYNCER_") and setting in Settings.model_fields, key


def test_every_service_is_hardened_and_limited() -> None:
    config = Project(profiles=("demo",)).config()
    for name, svc in config["services"].items():
        assert svc["cap_drop"] == ["ALL"] and "cap_add" not in svc, name
        assert svc["security_opt"] == ["no-new-privileges:true"], name
        assert svc["read_only"] is True, name
        assert int(svc["deploy"]["resources"]["limits"]["memory"]) > 0, name
    for name in SYNCER_IMAGE_SERVICES:
        svc = service(config, name)
        assert svc["tmpfs"] == ["/tmp"] and float(svc["deploy"]["resources"]["limits"]["cpus"])
        assert "user" not in svc  # the image's own non-root user
    postgres = service(config, "postgres")
    assert postgres["user"] == "postgres"  # no capability needed to step down from root
    assert "/var/run/postgresql" in postgres["tmpfs"]


def test_the_secrets_file_gives_every_secret_through_a_mounted_file(tmp_path: Path) -> None:
    config = Project((COMPOSE_FILE, SECRETS_FILE), (), {"SYNCER_SECRETS_DIR": str(tmp_path)})
    resolved = config.config()
    declared = resolved["secrets"]
    assert {s["file"] for s in declared.values()} == {str(tmp_path / n) for n in declared}
    wanted = {
        "postgres": {"POSTGRES_PASSWORD_FILE"},
        "migrate": {"SYNCER_DATABASE_URL_FILE"},
        "syncer": {"SYNCER_DATABASE_URL_FILE", "SYNCER_API_CLIENT_SECRET_FILE",
                   "SYNCER_API_SUBSCRIPTION_KEY_FILE"},
    }  # fmt: skip
    for name, variables in wanted.items():
        svc = service(resolved, name)
        mounted = {s["target"] for s in svc["secrets"]}
        for variable in variables:
            assert svc["environment"][variable] in mounted, (name, variable)
    # The official image refuses a password given both ways: the plain one is gone.
    assert "POSTGRES_PASSWORD" not in service(resolved, "postgres")["environment"]


def test_the_example_env_names_only_real_settings() -> None:
    text = (ROOT / "config" / "example.env").read_text()
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in text.splitlines()
        if line.lstrip("# ").startswith("SYNCER_") and "=" in line
    }
    assert {"SYNCER_API_CLIENT_ID", "SYNCER_API_CLIENT_SECRET", "SYNCER_API_SUBSCRIPTION_KEY",
            "SYNCER_ACCOUNTS", "SYNCER_API_CLIENT_SECRET_FILE",
            "SYNCER_DATABASE_URL_FILE"} <= names  # fmt: skip
    for name in names:
        assert name.removeprefix("SYNCER_").lower().removesuffix("_file") in Settings.model_fields


def test_secret_files_stay_out_of_git_and_of_the_image_build() -> None:
    for ignore in (".gitignore", ".dockerignore"):
        assert {"secrets", "secrets/"} & set((ROOT / ignore).read_text().split()), ignore


# -- the stack, for real ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images() -> None:
    """The stack's images, built on the local Debian base of .ci/base-image.sh under the CI
    override's tags: the Postgres stand-in and the syncer's. Kept, as the base is, so that the
    next run finds their layers built."""
    require_docker()
    # The classic builder: BuildKit would fetch the Dockerfile's `# syntax=` frontend from a
    # registry.
    project = Project((COMPOSE_FILE, CI_FILE), ("demo",), {"DOCKER_BUILDKIT": "0"})
    started = time.monotonic()
    project.run("build", timeout=1800)
    print(f"compose build: {time.monotonic() - started:.1f} s")


async def warehouse_orders(port: int, password: str) -> dict[str, set[str]]:
    con = await asyncpg.connect(
        host="127.0.0.1", port=port, user="syncer", password=password, database="warehouse"
    )
    try:
        rows = await con.fetch(
            "SELECT customer_number, sales_order_number FROM scansource.sales_orders"
        )
    finally:
        await con.close()
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row["customer_number"], set()).add(row["sales_order_number"])
    return out


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, str]:
    password = f"wh-{os.getpid()}-{time.time_ns()}"
    values = {
        "warehouse_password": password,
        "database_url": f"postgresql://syncer:{password}@postgres:5432/warehouse",
        "scansource_client_secret": DEMO.client_secret,
        "scansource_subscription_key": DEMO.subscription_key,
    }
    write_secrets(tmp_path / "secrets", values)
    return {**values, "dir": str(tmp_path / "secrets")}


@pytest.mark.docker
@pytest.mark.usefixtures("images")
def test_the_demo_stack_with_secrets_runs_loads_the_simulator_and_leaves_nothing_behind(
    secrets: dict[str, str],
) -> None:
    db_port, health_port = free_port(), free_port()
    variables = {
        "SYNCER_SECRETS_DIR": secrets["dir"],
        "WAREHOUSE_PORT": str(db_port),
        "SYNCER_HEALTH_PUBLISHED_PORT": str(health_port),
        # The simulator enforces no quota: at ScanSource's 20/s the load alone would take 150 s.
        "SYNCER_API_RATE_LIMIT_PER_SECOND": str(SIMULATOR_RATE),
        # Decoys: the secret files must win over these.
        "SYNCER_API_CLIENT_SECRET": "not-the-secret",
        "SYNCER_API_SUBSCRIPTION_KEY": "not-the-key",
        "SYNCER_DATABASE_URL": "postgresql://syncer:not-the-password@postgres:5432/warehouse",
    }
    project = Project(
        (COMPOSE_FILE, SECRETS_FILE, CI_FILE),
        ("demo",),
        variables,
        name=f"syncer-compose-ci-{os.getpid()}",
    )
    simulator = service(project.config(), "simulator")["command"]
    orders = int(simulator[simulator.index("--orders") + 1])
    started = time.monotonic()
    with removed_after(project):
        project.run("up", "--detach", "--no-build")
        ids = {s: c["ID"] for s, c in project.containers().items()}

        def syncer_healthy() -> bool:
            state = inspect(ids["syncer"])["State"]
            assert state["Status"] == "running", project.run("logs", "syncer")
            return bool(state.get("Health", {}).get("Status") == "healthy")

        def ready() -> bool:
            return http_status(f"http://127.0.0.1:{health_port}/readyz") == 200

        # Ready means every account synced: with the decoys, only the secret files could do it.
        wait_for("syncer healthy", syncer_healthy, within=240)
        migrate = inspect(ids["migrate"])["State"]
        assert migrate["Status"] == "exited" and migrate["ExitCode"] == 0
        wait_for("/readyz 200", ready, within=240)

        # The warehouse holds exactly the simulator's orders, account by account.
        loaded = asyncio.run(warehouse_orders(db_port, secrets["warehouse_password"]))
        for account in DEMO.customer_numbers:
            summary = ["syncer", "api", "summary", "--customer", account, "--all"]
            out = project.run("exec", "-T", "syncer", *summary, "--page-size", "1000")
            listed = {row["OrderNumber"] for row in json.loads(out)}
            assert len(listed) == orders and loaded[account] == listed, account

        # Hardened as written, and no secret in any container's configuration.
        secret_values = [v for k, v in secrets.items() if k != "dir"]
        for name, cid in ids.items():
            info = inspect(cid)
            host = info["HostConfig"]
            assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], name
            assert "no-new-privileges:true" in host["SecurityOpt"], name
            assert host["ReadonlyRootfs"] is True and host["Memory"] > 0, name
            shown = json.dumps(info["Config"])
            assert not [v for v in secret_values if v in shown], name
        assert inspect(ids["syncer"])["Config"]["User"] == dockerfile_stages()[-1].last("USER")

        # Every service stops by itself when asked, none is killed (137): the syncer and
        # Postgres with exit 0, the simulator by its SIGTERM (143).
        project.run("stop")
        codes = {name: inspect(cid)["State"]["ExitCode"] for name, cid in ids.items()}
        assert codes == {"postgres": 0, "migrate": 0, "syncer": 0, "simulator": 143}, codes
        print(f"compose up to loaded and stopped: {time.monotonic() - started:.1f} s")
    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}


@pytest.mark.docker
@pytest.mark.usefixtures("images")
def test_a_real_api_env_without_the_profile_creates_no_simulator(tmp_path: Path) -> None:
    env_file = real_api_env_file(tmp_path)
    ports = {"WAREHOUSE_PORT": str(free_port()), "SYNCER_HEALTH_PUBLISHED_PORT": str(free_port())}
    project = Project(
        (COMPOSE_FILE, CI_FILE),
        (),
        ports,
        env_file=str(env_file),
        name=f"syncer-compose-real-{os.getpid()}",
    )
    with removed_after(project):
        project.run("create", "--no-build")
        assert set(project.containers()) == {"postgres", "migrate", "syncer"}
    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}
