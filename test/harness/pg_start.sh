#!/usr/bin/env bash
# pg_start.sh DIR [PORT] — start a PostgreSQL 15 cluster for tests or `make run`.
#
# Layout: DIR/data (PGDATA), DIR/log/postgresql.log, DIR/env, unix socket in DIR.
# Initialises DIR/data on first use (trust auth, superuser "postgres"), applies
# test/harness/postgresql.conf on every start, listens on 127.0.0.1 only.
# PORT empty: reuse the port from DIR/env if still free, else pick a free one.
# Already running: leaves it alone. As root the cluster runs as user postgres.
# DIR/env holds PGHOST/PGPORT/PGUSER/PGDATA lines: `set -a; . DIR/env; set +a`.
set -euo pipefail

dir=${1:?usage: pg_start.sh DIR [PORT]}
port=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
bindir=$(pg_config --bindir)

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

# Run a command as the cluster owner.
as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "$(id -u)" = 0 ]; then
	chown postgres: "$dir"
	chmod 755 "$dir"
	if ! runuser -u postgres -- test -w "$dir"; then
		echo "pg_start.sh: user postgres cannot reach $dir (a parent directory is not traversable)" >&2
		exit 1
	fi
fi

write_env() {
	printf 'PGHOST=127.0.0.1\nPGPORT=%s\nPGUSER=postgres\nPGDATA=%s\n' "$1" "$data" >"$dir/env"
}

if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
	running_port=$(sed -n 4p "$data/postmaster.pid")
	write_env "$running_port"
	echo "postgres already running in $data on port $running_port"
	exit 0
fi

if [ ! -f "$data/PG_VERSION" ]; then
	as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
		--no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	echo "include = 'event_harness.conf'" >>"$data/postgresql.conf"
	echo "include = 'event_cluster.conf'" >>"$data/postgresql.conf"
fi

if [ -z "$port" ] && [ -f "$dir/env" ]; then
	old=$(sed -n 's/^PGPORT=//p' "$dir/env")
	[ -n "$old" ] && [ "$("$here/free_port.sh" "$old")" = "$old" ] && port=$old
fi
[ -n "$port" ] || port=$("$here/free_port.sh")

# Harness settings are refreshed on every start so edits to the repo file apply.
cp "$here/postgresql.conf" "$data/event_harness.conf"
printf "port = %s\nunix_socket_directories = '%s'\n" "$port" "$dir" >"$data/event_cluster.conf"
chown --reference="$data" "$data/event_harness.conf" "$data/event_cluster.conf"

as_owner mkdir -p "$dir/log"
as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/log/postgresql.log" -w -t 60 start >/dev/null \
	|| { tail -n 30 "$dir/log/postgresql.log" >&2; exit 1; }
write_env "$port"
echo "postgres started in $data on 127.0.0.1:$port"
