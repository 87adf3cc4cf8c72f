# test/e2e/lib/sidecar.bash — shared helpers for the sidecar e2e tests (sourced by test/e2e/*.t).
#
# Each test gets its own temp dir, nats-server (JetStream, free port, own store dir), sidecar(s)
# and replication slot; `cleanup` (run from the EXIT trap) stops exactly the processes this test
# started (by pid) and drops the slot, also when the test fails half-way.
# Environment: PGHOST PGPORT PGUSER EVENT_TEST_DB REPO_ROOT SIDECAR_BIN (PGDATA for restarts).
set -uo pipefail

: "${REPO_ROOT:?REPO_ROOT not set}" "${EVENT_TEST_DB:=event_test}" "${PGUSER:=postgres}"
SIDECAR_BIN=${SIDECAR_BIN:-$REPO_ROOT/sidecar/event-sidecar}
JS_CHECK=${JS_CHECK:-$REPO_ROOT/sidecar/js-check}
FREE_PORT=$REPO_ROOT/test/harness/free_port.sh
export PGUSER EVENT_TEST_DB
export PGDATABASE=$EVENT_TEST_DB

T_NUM=0
T_FAILED=0
T_TMP=$(mktemp -d /tmp/event-e2e.XXXXXX)
RUN_ID=r$(date +%s)$RANDOM
SLOT=e2e_$(basename "$0" .t | tr -c 'a-z0-9_\n' '_')_$RUN_ID
SLOT=${SLOT:0:63}
DB_URL="postgresql://$PGUSER@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$EVENT_TEST_DB"
NATS_PID=""
NATS_PORT=""
declare -A SIDECAR_PID=() SIDECAR_HTTP=()
BG_PIDS=()

# ---------------------------------------------------------------- TAP
plan() { echo "1..$1"; }
ok() { # ok COND-STATUS NAME
	T_NUM=$((T_NUM + 1))
	if [ "$1" = 0 ]; then echo "ok $T_NUM - $2"; else echo "not ok $T_NUM - $2"; T_FAILED=$((T_FAILED + 1)); fi
}
is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; diag "got '$1', want '$2'"; fi
}
diag() { echo "# $*" | sed '2,$s/^/# /'; }
finish() { exit $((T_FAILED > 0)); }
bail() { echo "Bail out! $*"; exit 1; }

# ---------------------------------------------------------------- helpers
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$EVENT_TEST_DB" "$@"; }

