#!/usr/bin/env bash
# api_pg_restart.t — PostgreSQL restarted (pg_ctl restart -m fast) under HTTP create load: the
# API answers 503 with Retry-After while the database is away (never another error, never a
# hang), the pool reconnects by itself and creates succeed again; every 201 is stored.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 7
[ -n "${PGDATA:-}" ] || bail "PGDATA not set"
pg_ctl_as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" "$@"
	else "$(pg_config --bindir)/pg_ctl" "$@"; fi
}
P=pgr$RUN_ID

api_start a
python3 "$(dirname "$0")/lib/create_load.py" "$API_PORT" "$API_KEY" "$P" 14 8 >"$T_TMP/load.json" &
LOAD=$!
BG_PIDS+=($LOAD)
sleep 3
pg_ctl_as_owner -D "$PGDATA" -m fast -w -t 60 stop >"$T_TMP/pg_ctl.log" 2>&1
ok $? "pg_ctl stop -m fast under load"
sleep 2 # the database stays away for a while
pg_ctl_as_owner -D "$PGDATA" -w -t 60 -l "$PGDATA/../log/postgresql.log" start >>"$T_TMP/pg_ctl.log" 2>&1
ok $? "PostgreSQL started again"
wait $LOAD; BG_PIDS=()
R=$T_TMP/load.json
res() { python3 -c "import json; j=json.load(open('$R')); print($1)"; }
diag "statuses $(res "j['status']"), connection errors $(res "j['errors']"), 201 after the last error $(res "j['ok_after_last_error']")"
is "$(res "sorted(set(j['status']) - {'201', '503'})")" "[]" "only 201 and 503 answered"
[ "$(res "j['status'].get('503', 0)")" -gt 0 ]; ok $? "503 while PostgreSQL was away"
is "$(res "j['no_retry_after']")" 0 "every 503 carries Retry-After"
[ "$(res "j['ok_after_last_error']")" -gt 20 ]; ok $? "creates succeed again after the restart (pool recovered by itself)"
res "'\\n'.join(j['ids'])" >"$T_TMP/ids.txt"
is "$(stored_count "$T_TMP/ids.txt")" "$(res "len(j['ids'])")" "every 201 is stored"
finish
