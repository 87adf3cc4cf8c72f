#!/usr/bin/env bash
# frontend_ingest.t — the ingester: frontend events accepted into JetStream are stored in
# PostgreSQL exactly once under their sidecar-made event_id; a kill -9 during ingestion
# redelivers, and the redelivery stores nothing twice; a poison event (an unknown category) goes
# to stream EVENTS_DEAD with its error and does not block the events behind it; lag on /metrics
# and /health; the relay does not publish the ingested events a second time (the output plugin
# leaves them out) and its slot still advances past them.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 21

P=fi$RUN_ID
POST=$(dirname "$0")/lib/frontend_post.py
mine() { sql -c "SELECT count(*), count(DISTINCT event_id) FROM event.events WHERE event_type = '$P.load'" | tr '|' ' '; }

# A collecting sidecar without ingester fills JetStream with a backlog.
api_start c --ingester off
python3 "$POST" "$API_PORT" "$P" 20 100 >"$T_TMP/ids"; ok $? "2000 frontend events accepted"
sort -o "$T_TMP/ids" "$T_TMP/ids"
sleep 1
is "$(mine)" "0 0" "nothing stored without an ingester"

# An ingesting sidecar, killed -9 while it stores, then restarted.
start_sidecar a --ingest-batch 100
wait_until 30 eval '[ "$(mine | cut -d" " -f1)" -gt 0 ]'; ok $? "ingestion started"
kill_sidecar a KILL
after_kill=$(mine | cut -d' ' -f1)
diag "stored before kill -9: $after_kill"
start_sidecar a --ingest-batch 100
wait_until 90 eval '[ "$(mine)" = "2000 2000" ]'; ok $? "all 2000 stored after the restart"
is "$(mine)" "2000 2000" "each event stored once"
is "$(stored_count "$T_TMP/ids")" 2000 "stored under the event_ids the collector answered"
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_type = '$P.load' AND (event_source <> 'frontend' OR metadata->>'batch' IS NULL OR metadata->'client'->>'ip' <> '127.0.0.1')")" 0 \
	"source frontend, client_info and client enrichment kept"
API_PORT=${SIDECAR_HTTP[a]}
wait_until 20 eval '[ "$(plain_metric event_ingester_lag_messages)" = 0 ]'; ok $? "ingester lag 0 on /metrics"

# A poison event: well-formed, so the collector accepts it, but its data violates the JSON Schema
# registered for its type, which only the store checks. (An unknown event_category no longer
# gets this far: the collector refuses it with 400, frontend_collect.t.)
sql -c "SELECT event.register_schema('$P.poison', '{\"type\": \"object\", \"required\": [\"n\"]}')" >/dev/null
req POST /api/v1/events/frontend -H 'Content-Type: application/json' -d "{\"event_type\":\"$P.poison\",\"data\":{\"m\":1}}"
is "$STATUS" 202 "poison event accepted by the collector"
poison=$(jget 'j["event_id"]')
python3 "$POST" "$API_PORT" "$P" 1 10 >>"$T_TMP/ids"
wait_until 30 eval '[ "$(mine | cut -d" " -f1)" = 2010 ]'; ok $? "events behind the poison stored"
wait_until 20 eval '"$JS_CHECK" "$NATS_URL" EVENTS_DEAD 2>/dev/null | grep -q "$poison"'; ok $? "poison event in EVENTS_DEAD"
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_type = '$P.poison'")" 0 "poison event not stored"
wait_until 20 eval 'health a | grep -q "\"ingester\":{\"lag_messages\":0}"'; ok $? "ingester lag 0 on /health"

# An event in the spec's EventCreateRequest shape: its context is stored as the event's context.
req POST /api/v1/events/frontend -H 'Content-Type: application/json' \
	-d "{\"event_type\":\"$P.ctx\",\"event_source\":\"frontend\",\"context\":{\"locale\":\"de\"}}"
ctx_id=$(jget 'j["event_id"]')
wait_until 20 eval '[ "$(sql -c "SELECT count(*) FROM event.events WHERE event_id = '"'"'$ctx_id'"'"'")" = 1 ]'
is "$(sql -c "SELECT context::text || ' ' || event_source FROM event.events WHERE event_id = '$ctx_id'")" '{"locale": "de"} frontend' \
	"context stored with the ingested event"

# Fields beyond the frontend model are kept in metadata (frontend_collect.t) and so stored there.
req POST /api/v1/events/frontend -H 'Content-Type: application/json' \
	-d "{\"event_type\":\"$P.extra\",\"session_id\":\"s-9\",\"screen\":{\"w\":390}}"
extra_id=$(jget 'j["event_id"]')
wait_until 20 eval '[ "$(sql -c "SELECT count(*) FROM event.events WHERE event_id = '"'"'$extra_id'"'"'")" = 1 ]'
is "$(sql -c "SELECT (metadata->>'session_id') || ' ' || (metadata->'screen'->>'w') FROM event.events WHERE event_id = '$extra_id'")" 's-9 390' \
	"fields beyond the model stored in the ingested event's metadata"

# The relay (sidecar c holds the slot) does not publish the ingested events a second time: the
# output plugin leaves them out of its stream (skip_ingested), and the slot still confirms past
# the transactions that held only them...
after_ingest=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 30 slot_passed "$after_ingest"; ok $? "the slot confirmed past the ingested events ($(slot_confirmed) >= $after_ingest)"
is "$(metric c event_relay_events_received_total)" 0 "the relay received none of the 2010 ingested events"
js_dump "$T_TMP/js.txt"
awk -F'\t' -v s="events.frontend.user_action.$P.load" '$2 == s { print $3 }' "$T_TMP/js.txt" | sort >"$T_TMP/js_ids"
is "$(wc -l <"$T_TMP/js_ids") $(sort -u "$T_TMP/js_ids" | wc -l)" "2010 2010" "JetStream holds each frontend event once"
cmp -s "$T_TMP/js_ids" <(sort "$T_TMP/ids"); ok $? "JetStream ids are the collector's ids"
# ...but an event stored with source frontend through the API is published as usual.
API_PORT=${SIDECAR_HTTP[c]}
API_KEY=$(new_key "e2e-fi-$RUN_ID")
wait_until 20 api_ready # the new key is loaded
post /api/v1/events/create "{\"event_type\":\"$P.api\",\"event_source\":\"frontend\"}"
api_id=$(jget 'j["event_id"]')
[ -n "$api_id" ] && wait_until 30 eval '"$JS_CHECK" "$NATS_URL" EVENTS 2>/dev/null | grep -q "$api_id"'
ok $? "an API-created frontend event is relayed ($STATUS $api_id)"
# The ingester's consumer sees that relayed message too: it is in event.events already, so it is
# acknowledged and skipped, never dead-lettered.
wait_until 10 eval '[ "$(plain_metric event_ingester_lag_messages)" = 0 ]'
! { "$JS_CHECK" "$NATS_URL" EVENTS_DEAD 2>/dev/null | grep -q "$api_id"; }; ok $? "the relayed event is not dead-lettered"
finish
