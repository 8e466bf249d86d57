"""The image and the compose stack, checked without a Docker engine (hadolint runs in .ci/run).

The compose file must start Postgres, migrate it once, then run the syncer against the simulator
with settings that really validate and really match the simulator's demo credentials.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from pydantic import SecretStr

from syncer.config import Settings
from syncer.sim import SimConfig
from tests.container import ROOT, compose, dockerfile_stages, interpolate


@pytest.fixture(autouse=True)
def _no_syncer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("SYNCER_")]:
        monkeypatch.delenv(name)


def service(name: str) -> dict[str, object]:
    services = compose()["services"]
    assert name in services, f"no {name} service"
    svc = services[name]
    assert isinstance(svc, dict)
    return svc


def settings_of(env: dict[str, object], shell: dict[str, str] | None = None) -> Settings:
    values = {k: interpolate(str(v), shell) for k, v in env.items()}
    return Settings(
        **{
            k.removeprefix("SYNCER_").lower(): v
            for k, v in values.items()
            if k.startswith("SYNCER_") and not k.endswith("_FILE") and v != ""
        }
    )


# -- the image ---------------------------------------------------------------------------------


def test_the_image_is_multi_stage_and_slim() -> None:
    builder, final = dockerfile_stages()[0], dockerfile_stages()[-1]
    assert len(dockerfile_stages()) == 2
    assert builder.base == final.base == "python:3.11-slim"
    copied = final.all("COPY")
    assert all(c.startswith(f"--from={builder.name} ") for c in copied)
    assert any("/opt/venv" in c for c in copied)


def test_the_image_runs_syncer_run_as_a_non_root_user() -> None:
    final = dockerfile_stages()[-1]
    assert final.exec_form("CMD") == ["syncer", "run"]
    assert final.last("ENTRYPOINT") is None
    user = final.last("USER")
    assert user is not None and user.split(":")[0] not in ("root", "0")


def test_the_image_checks_its_own_health_on_healthz() -> None:
    final = dockerfile_stages()[-1]
    check = final.last("HEALTHCHECK")
    assert check is not None
    assert check.split("CMD", 1)[1].strip() == '["syncer", "health"]'
    env = final.env()
    # `syncer health` probes the configured port on loopback; the service must listen on it.
    assert env["SYNCER_HEALTH_HOST"] == "0.0.0.0" and env["SYNCER_HEALTH_PORT"] == "8000"
    assert final.all("EXPOSE") == ["8000"]


def test_the_image_keeps_the_layout_the_code_finds_migrations_and_defaults_in() -> None:
    # syncer/db.py: ROOT = <package>/..; migrations in ROOT/alembic. syncer/config.py: the
    # defaults in ROOT/config/default.toml. The builder installs the package in place in /app.
    builder = dockerfile_stages()[0]
    copies = [shlex.split(c) for c in builder.all("COPY")]
    assert builder.last("WORKDIR") == "/app"
    for src, dest in (("syncer", "./syncer"), ("alembic", "./alembic"), ("config", "./config")):
        assert [src, dest] in copies, f"{src} is not copied to /app/{src}"
    assert ["alembic.ini", "./"] in copies
    assert any("pip install --no-deps -e ." in run for run in builder.all("RUN"))
    final = dockerfile_stages()[-1]
    assert "--from=builder /app /app" in final.all("COPY")
    assert "/opt/venv/bin" in final.env()["PATH"]


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", ".env", "tests"):
        assert path in ignored
    for needed in ("syncer", "alembic", "config", "pyproject.toml", "README.md"):
        assert needed not in ignored


# -- the compose stack ---------------------------------------------------------------------------


def test_compose_has_postgres_migrate_syncer_and_the_simulator() -> None:
    assert set(compose()["services"]) == {"postgres", "migrate", "syncer", "simulator"}
    assert "warehouse" in compose()["volumes"]


def test_postgres_is_healthy_only_when_pg_isready_says_so() -> None:
    pg = service("postgres")
    assert str(pg["image"]).startswith("postgres:15")
    check = pg["healthcheck"]
    assert isinstance(check, dict)
    assert check["test"][0] == "CMD-SHELL" and "pg_isready" in check["test"][1]
    env = pg["environment"]
    assert isinstance(env, dict)
    assert f"-U {env['POSTGRES_USER']}" in check["test"][1]
    assert f"-d {env['POSTGRES_DB']}" in check["test"][1]


def test_migrate_is_a_one_shot_upgrade_after_postgres_is_healthy() -> None:
    migrate = service("migrate")
    assert migrate["command"] == ["syncer", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_syncer_waits_for_a_healthy_postgres_a_finished_migration_and_the_simulator() -> None:
    syncer = service("syncer")
    assert syncer["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
        "simulator": {"condition": "service_healthy"},
    }
    assert "command" not in syncer  # the image's `syncer run`
    assert "healthcheck" not in syncer  # the image's HEALTHCHECK on /healthz
    for name in ("syncer", "migrate", "simulator"):
        assert service(name)["image"] == syncer["image"] and service(name)["build"] == "."
    assert service("simulator")["healthcheck"]


def test_syncer_is_given_time_to_stop_by_itself() -> None:
    syncer = service("syncer")
    env = syncer["environment"]
    assert isinstance(env, dict)
    grace = float(env["SYNCER_SHUTDOWN_GRACE_SECONDS"])
    stop = str(syncer["stop_grace_period"])
    assert stop.endswith("s") and float(stop[:-1]) > grace


def test_syncer_and_migrate_use_the_compose_postgres_by_default() -> None:
    pg_env = service("postgres")["environment"]
    assert isinstance(pg_env, dict)
    for name in ("syncer", "migrate"):
        env = service(name)["environment"]
        assert isinstance(env, dict)
        url = interpolate(env["SYNCER_DATABASE_URL"])
        user, password, db = (interpolate(str(pg_env[k])) for k in
                              ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"))  # fmt: skip
        assert url == f"postgresql://{user}:{password}@postgres:5432/{db}"


def test_by_default_syncer_talks_to_the_simulator_with_its_demo_credentials() -> None:
    env = service("syncer")["environment"]
    assert isinstance(env, dict)
    settings = settings_of(env)  # validates exactly as `syncer run` would
    demo = SimConfig().subscriptions[0]
    sim_cmd = service("simulator")["command"]
    assert isinstance(sim_cmd, list)
    assert sim_cmd[:2] == ["syncer", "sim"] and "--host" in sim_cmd
    assert sim_cmd[sim_cmd.index("--host") + 1] == "0.0.0.0"
    port = sim_cmd[sim_cmd.index("--port") + 1]
    assert settings.api_base_url == f"http://simulator:{port}/scsc/salesorder/v1"
    assert settings.api_token_url.startswith(f"http://simulator:{port}/")
    assert settings.api_token_url.endswith("/oauth2/v2.0/token")
    assert settings.api_scope.endswith("/.default")
    assert settings.api_client_id == demo.client_id
    assert settings.api_client_secret == SecretStr(demo.client_secret)
    assert settings.api_subscription_key == SecretStr(demo.subscription_key)
    assert tuple(a.customer_number for a in settings.accounts) == demo.customer_numbers


def test_an_env_file_switches_syncer_to_the_real_api() -> None:
    example = parse_env_file(ROOT / "config" / "example.env")
    filled = {**example, "SYNCER_API_CLIENT_ID": "real-id", "SYNCER_API_CLIENT_SECRET": "real-s",
              "SYNCER_API_SUBSCRIPTION_KEY": "real-k", "SYNCER_ACCOUNTS": "1000099999"}  # fmt: skip
    env = service("syncer")["environment"]
    assert isinstance(env, dict)
    settings = settings_of(env, filled)
    assert settings.api_base_url == "https://api.scansource.com/scsc/salesorder/v1"
    assert settings.api_token_url.startswith("https://login.microsoftonline.com/")
    assert settings.api_client_id == "real-id"
    assert settings.api_client_secret == SecretStr("real-s")
    assert [a.customer_number for a in settings.accounts] == ["1000099999"]


def test_every_variable_compose_passes_is_a_setting_the_syncer_knows() -> None:
    fields = set(Settings.model_fields)
    for name in ("syncer", "migrate"):
        env = service(name)["environment"]
        assert isinstance(env, dict)
        for key in env:
            setting = key.removeprefix("SYNCER_").lower().removesuffix("_file")
            assert setting in fields, f"{name}: {key} is not a setting"


@pytest.mark.parametrize("path", ["config/example.env"])
def test_the_example_env_names_only_real_settings(path: str) -> None:
    fields = set(Settings.model_fields)
    text = (ROOT / path).read_text()
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in text.splitlines()
        if line.lstrip("# ").startswith("SYNCER_") and "=" in line
    }
    assert {"SYNCER_API_CLIENT_ID", "SYNCER_API_CLIENT_SECRET", "SYNCER_API_SUBSCRIPTION_KEY",
            "SYNCER_ACCOUNTS", "SYNCER_API_CLIENT_SECRET_FILE"} <= names  # fmt: skip
    for name in names:
        assert name.removeprefix("SYNCER_").lower().removesuffix("_file") in fields, name


def parse_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out