# wait_until TIMEOUT_S CMD...: polls CMD every 0.2 s; status 0 once it succeeds.
wait_until() {
	local deadline=$(($(date +%s) + $1)); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_nats [PORT]: nats-server -js with its store in $T_TMP/nats (kept across restarts).
start_nats() {
	NATS_PORT=${1:-${NATS_PORT:-$("$FREE_PORT")}}
	nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$T_TMP/nats" >>"$T_TMP/nats.log" 2>&1 &
	NATS_PID=$!
	wait_until 10 port_open "$NATS_PORT" || bail "nats-server did not start (see $T_TMP/nats.log)"
	NATS_URL=nats://127.0.0.1:$NATS_PORT
}

stop_nats() {
	[ -n "$NATS_PID" ] || return 0
	kill "$NATS_PID" 2>/dev/null
	wait "$NATS_PID" 2>/dev/null
	NATS_PID=""
}

# start_sidecar NAME [FLAGS...]: starts a sidecar on this test's slot and NATS; log $T_TMP/NAME.log.
start_sidecar() {
	local name=$1; shift
	local http; http=$("$FREE_PORT")
	EVENT_DATABASE_URL=$DB_URL "$SIDECAR_BIN" --nats-url "$NATS_URL" --slot "$SLOT" \
		--http-addr "127.0.0.1:$http" --heartbeat-interval 1s "$@" >>"$T_TMP/$name.log" 2>&1 &
	SIDECAR_PID[$name]=$!
	SIDECAR_HTTP[$name]=$http
}

# health NAME: GET /health of a sidecar (body on stdout).
health() {
	local port=${SIDECAR_HTTP[$1]}
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
	sed '1,/^\r$/d' <&3
	exec 3<&-
}

metric() { # metric NAME METRIC [LABEL]: value of the first METRIC line containing LABEL
	local port=${SIDECAR_HTTP[$1]}
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
	grep "^$2{" <&3 | grep -F -- "${3:-}" | head -n1 | awk '{print $2}'
	exec 3<&-
}

is_leader() { health "$1" | grep -q '"role":"leader"'; }
is_standby() { health "$1" | grep -q '"role":"standby"'; }

# kill_sidecar NAME [SIGNAL]: signal a sidecar and wait for it; its exit status in KILL_RC.
# (Not in a $(…) subshell: only this shell can wait for its children.)
kill_sidecar() {
	local pid=${SIDECAR_PID[$1]}
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	KILL_RC=$?
	unset "SIDECAR_PID[$1]"
}

# create_events STREAM_PREFIX N [STREAMS] [PER_TX]: N events over STREAMS streams, PER_TX per commit.
create_events() {
	local prefix=$1 n=$2 streams=${3:-10} per_tx=${4:-50}
	sql -c "DO \$\$ BEGIN FOR i IN 1..$n LOOP
		PERFORM event.create_event(event_type => 'e2e.created', data => jsonb_build_object('i', i),
			event_source => 'backend', event_category => 'order',
			stream_id => '$prefix:' || (i % $streams));
		IF i % $per_tx = 0 THEN COMMIT; END IF; END LOOP; END \$\$"
}

# writer PREFIX SECONDS: one transaction of 20 events (5 streams) every ~50 ms for SECONDS,
# surviving server restarts (a failed batch is simply not counted: the table is the truth).
writer() {
	local prefix=$1 end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		create_events "$prefix" 20 5 20 2>/dev/null || sleep 0.2
		sleep 0.05
	done
}

# Event ids (sorted) in the table for streams whose id starts with PREFIX:.
table_ids() { sql -c "SELECT event_id FROM event.events WHERE stream_id LIKE '$1:%' ORDER BY 1"; }

# js_dump FILE: every message of stream EVENTS as "seq subject msgid stream_id version".
js_dump() { "$JS_CHECK" "$NATS_URL" EVENTS >"$1" 2>"$T_TMP/js-check.err"; }

# js_count PREFIX: messages in stream EVENTS whose stream_id starts with PREFIX.
js_count() { js_dump "$T_TMP/js.count" && awk -F'\t' -v p="$1" 'index($4, p) == 1' "$T_TMP/js.count" | wc -l; }
js_has_at_least() { [ "$(js_count "$1")" -ge "$2" ]; }

# check_stream_order FILE: every stream's versions strictly increase by 1 in stream-sequence order.
check_stream_order() {
	awk -F'\t' '$4 != "-" {
		if (($4 in last) && $5 != last[$4] + 1) { printf "stream %s: version %s after %s (seq %s)\n", $4, $5, last[$4], $1; bad++ }
		last[$4] = $5 }
		END { exit bad > 0 }' "$1"
}

slot_confirmed() { sql -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
# slot_passed LSN: confirmed_flush_lsn of the slot >= LSN.
slot_passed() { [ "$(sql -c "SELECT confirmed_flush_lsn >= '$1'::pg_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'")" = t ]; }

cleanup() {
	local name
	for name in "${!SIDECAR_PID[@]}"; do kill -9 "${SIDECAR_PID[$name]}" 2>/dev/null; { wait "${SIDECAR_PID[$name]}"; } 2>/dev/null; done
	for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	stop_nats
	# The walsender may take a moment to notice its client is gone.
	for _ in $(seq 50); do
		[ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active" 2>/dev/null)" = 0 ] && break
		sleep 0.2
	done
	sql -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null 2>&1
	if [ "$T_FAILED" -gt 0 ] || [ -n "${KEEP_E2E_TMP:-}" ]; then
		echo "# logs kept in $T_TMP" >&2
		for f in "$T_TMP"/*.log; do [ -f "$f" ] && { echo "# --- tail $f" >&2; tail -n 15 "$f" | sed 's/^/#   /' >&2; }; done
	else
		rm -rf "$T_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -x "$SIDECAR_BIN" ] || bail "sidecar binary $SIDECAR_BIN not built"
[ -x "$JS_CHECK" ] || bail "$JS_CHECK not built (make -C sidecar)"
