#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's Python base image, for machines that reach Debian's
# package mirror but no image registry (CI here). Debian bookworm's own python3 is 3.11, as in the
# official python:3.11-slim-bookworm image; the machine's CA bundle goes in so that pip inside a
# build reaches the package index. Idempotent: an image already present is kept.
#   .ci/base-image.sh [TAG]      (default: python:3.11-slim-bookworm)
set -euo pipefail
tag=${1:-python:3.11-slim-bookworm}
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"
  exit 0
fi
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
root=$(mktemp -d /tmp/base-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base image $tag: debootstrap of bookworm into $root"
debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
  bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "base image $tag: built ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
