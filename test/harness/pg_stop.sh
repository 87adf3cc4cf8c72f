#!/usr/bin/env bash
# pg_stop.sh DIR — fast-stop the cluster pg_start.sh started in DIR.
# Safe to call twice, or on a DIR that never held a running cluster.
set -euo pipefail

dir=${1:?usage: pg_stop.sh DIR}
data=$dir/data
[ -f "$data/postmaster.pid" ] || exit 0

if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); else as_owner=(); fi
"${as_owner[@]}" "$(pg_config --bindir)/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
if [ -f "$data/postmaster.pid" ] && "${as_owner[@]}" "$(pg_config --bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1; then
	echo "pg_stop.sh: postgres in $data did not stop" >&2
	exit 1
fi
echo "postgres stopped ($data)"
