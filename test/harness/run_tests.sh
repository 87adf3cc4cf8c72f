#!/usr/bin/env bash
# run_tests.sh — the body of `make test` (after build + install).
# Suites, in order: schedule check, unit (make unit), then on a throwaway
# cluster (mktemp dir under /tmp, database event_test with pgtap, dblink,
# event and the test-only event_test hooks): pgTAP (pg_prove over test/pgtap/NN_*.sql, sorted), each executable
# test/upgrade/*.sh, test/memory/*.sh and test/replica/*.sh (a pg_basebackup standby), and prove over test/e2e/*.t.
# Every suite runs even when an earlier one failed; the cluster is stopped on
# exit. Prints "N passed, N failed" (suites) last; non-zero if any failed.
# Test env: PGHOST PGPORT PGUSER PGDATABASE EVENT_TEST_DB REPO_ROOT SIDECAR_BIN
# HARNESS (and PGDATA of the cluster).
set -uo pipefail
export REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$REPO_ROOT"
export HARNESS=$REPO_ROOT/test/harness
export SIDECAR_BIN=${SIDECAR_BIN:-$REPO_ROOT/sidecar/event-sidecar}
export EVENT_TEST_DB=event_test
export LC_ALL=C
MAKE=${MAKE:-make}

passed=0 failed=0 results=()
# Run one suite: suite NAME COMMAND...
suite() {
	local name=$1; shift
	echo "=== $name"
	if "$@"; then passed=$((passed + 1)); results+=("ok    $name"); return 0; fi
	failed=$((failed + 1)); results+=("FAIL  $name"); return 1
}

tmp=$(mktemp -d /tmp/event-test.XXXXXX)
finish() {
	"$HARNESS/pg_stop.sh" "$tmp" >/dev/null || true
	if [ "$failed" = 0 ]; then rm -rf "$tmp"
	else echo "server log kept in $tmp/log/postgresql.log"; fi
}
trap finish EXIT

suite schedule "$HARNESS/schedule_check.sh"
suite unit "$MAKE" --no-print-directory unit

# A failed cluster setup counts as one failed suite; the cluster suites are skipped.
setup_cluster() {
	"$HARNESS/pg_start.sh" "$tmp" || return 1
	set -a; . "$tmp/env"; set +a
	export PGDATABASE=$EVENT_TEST_DB
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $EVENT_TEST_DB" &&
	psql -X -q -v ON_ERROR_STOP=1 \
		-c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION dblink' -c 'CREATE EXTENSION event' \
		-c 'CREATE EXTENSION event_test'
}

echo "=== cluster"
if setup_cluster; then
	pgtap=(test/pgtap/[0-9][0-9]_*.sql)
	[ -e "${pgtap[0]}" ] && suite pgtap pg_prove -d "$EVENT_TEST_DB" "${pgtap[@]}"
	for t in test/upgrade/*.sh test/memory/*.sh test/replica/*.sh; do
		[ -x "$t" ] && [[ $(basename "$t") != _* ]] && suite "$t" "$t"
	done
	e2e=(test/e2e/*.t)
	[ -e "${e2e[0]}" ] && suite e2e prove --timer "${e2e[@]}"
else
	failed=$((failed + 1)); results+=("FAIL  cluster setup")
	echo "cluster setup failed; pgTAP, upgrade, memory and e2e suites not run"
	tail -n 20 "$tmp/log/postgresql.log" 2>/dev/null
fi

finish; trap - EXIT
echo "=== summary"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
