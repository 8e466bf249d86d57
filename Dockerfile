# syntax=docker/dockerfile:1
# The scansource-syncer image:  docker build -t scansource-syncer .
# Reproducible: the base image is pinned by digest (another with --build-arg PYTHON_IMAGE=...),
# every Python package comes from a lock file with its hashes (requirements/*.lock), and the
# project goes in as a wheel. The builder makes a virtualenv holding only what the service runs;
# the final stage copies that virtualenv and runs `syncer run` as a non-root user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Two virtualenvs: /opt/build holds pip and the wheel's build backend; /opt/venv, the one the
# image ships, gets no pip at all (pip --python installs into it from outside).
COPY requirements/build.lock requirements/image.lock /tmp/requirements/
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --no-deps -r /tmp/requirements/build.lock \
 && python -m venv --without-pip /opt/venv \
 && /opt/build/bin/pip --python /opt/venv/bin/python install \
      --require-hashes --no-deps -r /tmp/requirements/image.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncer ./syncer
COPY alembic ./alembic
COPY config ./config
# The wheel carries the migrations and the default settings (package data); installed, not
# editable. Byte-compiled with hashes instead of timestamps: the same sources give the same
# files, and the read-only code is never re-checked at start.
RUN /opt/build/bin/pip wheel --no-build-isolation --no-deps --wheel-dir /tmp/dist . \
 && /opt/build/bin/pip --python /opt/venv/bin/python install --no-deps /tmp/dist/*.whl \
 && /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="scansource-syncer" \
      org.opencontainers.image.description="Keeps a PostgreSQL warehouse in step with the ScanSource Sales Order API"
# A fixed numeric uid, so platforms that check runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 syncer \
 && useradd --system --uid 10001 --gid syncer --create-home --home-dir /home/syncer \
      --shell /usr/sbin/nologin syncer
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SYNCER_HEALTH_HOST=0.0.0.0 \
    SYNCER_HEALTH_PORT=8000
# The code is root-owned and read-only to the service; relative paths land in the user's home.
WORKDIR /home/syncer
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["syncer", "health"]
STOPSIGNAL SIGTERM
CMD ["syncer", "run"]
