#!/usr/bin/env bash
# CI: a Docker engine for the image tests, and the image's base. Installs Debian's docker.io
# when the engine (dockerd) is missing, starts dockerd when no engine answers (waiting for it),
# then builds the local stand-in for the Python base image (.ci/base-image.sh).
# Exit 0: ready. Exit 3: no engine can run here (said on stdout). Anything else: a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

answers() { docker info >/dev/null 2>&1; }

# A machine may carry the docker CLI alone (no engine): the engine is what decides.
if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  echo "docker: installing docker.io (the engine) from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q docker.io >/dev/null \
    || echo "docker: apt-get install docker.io failed"
fi
if command -v docker >/dev/null 2>&1 && ! answers && command -v dockerd >/dev/null 2>&1; then
  echo "docker: starting dockerd (log: /tmp/dockerd.log)"
  nohup dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do answers && break; sleep 1; done
fi
if ! answers; then
  echo "!!! DOCKER UNAVAILABLE: no Docker engine can run here; $(tail -n 3 /tmp/dockerd.log 2>/dev/null | tr '\n' ' ')"
  exit 3
fi
echo "docker: engine $(docker info --format '{{.ServerVersion}}')"
.ci/base-image.sh python:3.11-slim-bookworm
