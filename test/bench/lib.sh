# test/bench/lib.sh — shared by the benchmark scripts (sourced, not run).

# bench_cluster DIR: starts a throwaway cluster in DIR with the benchmark settings
# (shared_buffers 256MB, synchronous_commit on, max_wal_size 4GB, checkpoint_timeout 15min:
# the last two keep bulk loads from being dominated by forced checkpoints), exports its
# connection variables and PGDATABASE=bench, and creates that database.
bench_cluster() {
	local dir=$1
	"$HARNESS/pg_start.sh" "$dir" >/dev/null
	set -a; . "$dir/env"; set +a
	psql -X -q -d postgres -c "ALTER SYSTEM SET shared_buffers = '256MB'" \
		-c "ALTER SYSTEM SET synchronous_commit = on" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
		-c "ALTER SYSTEM SET checkpoint_timeout = '15min'"
	"$HARNESS/pg_stop.sh" "$dir" >/dev/null
	"$HARNESS/pg_start.sh" "$dir" >/dev/null
	set -a; . "$dir/env"; set +a
	export PGDATABASE=bench
	psql -X -q -d postgres -c "CREATE DATABASE bench"
}

# q SQL: runs one statement in $PGDATABASE, unaligned tuples only, stops on error.
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
