#!/bin/bash
# postgres-entrypoint.sh — entrypoint of the local postgres image
# (deploy/local/Dockerfile), doing what the official postgres image's does for
# the settings docker-compose.yml uses: on first start with an empty $PGDATA it
# runs initdb with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD
# (required), creates POSTGRES_DB (default: the user) through a temporary server
# on the Unix socket only, and allows password (scram-sha-256) logins over TCP.
# Then it runs the command (default: postgres, listening on every address) as
# the postgres account.
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD is not set: refusing to create a database without one" >&2
        exit 1
    fi
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q \
            -c "CREATE DATABASE \"${db//\"/\"\"}\" OWNER \"${user//\"/\"\"}\""
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "postgres-entrypoint: initialised $PGDATA (user $user, database $db)"
fi
exec "$@"
