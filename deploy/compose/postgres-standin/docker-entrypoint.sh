#!/usr/bin/env bash
# The stand-in Postgres image's entrypoint: the environment of the official postgres image.
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (required on first start), POSTGRES_USER
#   (default postgres), POSTGRES_DB (default: the user), PGDATA, PGPORT (default 5432).
# On the first start (no PG_VERSION in PGDATA) it runs initdb, allows password logins from any
# address, and creates the database; then it runs `postgres` listening on every address.
# Started as root it fixes the data directory's owner and steps down to the postgres user;
# started as the postgres user (compose's `user: postgres`) it needs no capability at all.
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}" "${PGPORT:=5432}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
fi
export PGDATA PGPORT

if [ "${1:-postgres}" != postgres ]; then
  exec "$@"  # e.g. a shell, for looking around
fi
shift || true

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

chmod 0700 "$PGDATA" 2>/dev/null || true
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD must be set to initialise the database" >&2
    exit 1
  fi
  echo "initialising the database in $PGDATA"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # Sockets only while the database is created: nobody connects before it is ready.
  pg_ctl --wait --silent -o "-c listen_addresses='' -p $PGPORT" start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -q --username="$POSTGRES_USER" --dbname=postgres \
      --set=db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  pg_ctl --wait --silent -m fast stop
  echo "database $POSTGRES_DB ready"
fi
exec postgres -c listen_addresses='*' -p "$PGPORT" "$@"
