"""The image, checked without a Docker engine (hadolint runs in .ci/run); the compose stack is
checked by tests/deploy/test_compose.py."""

from __future__ import annotations

import re

from tests.container import DOCKERFILE, ROOT, dockerfile_stages

# -- the image ---------------------------------------------------------------------------------


def test_the_image_is_multi_stage_and_ships_only_the_virtualenv() -> None:
    builder, final = dockerfile_stages()[0], dockerfile_stages()[-1]
    assert len(dockerfile_stages()) == 2
    assert builder.base == final.base == "${PYTHON_IMAGE}"
    assert final.all("COPY") == [f"--from={builder.name} /opt/venv /opt/venv"]


def test_the_base_image_is_an_argument_pinned_by_digest() -> None:
    args = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert len(args) == 1
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", args[0])


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


def test_the_image_installs_the_locked_dependencies_then_the_wheel_without_resolving() -> None:
    runs = " ".join(dockerfile_stages()[0].all("RUN"))
    assert "--require-hashes --no-deps -r /tmp/requirements/build.lock" in runs
    assert "--require-hashes --no-deps -r /tmp/requirements/image.lock" in runs
    assert "wheel --no-build-isolation --no-deps --wheel-dir /tmp/dist ." in runs
    assert "install --no-deps /tmp/dist/*.whl" in runs
    assert " -e " not in runs and "--editable" not in runs
    assert "compileall" in runs
    assert "/opt/venv/bin" in dockerfile_stages()[-1].env()["PATH"]


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", ".env", "tests"):
        assert path in ignored
    for needed in ("requirements", "syncer", "alembic", "config", "pyproject.toml", "README.md"):
        assert needed not in ignored
