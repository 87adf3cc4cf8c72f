#!/usr/bin/env bash
# api_projections.t — inline projections (spec 3.5.2, endpoint 9) against real PostgreSQL and the
# sidecar: GET /api/v1/events/projections/{entity_type}/{entity_id} (200 with state, version,
# last_event_id; a type without projection: its events merged at read time; 404 JSON for an
# unknown entity or projection; read scope), and concurrent appenders to
# one entity (several psql sessions, with an online rebuild running between them) leave the
# projection equal to the fold of the stream in version order.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 19

api_start a
T=p$RUN_ID
P=/api/v1/events/projections
READ=$(new_key "$T-read" '{read}')
wait_key "$READ" || bail "the new read key never reached the sidecar's key cache"
sql -c "SELECT event.create_projection('$T'), event.create_projection('$T', 'count', 'n')" >/dev/null

# ---- HTTP
post /api/v1/events/create "{\"event_type\":\"$T.created\",\"stream_id\":\"$T:1\",\"data\":{\"name\":\"a\",\"o\":{\"x\":1}}}"
is "$STATUS" 201 "create an event of the projected type over HTTP"
post /api/v1/events/create "{\"event_type\":\"$T.changed\",\"entity_type\":\"$T\",\"entity_id\":\"1\",\"data\":{\"o\":{\"y\":2},\"name\":null}}"
LAST=$(jget "j['event_id']")
req GET "$P/$T/1?projection=default" -H "Authorization: Bearer $READ"
is "$STATUS" 200 "GET projection with a read key: 200"
is "$(jget "(j['entity_type'], j['entity_id'], j['state'], j['version'], j['last_event_id'] == '$LAST')")" \
	"('$T', '1', {'o': {'x': 1, 'y': 2}}, 2, True)" "state, version, last_event_id, entity_type, entity_id"
req GET "$P/$T/1?projection=n" -H "Authorization: Bearer $READ"
is "$(jget "j['state']")" "{'count': 2}" "?projection= names one of several projections"
req GET "$P/$T/1" -H "Authorization: Bearer $READ"
is "$STATUS $(jget "j['projection']")" "200 default" "several projections and none named: the one named default"
req GET "$P/$T/nobody?projection=default" -H "Authorization: Bearer $READ"
is "$STATUS" 404 "unknown entity: 404"
json_error not_found; ok $? "404: JSON error not_found"
req GET "$P/${T}none/1" -H "Authorization: Bearer $READ"
is "$STATUS" 404 "entity type without projection, entity without events: 404"
json_error not_found; ok $? "404 for the type: JSON error"
post /api/v1/events/create "{\"event_type\":\"$T.n\",\"entity_type\":\"${T}none\",\"entity_id\":\"1\",\"data\":{\"qty\":1}}"
post /api/v1/events/create "{\"event_type\":\"$T.n\",\"entity_type\":\"${T}none\",\"entity_id\":\"1\",\"data\":{\"paid\":true}}"
req GET "$P/${T}none/1" -H "Authorization: Bearer $READ"
is "$STATUS:$(jget "(j['state'], j['version'], j['projection'])")" "200:({'qty': 1, 'paid': True}, 2, 'default')" \
	"entity type without projection: its events merged at read time (spec 3.5.2)"
req GET "$P/${T}none/1?projection=default" -H "Authorization: Bearer $READ"
is "$STATUS" 404 "entity type without projection, a projection named: 404"
req GET "$P/$T/1"
is "$STATUS" 401 "no key: 401"

# ---- concurrent appenders to one entity, with online rebuilds in between
sessions=6 per=60
pids=()
for s in $(seq 1 $sessions); do
	# One transaction per event (autocommit), so that the writers interleave.
	for i in $(seq 1 $per); do
		echo "SELECT (event.create_event('$T.tick', jsonb_build_object('s$s', $i, 'last', '$s-$i', 'o', jsonb_build_object('s$s', $i)), stream_id => '$T:c')).stream_version;"
	done >"$T_TMP/writer$s.sql"
	sql -f "$T_TMP/writer$s.sql" >"$T_TMP/writer$s.out" 2>&1 &
	pids+=($!)
done
# Autocommit calls: each rebuilds under the stream lock and commits, while the writers keep appending.
for r in 1 2 3; do sql -c "SELECT event.rebuild_projection('$T', 'c', 'default')" >/dev/null 2>>"$T_TMP/rebuild.err"; done
wait "${pids[@]}" # not the sidecar and nats-server, also children of this shell
is "$(cat "$T_TMP"/writer*.out | sort -n | uniq | wc -l)" $((sessions * per)) "every writer stored its events (distinct versions)"
is "$(sql -c "SELECT version FROM event.event_streams WHERE stream_id = '$T:c'")" $((sessions * per)) "stream at version $((sessions * per))"
is "$(sql -c "SELECT (event.get_projection('$T', 'c', 'n')->'state'->>'count')::int")" $((sessions * per)) "count projection = number of events"
# The fold in version order: every key's last value (flat keys, and the nested object merged).
FOLD="SELECT jsonb_object_agg(key, value) FROM (SELECT DISTINCT ON (key) key, value FROM event.events, jsonb_each(data) WHERE stream_id = '$T:c' AND key <> 'o' ORDER BY key, stream_version DESC) f"
NESTED="SELECT jsonb_object_agg(key, value) FROM (SELECT DISTINCT ON (key) key, value FROM event.events, jsonb_each(data->'o') WHERE stream_id = '$T:c' ORDER BY key, stream_version DESC) f"
is "$(sql -c "SELECT event.get_projection('$T', 'c', 'default')->'state' = ($FOLD) || jsonb_build_object('o', ($NESTED))")" t \
	"merge projection after concurrent appends = fold of the stream in version order"
is "$(sql -c "SELECT (event.get_projection('$T', 'c', 'default')->>'version')::int")" $((sessions * per)) "projection version = stream version"
is "$(sql -c "SELECT event.get_projection('$T', 'c', 'default') = event.rebuild_projection('$T', 'c', 'default')")" t \
	"a rebuild from the events gives the same projection"
[ ! -s "$T_TMP/rebuild.err" ]; ok $? "the online rebuilds ran without error"

finish
