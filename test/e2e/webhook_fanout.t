#!/usr/bin/env bash
# webhook_fanout.t — 120 subscriptions on one sidecar (120 durable consumers and workers) with
# three kinds of filters (an exact type: one JetStream filter subject; a prefix pattern; two
# types: events.> filtered in the sidecar): every subscriber receives each matching event
# exactly once and nothing else, each stream's events in version order.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 6

N=120
start_receiver
api_start a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=fo$RUN_ID
# Subscription i: i%3 == 0 -> {P.x.a}, 1 -> {P.x.*}, 2 -> {P.x.a, P.y}; callback /ok/P/i.
sql -c "CREATE TABLE fo_subs AS SELECT i, (event.create_subscription('$P-' || i, '$R/ok/$P/' || i,
        event_types => CASE i % 3 WHEN 0 THEN ARRAY['$P.x.a'] WHEN 1 THEN ARRAY['$P.x.*'] ELSE ARRAY['$P.x.a', '$P.y'] END,
        backoff_base_ms => 100)->>'subscription_id')::uuid AS id FROM generate_series(0, $N - 1) i" >/dev/null
is "$(sql -c "SELECT count(*) FROM fo_subs")" $N "$N subscriptions created"

# 4 streams x 5 events, versions 1-5 of types x.a, x.b, y, x.a, z: 8 x.a, 4 x.b, 4 y, 4 z.
sql -c "DO \$\$ DECLARE t text[] := ARRAY['$P.x.a', '$P.x.b', '$P.y', '$P.x.a', '$P.z']; BEGIN
	FOR v IN 1..5 LOOP FOR s IN 1..4 LOOP
		PERFORM event.create_event(t[v], jsonb_build_object('s', s, 'v', v), 'backend', 'order', stream_id => 'fo$P:' || s);
	END LOOP; END LOOP; END \$\$" >/dev/null
# Expected per kind: exact x.a: 8 events; prefix x.*: x.a + x.b = 12; x.a + y = 12.
total_want=$(( (N / 3) * 8 + (N / 3) * 12 + (N / 3) * 12 ))
all_received() { [ "$(grep -c "\"path\": \"/ok/$P/" "$T_TMP/hooks.jsonl")" -ge "$total_want" ]; }
wait_until 90 all_received; ok $? "all $total_want deliveries arrived"
sleep 1 # anything extra would arrive now
python3 - "$T_TMP/hooks.jsonl" "/ok/$P/" "$N" "$P" >"$T_TMP/fanout.out" <<'PY'
import collections, json, sys
log, prefix, n, p = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
want_types = {0: {p + ".x.a"}, 1: {p + ".x.a", p + ".x.b"}, 2: {p + ".x.a", p + ".y"}}
got = collections.defaultdict(list)
for line in open(log):
    r = json.loads(line)
    if r["path"].startswith(prefix):
        got[int(r["path"][len(prefix):])].append(json.loads(r["body"]))
dup = wrong = order = missing = 0
for i in range(n):
    evs = got[i]
    ids = [e["event_id"] for e in evs]
    dup += len(ids) - len(set(ids))
    wrong += sum(1 for e in evs if e["event_type"] not in want_types[i % 3])
    missing += (8 if i % 3 == 0 else 12) - len(set(ids))
    last = {}
    for e in evs:
        if e["stream_version"] <= last.get(e["stream_id"], 0):
            order += 1
        last[e["stream_id"]] = e["stream_version"]
print("subscribers", len(got), "duplicates", dup, "unmatched", wrong, "missing", missing, "out_of_order", order)
PY
is "$(cat "$T_TMP/fanout.out")" "subscribers $N duplicates 0 unmatched 0 missing 0 out_of_order 0" \
	"each subscriber: every matching event exactly once, nothing else, streams in order"
is "$(sql -c "SELECT count(*) FROM event.delivery_attempts a JOIN fo_subs s ON s.id = a.subscription_id WHERE a.status_code = 200")" \
	"$total_want" "every delivery recorded once as an attempt with status 200"
is "$(sql -c "SELECT count(*) FROM event.delivery_dead_letters d JOIN fo_subs s ON s.id = d.subscription_id")" 0 "no dead letter"

sql -c "SELECT count(event.delete_subscription(id)) FROM fo_subs" -c "DROP TABLE fo_subs" >/dev/null
finish
