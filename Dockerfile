# syntax=docker/dockerfile:1
# The scansource-syncer image:  docker build -t scansource-syncer .
# The builder makes a virtualenv holding the dependencies and the project; the final stage copies
# it with the files the service reads at run time, and runs `syncer run` as a non-root user.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# The dependencies alone first, in their own layer: changing the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY syncer ./syncer
COPY alembic ./alembic
COPY alembic.ini ./
COPY config ./config
# Installed in place (editable), so the package stays in /app beside alembic/ and config/:
# syncer.db finds the migrations at <package>/../alembic and syncer.config the defaults at
# <package>/../config/default.toml. The final stage keeps both paths unchanged.
RUN pip install --no-deps -e . \
 && python -m compileall -q /app/syncer /app/alembic

FROM python:3.11-slim
LABEL org.opencontainers.image.title="scansource-syncer" \
      org.opencontainers.image.description="Keeps a PostgreSQL warehouse in step with the ScanSource Sales Order API"
# A fixed numeric uid, so platforms that check runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 syncer \
 && useradd --system --uid 10001 --gid syncer --create-home --home-dir /home/syncer \
      --shell /usr/sbin/nologin syncer
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SYNCER_HEALTH_HOST=0.0.0.0 \
    SYNCER_HEALTH_PORT=8000
# The code in /app is root-owned and read-only to the service; relative paths (the embedded
# Postgres of `syncer demo`, for one) land in the user's home.
WORKDIR /home/syncer
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["syncer", "health"]
STOPSIGNAL SIGTERM
CMD ["syncer", "run"]
