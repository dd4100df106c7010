#!/usr/bin/env bash
# Make sure the named services answer on 127.0.0.1 (Debian): install them if they are
# missing and we are root, start them if they are stopped. Idempotent.
#   scripts/services.sh redis            what `make run` needs (the dev stack is SQLite)
#   scripts/services.sh redis postgres   what `make test` needs
# For postgres it also checks that the tests can log in (user postgres, no password) and
# creates their `test` database if it is missing ($HOOKGATE_TEST_POSTGRES_URL overrides).
set -euo pipefail

want_redis=0 want_postgres=0
for service in "${@:-redis postgres}"; do
    for name in $service; do
        case $name in
            redis) want_redis=1 ;;
            postgres) want_postgres=1 ;;
            *) echo "services: unknown service '$name' (redis, postgres)" >&2; exit 2 ;;
        esac
    done
done

need_apt=()
((want_redis)) && ! command -v redis-server >/dev/null && need_apt+=(redis-server)
((want_postgres)) && ! command -v pg_ctlcluster >/dev/null && need_apt+=(postgresql)
if ((${#need_apt[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "services: please install ${need_apt[*]} (apt-get install ${need_apt[*]})" >&2
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    if [[ " ${need_apt[*]} " == *" postgresql "* ]]; then
        # A cluster we just created: let the tests log in as postgres from 127.0.0.1
        # without a password, as they expect (never done to an existing cluster).
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        sed -i '1i host all postgres 127.0.0.1/32 trust' "/etc/postgresql/$version/main/pg_hba.conf"
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
    fi
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ((want_redis)) && ! redis_up; then
    echo "services: starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
if ((want_postgres)) && ! postgres_up; then
    echo "services: starting PostgreSQL on 127.0.0.1:5432"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

up=0
for _ in $(seq 1 50); do
    if { ((!want_redis)) || redis_up; } && { ((!want_postgres)) || postgres_up; }; then
        up=1
        break
    fi
    sleep 0.2
done
if ((!up)); then
    echo "services: Redis or PostgreSQL did not come up on 127.0.0.1" >&2
    exit 1
fi

if ((want_postgres)); then
    url=${HOOKGATE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
    admin_url="${url%/*}/postgres"
    database=${url##*/}
    if ! psql "$admin_url" -w -tAc "SELECT 1" >/dev/null 2>&1; then
        echo "services: cannot log in to PostgreSQL as ${admin_url%/*} without a password." >&2
        echo "  The tests need trust login for 127.0.0.1: in pg_hba.conf, a line" >&2
        echo "    host all postgres 127.0.0.1/32 trust" >&2
        echo "  (then reload PostgreSQL), or set HOOKGATE_TEST_POSTGRES_URL to a URL that logs in." >&2
        exit 1
    fi
    exists=$(psql "$admin_url" -w -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")
    if [[ $exists != 1 ]]; then
        echo "services: creating the PostgreSQL database '$database'"
        psql "$admin_url" -w -qc "CREATE DATABASE \"$database\""
    fi
fi
