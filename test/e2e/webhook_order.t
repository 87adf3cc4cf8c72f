#!/usr/bin/env bash
# webhook_order.t — a subscription's worker holds a batch of messages and posts several event
# streams at once (docs/sidecar.md "Webhook delivery"): with a slow receiver the streams overlap
# while each stream's events arrive one at a time in version order, never the next before the
# previous one was answered; with failing answers a stream repeats its event (same delivery id)
# and does not go on until it succeeded; messages held longer than the ack wait (15 s) behind a
# slow stream are renewed and not redelivered.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 10

start_receiver
api_start a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=wo$RUN_ID
subscribe() { # subscribe NAME URL TYPE: prints the id
	sql -c "SELECT event.create_subscription('$P-$1', '$2', event_types => '{$3}', backoff_base_ms => 200,
	        backoff_max_ms => 400)->>'subscription_id'"
}
SLOW_ID=$(subscribe slow "$R/delay/300/$P" "$P.slow")
FAIL_ID=$(subscribe failing "$R/failn/3/$P" "$P.failing")
LONG_ID=$(subscribe long "$R/delay/6000/$P" "$P.long")

# Long: 4 events of one stream, 6 s each: the last one is held about 18 s, past the ack wait.
# Slow: 4 streams x 4 versions, interleaved. Failing: 3 streams x 3 versions.
sql -c "DO \$\$ BEGIN
	FOR v IN 1..4 LOOP PERFORM event.create_event('$P.long', jsonb_build_object('v', v), 'backend', 'order', stream_id => 'long$P:1'); END LOOP;
	FOR v IN 1..4 LOOP FOR s IN 1..4 LOOP
		PERFORM event.create_event('$P.slow', jsonb_build_object('s', s, 'v', v), 'backend', 'order', stream_id => 'slow$P:' || s);
	END LOOP; END LOOP;
	FOR v IN 1..3 LOOP FOR s IN 1..3 LOOP
		PERFORM event.create_event('$P.failing', jsonb_build_object('s', s, 'v', v), 'backend', 'order', stream_id => 'fail$P:' || s);
	END LOOP; END LOOP; END \$\$" >/dev/null

# check.py PATH: for one callback path, per stream the versions in arrival order, and more.
cat >"$T_TMP/check.py" <<'PY'
import collections, json, sys
log, path, what = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
for line in open(log):
    r = json.loads(line)
    if r["path"] == path:
        b = json.loads(r["body"])
        rows.append((r["t"], b["stream_id"], b["stream_version"], r["headers"]["x-event-id"], r["headers"]["x-event-delivery-id"]))
by_stream = collections.defaultdict(list)
for i, (t, s, v, e, d) in enumerate(rows):
    by_stream[s].append((i, t, v))
if what == "order":
    print(" ".join(str([v for _, _, v in by_stream[s]]) for s in sorted(by_stream)))
elif what == "spacing":  # min gap between two arrivals of one stream, and whether streams overlapped
    gaps = [b[1] - a[1] for s in by_stream.values() for a, b in zip(s, s[1:])]
    ts = sorted((t, s) for t, s, _, _, _ in rows)
    overlap = any(b[0] - a[0] < 0.25 and a[1] != b[1] for a, b in zip(ts, ts[1:]))
    print("gap_ok" if min(gaps) >= 0.29 else "gap %.3f" % min(gaps), "overlap" if overlap else "serial")
elif what == "failing":  # the first 3 requests failed; a stream moves on only after a success
    bad = 0
    for s in by_stream.values():
        for (i0, _, v0), (i1, _, v1) in zip(s, s[1:]):
            if v1 != v0 and (v1 != v0 + 1 or i0 < 3):
                bad += 1
            if v1 == v0 and i0 >= 3:
                bad += 1  # repeated although answered 200
    pairs = {(e, d) for _, _, _, e, d in rows}
    print("requests", len(rows), "events", len({e for _, _, _, e, _ in rows}), "id_pairs", len(pairs), "bad", bad)
PY
check() { python3 "$T_TMP/check.py" "$T_TMP/hooks.jsonl" "$@"; }

wait_until 30 received_at_least "/delay/300/$P" 16; ok $? "slow receiver: all 16 events delivered"
is "$(check "/delay/300/$P" order)" "[1, 2, 3, 4] [1, 2, 3, 4] [1, 2, 3, 4] [1, 2, 3, 4]" "each stream in version order, each event once"
is "$(check "/delay/300/$P" spacing)" "gap_ok overlap" \
	"streams posted at once, one stream's next event only after the previous answer (300 ms)"

wait_until 30 received_at_least "/failn/3/$P" 12; ok $? "failing receiver: 3 failures then 9 deliveries"
sleep 1
is "$(check "/failn/3/$P" failing)" "requests 12 events 9 id_pairs 9 bad 0" \
	"a failed event is repeated with its delivery id, and its stream waits for its success"
is "$(check "/failn/3/$P" order | tr -d '[],' | tr ' ' '\n' | sort -n | uniq | tr '\n' ' ')" "1 2 3 " "every version delivered"
attempts_at_least() { [ "$(sql -c "SELECT count(*) FROM event.delivery_attempts WHERE subscription_id = '$1'")" -ge "$2" ]; }
wait_until 10 attempts_at_least "$FAIL_ID" 12
is "$(sql -c "SELECT count(*) FILTER (WHERE status_code = 500) || ' ' || count(*) FILTER (WHERE status_code = 200)
              FROM event.delivery_attempts WHERE subscription_id = '$FAIL_ID'")" "3 9" "attempts recorded: 3 x 500, 9 x 200"

wait_until 45 received_at_least "/delay/6000/$P" 4; ok $? "held past the ack wait: all 4 events of the slow stream delivered"
sleep 2
is "$(received "/delay/6000/$P") $(check "/delay/6000/$P" order) $(grep -c 'redelivered a message still held' "$T_TMP/a.log")" \
	"4 [1, 2, 3, 4] 0" "each once, in order: the held messages were renewed, none redelivered"

for id in $SLOW_ID $FAIL_ID $LONG_ID; do sql -c "SELECT event.delete_subscription('$id')" >/dev/null; done
finish
