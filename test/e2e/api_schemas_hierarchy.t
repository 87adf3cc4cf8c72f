#!/usr/bin/env bash
# api_schemas_hierarchy.t — the schema registry and the stream hierarchy over HTTP: an event that
# fails its event_type's schema answers 400 with EV002, the schema version in the message and the
# JSON path and rule in the detail (single create, group-committed, and per item in a non-atomic
# batch); GET /api/v1/events/streams?entity_type= pages the streams of a type; GET
# /api/v1/events/category/{entity_type} reads the type's events in global order with a cursor.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 20

api_start a
P=sh$RUN_ID
V=/api/v1/events

sql -c "SELECT event.register_schema('$P.order', '{\"type\": \"object\", \"required\": [\"order_id\"], \"properties\": {\"order_id\": {\"type\": \"string\"}, \"qty\": {\"type\": \"integer\", \"minimum\": 1}}}')" >/dev/null

# ---- validation failures: 400 with the detail
post $V/create "{\"event_type\":\"$P.order\",\"data\":{\"order_id\":\"o1\",\"qty\":0}}"
is "$STATUS" 400 "create failing its schema: 400"
json_error bad_request; ok $? "400: JSON error shape, code bad_request"
is "$(jget "j['error']['sqlstate']")" EV002 "sqlstate EV002"
is "$(jget "j['error']['message']")" "event \"$P.order\" does not match schema version 1" "message names event type and version"
is "$(jget "j['error']['detail'].split(':')[0]")" 'JSON path "/qty" fails rule "minimum"' "detail names the JSON path and the rule"
post $V/create "{\"event_type\":\"$P.order\",\"data\":{\"order_id\":\"o1\",\"qty\":2}}"
is "$STATUS" 201 "valid create: 201"
is "$(jget "j['metadata']['schema_version']")" 1 "stored event carries schema_version"
post "$V/batch?atomic=false" "[{\"event_type\":\"$P.order\",\"data\":{\"order_id\":\"o2\"}},{\"event_type\":\"$P.order\",\"data\":{\"order_id\":7}}]"
is "$(jget "[r['status'] for r in j['results']] if isinstance(j, dict) else [r['status'] for r in j]")" "['created', 'error']" "non-atomic batch: only the invalid item fails"
is "$(jget "(lambda r: (r[1]['error'].get('sqlstate', r[1]['error'].get('code')), r[1]['error']['detail'].split(':')[0]))(j['results'] if isinstance(j, dict) else j)")" \
	"('EV002', 'JSON path \"/order_id\" fails rule \"type\"')" "non-atomic batch: the item error has path and rule"
post $V/batch "[{\"event_type\":\"$P.order\",\"data\":{\"order_id\":\"o3\"}},{\"event_type\":\"$P.order\",\"data\":{}}]"
is "$STATUS" 400 "atomic batch with an invalid item: 400"
is "$(jget "j['error']['detail'].startswith('Batch item 1. JSON path \"\" (the whole data) fails rule \"required\"')")" True "atomic batch: item, path and rule"

# ---- hierarchy: streams of a type, and the category read
for id in c a b; do
	post $V/create "{\"event_type\":\"$P.opened\",\"stream_id\":\"acct$P:$id\"}" >/dev/null
done
post $V/create "{\"event_type\":\"$P.credited\",\"stream_id\":\"acct$P:a\"}"
get "$V/streams?entity_type=acct$P&limit=2"
is "$STATUS" 200 "list streams: 200"
is "$(jget "([s['entity_id'] for s in j['streams']], j['next_after'])")" "(['a', 'b'], 'b')" "page 1 by entity_id, cursor b"
is "$(jget "[(s['stream_id'], s['version']) for s in j['streams']][0]")" "('acct$P:a', 2)" "stream id and version"
get "$V/streams?entity_type=acct$P&limit=2&after=b"
is "$(jget "([s['entity_id'] for s in j['streams']], j['next_after'])")" "(['c'], None)" "last page"
get "$V/streams"
is "$STATUS" 400 "list streams without entity_type: 400"

get "$V/category/acct$P?max_count=3"
is "$STATUS" 200 "category read: 200"
is "$(jget "[(e['stream_id'], e['stream_version']) for e in j['events']]")" "[('acct$P:c', 1), ('acct$P:a', 1), ('acct$P:b', 1)]" "category: events in global order, max_count"
get "$V/category/acct$P?after_position=$(jget "j['last_position']")"
is "$(jget "[(e['event_type'], e['stream_id']) for e in j['events']]")" "[('$P.credited', 'acct$P:a')]" "category: the cursor continues after last_position"
get "$V/category/acct$P?max_count=0"
is "$STATUS" 400 "category: max_count 0 is a 400"

sql -c "DELETE FROM event.event_schemas WHERE event_type = '$P.order'" >/dev/null
finish
