"""The image, checked without a Docker engine (hadolint runs in .ci/run); the compose stack is
checked by tests/deploy/test_compose.py."""

from __future__ import annotations

import shlex

from tests.container import ROOT, dockerfile_stages

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
