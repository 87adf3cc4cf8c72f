#!/usr/bin/env bash
# run_stack.sh start|stop — the dev stack behind `make run` / `make stop`.
# Everything lives in $REPO_ROOT/.run: pgdata/ (cluster, port 5432 if free),
# nats/ (JetStream store, port 4222 if free), sidecar.log, *.pid and env.
# `start` is idempotent: parts already running are reused. `stop` stops only
# the processes recorded in the pid files (and the cluster in .run/pgdata).
set -euo pipefail
root=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
harness=$root/test/harness
run=$root/.run
sidecar_bin=$root/sidecar/event-sidecar

# True if the pid in file $1 is a live process.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stop the process whose pid is in file $1 (TERM, then KILL after 10 s).
stop_pid() {
	alive "$1" || { rm -f "$1"; return 0; }
	local pid; pid=$(cat "$1")
	kill "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	rm -f "$1"; echo "$2 stopped"
}

# Wait until 127.0.0.1:$1 accepts connections (up to 10 s).
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

start() {
	mkdir -p "$run"
	# PostgreSQL: keep the running cluster, else 5432 if free.
	local pgport=""
	[ -f "$run/pgdata/data/postmaster.pid" ] || pgport=$("$harness/free_port.sh" 5432)
	"$harness/pg_start.sh" "$run/pgdata" "$pgport"
	set -a; . "$run/pgdata/env"; set +a
	psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'event'" | grep -q 1 ||
		psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE event'
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d event \
		-c 'CREATE EXTENSION IF NOT EXISTS event' -c 'ALTER EXTENSION event UPDATE' -c 'SELECT event.create_partitions()' >/dev/null

	# nats-server with JetStream.
	local natsport
	if alive "$run/nats.pid"; then
		natsport=$(cat "$run/nats.port")
		echo "nats-server already running on port $natsport"
	else
		natsport=$("$harness/free_port.sh" 4222)
		echo "$natsport" >"$run/nats.port"
		nohup nats-server -js -a 127.0.0.1 -p "$natsport" -sd "$run/nats" \
			-P "$run/nats.pid" -l "$run/nats.log" </dev/null >/dev/null 2>&1 &
		wait_port "$natsport" || { echo "nats-server did not start, see $run/nats.log" >&2; exit 1; }
		echo "nats-server started on 127.0.0.1:$natsport"
	fi

	local dburl="postgresql://postgres@127.0.0.1:$PGPORT/event"
	local natsurl="nats://127.0.0.1:$natsport"
	{ cat "$run/pgdata/env"; echo "PGDATABASE=event"
	  echo "EVENT_DATABASE_URL=$dburl"; echo "EVENT_NATS_URL=$natsurl"; } >"$run/env"

	# Sidecar, when it has been built; its HTTP port is 8080 if free.
	local sidecar="not built (sidecar/event-sidecar missing)"
	local httpport=""
	if [ -x "$sidecar_bin" ]; then
		if alive "$run/sidecar.pid"; then
			httpport=$(cat "$run/sidecar.port" 2>/dev/null || true)
			sidecar="already running (pid $(cat "$run/sidecar.pid"))"
		else
			httpport=$("$harness/free_port.sh" 8080)
			echo "$httpport" >"$run/sidecar.port"
			EVENT_DATABASE_URL=$dburl EVENT_NATS_URL=$natsurl EVENT_HTTP_ADDR=127.0.0.1:$httpport nohup "$sidecar_bin" \
				</dev/null >>"$run/sidecar.log" 2>&1 &
			echo $! >"$run/sidecar.pid"
			sleep 1
			alive "$run/sidecar.pid" || { echo "sidecar exited at startup:" >&2; tail -n 20 "$run/sidecar.log" >&2; exit 1; }
			sidecar="started (pid $(cat "$run/sidecar.pid"))"
		fi
		[ -n "$httpport" ] && sidecar="$sidecar  http://127.0.0.1:$httpport/health and /metrics"
	fi

	# One API key for the dev stack (all scopes), made once; only its hash is in the database.
	if [ ! -s "$run/api_key" ]; then
		(umask 077; psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d event \
			-c "SELECT event.create_api_key('make run')->>'secret'" >"$run/api_key") ||
			{ rm -f "$run/api_key"; echo "could not create the dev API key" >&2; }
	fi
	local apikey="(none)"
	[ -s "$run/api_key" ] && apikey=$(cat "$run/api_key")

	cat <<-MSG

	event dev stack (.run/)
	  postgres   127.0.0.1:$PGPORT  database event   log .run/pgdata/log/postgresql.log
	  nats       $natsurl (JetStream, store .run/nats)   log .run/nats.log
	  sidecar    $sidecar   log .run/sidecar.log
	api key:     $apikey   (.run/api_key; all scopes)
	try:         curl -H "Authorization: Bearer \$(cat .run/api_key)" http://127.0.0.1:${httpport:-8080}/api/v1/events/statistics
	connect:     psql -h 127.0.0.1 -p $PGPORT -U postgres event
	environment: set -a; . .run/env; set +a
	stop:        make stop
	MSG
}

stop() {
	stop_pid "$run/sidecar.pid" sidecar
	stop_pid "$run/nats.pid" nats-server
	"$harness/pg_stop.sh" "$run/pgdata"
}

case ${1:-} in
	start) start ;;
	stop) stop ;;
	*) echo "usage: run_stack.sh start|stop" >&2; exit 2 ;;
esac
