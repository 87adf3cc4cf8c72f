#!/usr/bin/env bash
# webhook_standby.t — two sidecars of one slot: only the one holding the delivery lock
# (advisory lock 17751, hashtext of the slot name) posts webhooks, the other stands by (two
# workers pulling batches from one consumer would post one stream's events at the same time). After kill -9 of the first one
# the second takes over: every event is delivered, each stream in order and one at a time, a
# repeated delivery keeps its delivery id.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 7

start_receiver
api_start a
wait_until 20 is_leader a; ok $? "sidecar a streams from slot $SLOT"
start_sidecar b
standing_by() { grep -q '"delivery: another process delivers' "$T_TMP/$1.log"; }
wait_until 20 standing_by b; ok $? "sidecar b stands by for delivery"

P=ws$RUN_ID
PATH_=/delay/200/$P
ID=$(sql -c "SELECT event.create_subscription('$P', '$R$PATH_', event_types => '{$P.s}')->>'subscription_id'")
# 2 streams x 10 versions, interleaved: each stream takes 2 s at 200 ms per request.
sql -c "DO \$\$ BEGIN FOR v IN 1..10 LOOP FOR s IN 1..2 LOOP
	PERFORM event.create_event('$P.s', jsonb_build_object('v', v), 'backend', 'order', stream_id => 'ws$P:' || s);
	END LOOP; END LOOP; END \$\$" >/dev/null

distinct_at_least() {
	[ "$(python3 -c "
import json
print(len({json.loads(l)['headers']['x-event-id'] for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '$PATH_'}))")" -ge "$1" ]
}
wait_until 20 received_at_least "$PATH_" 4
kill_sidecar a KILL
wait_until 60 distinct_at_least 20; ok $? "after kill -9 of the delivering sidecar, the standby delivered every event"
sql -c "SELECT event.create_event('$P.s', '{}', 'backend', 'order', stream_id => 'ws$P:3')" >/dev/null
wait_until 20 distinct_at_least 21; ok $? "a new event is delivered by the standby"

python3 - "$T_TMP/hooks.jsonl" "$PATH_" >"$T_TMP/standby.out" <<'PY'
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["path"] == sys.argv[2]]
first = collections.defaultdict(list)
times = collections.defaultdict(list)
for r in rows:
    b = json.loads(r["body"])
    if b["stream_version"] not in first[b["stream_id"]]:
        first[b["stream_id"]].append(b["stream_version"])
    times[b["stream_id"]].append(r["t"])
gaps = [y - x for t in times.values() for x, y in zip(t, t[1:])]
pairs = {(r["headers"]["x-event-id"], r["headers"]["x-event-delivery-id"]) for r in rows}
print(" ".join(str(first[s]) for s in sorted(first) if len(first[s]) > 1))
print("gap_ok" if min(gaps) >= 0.19 else "gap %.3f" % min(gaps))
print(len(pairs))
PY
is "$(sed -n 1p "$T_TMP/standby.out")" "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10] [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" "first arrivals of each stream in order"
is "$(sed -n 2p "$T_TMP/standby.out")" "gap_ok" "never two requests of one stream at once (one deliverer at a time)"
is "$(sed -n 3p "$T_TMP/standby.out")" 21 "a repeated delivery keeps its delivery id"
sql -c "SELECT event.delete_subscription('$ID')" >/dev/null
finish
