#!/usr/bin/env bash
# Make sure a PostgreSQL server runs on loopback with a role and database for citycard's tests.
#
#   scripts/ensure_postgres.sh            # prints the test URL on stdout when it is ready
#
# Idempotent: a running server is left alone; a stopped Debian cluster is started
# (pg_ctlcluster); a machine with the postgresql package but no cluster gets one
# (pg_createcluster). Needs root (or sudo) and Debian's postgresql package (the Makefile's
# APT_PACKAGES installs it). The role and database are only for tests; the password is not
# a secret (the server listens on loopback only).
set -euo pipefail

PG_PORT="${CITYCARD_PG_PORT:-5432}"
PG_ROLE="${CITYCARD_PG_ROLE:-citycard}"
PG_PASSWORD="${CITYCARD_PG_PASSWORD:-citycard-test}"
PG_DB="${CITYCARD_PG_DB:-citycard_test}"

say() { echo "ensure_postgres: $*" >&2; }
fail() { say "$*"; exit 1; }

if [ "$(id -u)" = 0 ]; then
	as_postgres() { runuser -u postgres -- "$@"; }
	as_root() { "$@"; }
else
	as_postgres() { sudo -u postgres -- "$@"; }
	as_root() { sudo -- "$@"; }
fi

command -v pg_lsclusters >/dev/null 2>&1 ||
	fail "PostgreSQL is not installed; run 'apt-get install postgresql' (make deps does it)."

ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; }
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

start_server() {
	if ! ready; then
		# The newest installed major version, e.g. 15 on Debian 12.
		version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
		[ -n "$version" ] || fail "No PostgreSQL server binaries under /usr/lib/postgresql; reinstall the postgresql package."
		if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
			say "creating cluster $version/main on port $PG_PORT"
			as_root pg_createcluster --port "$PG_PORT" "$version" main -- --auth-local=peer --auth-host=scram-sha-256
		fi
		say "starting cluster $version/main"
		as_root pg_ctlcluster "$version" main start ||
			fail "PostgreSQL $version/main did not start; see /var/log/postgresql/postgresql-$version-main.log."
		for _ in $(seq 1 50); do
			ready && break
			sleep 0.2
		done
		ready || fail "PostgreSQL did not accept connections on 127.0.0.1:$PG_PORT within 10 seconds."
	fi
}

# Only the URL goes to stdout, which the Makefile captures: what the tools say
# (pg_ctlcluster prints "Removed stale pid file." after an unclean shutdown) goes to stderr.
# No extra descriptor is opened for the URL: the server started here would inherit it and
# keep the Makefile's $(...) waiting forever.
start_server >&2

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]; then
	say "creating role $PG_ROLE"
	psql_admin -c "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
	say "creating database $PG_DB"
	psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE" >&2
fi

echo "postgresql+psycopg://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
