// processing.cpp — the events of a processing batch with their EventResponse JSON, for the
// processors of sql/event--0.2.0.sql ("Processors"):
//   event._events_json(ids uuid[]): of the given events, in the order of ids (an id not stored is
//     left out); for retries and replays;
//   event._pending_events(after, horizon, max): the next events by position, with the pending
//     ones' ids, attempts and JSON; one range scan for process_batch's new events, so their rows
//     are not looked up again by id.
// One statement per batch instead of one get_event_json call per event; each object is built in C
// from the row (PushEventRecord, the builder of query_events and the write path), not with
// jsonb_build_object in SQL: the JSON was most of a batch's cost (docs/benchmarks.md "Processing").
#include "pg/compat.hpp"

#include "guard.hpp"
#include "pg/event_record.hpp"

using namespace event::pg;

namespace {

// A row of both queries: the event.events columns, then the status row's (EventStatusColumn,
// event_record.hpp).

// The status lookup of both queries: one index probe per event (OFFSET 0 keeps it a lateral
// subquery, whatever the statistics). The queries are planned on each call (not kept), so the
// probe follows the status partition's real size as it grows during a backlog.
#define EVENT_STATUS_LATERAL_SQL                                                                                       \
	"LEFT JOIN LATERAL (SELECT s.status, s.attempts, s.last_error, s.processed_at "                                   \
	"FROM event.event_status s WHERE s.event_id = e.event_id OFFSET 0) s ON true "

// "SELECT <event columns>, <status columns> <from_sql>" in TopMemoryContext, built on the first
// call into *cache.
const char *RowsSql(char **cache, const char *from_sql) {
	if (*cache == nullptr) {
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		char *columns = EventColumnList("e.");
		*cache = psprintf("SELECT %s, s.status, s.attempts, s.last_error, s.processed_at %s", columns, from_sql);
		pfree(columns);
		MemoryContextSwitchTo(old);
	}
	return *cache;
}

// The query of _events_json: the events of $1, in its order.
const char *EventsByIdSql() {
	static char *sql = nullptr;
	return RowsSql(&sql, "FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(id, o) "
	                     "CROSS JOIN LATERAL (SELECT e.* FROM event.events e WHERE e.event_id = u.id OFFSET 0) e "
	                     EVENT_STATUS_LATERAL_SQL "ORDER BY u.o");
}

// The query of _pending_events: up to $3 events with position in ($1, $2], in position order.
const char *EventsByPositionSql() {
	static char *sql = nullptr;
	return RowsSql(&sql, "FROM (SELECT e.* FROM event.events e WHERE e.position > $1 AND e.position <= $2 "
	                     "ORDER BY e.position LIMIT $3) e " EVENT_STATUS_LATERAL_SQL "ORDER BY e.position");
}

// Runs sql (EventStatusColumn rows) with nargs parameters; SPI must be connected.
void RunRowsQuery(const char *sql, int nargs, const Oid *types, Datum *values) {
	int rc = SPI_execute_with_args(sql, nargs, const_cast<Oid *>(types), values, nullptr, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: reading the events to process failed: %s", SPI_result_code_string(rc));
}

// The EventResponse of record as a jsonb datum, built in row_cxt (reset by the caller after
// the datum has been copied into an array).
Datum RecordJson(const EventRecord &record, MemoryContext row_cxt) {
	MemoryContext old = MemoryContextSwitchTo(row_cxt);
	Datum json = JsonbPGetDatum(EventRecordToJsonb(record));
	MemoryContextSwitchTo(old);
	return json;
}

} // namespace

// event._events_json(ids): jsonb[] of the events' EventResponse, in the order of ids (NULL if
// none is stored).
EVENT_FUNCTION(event_events_json) {
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	MemoryContext caller_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	static const Oid kTypes[1] = {UUIDARRAYOID};
	Datum values[1] = {PG_GETARG_DATUM(0)};
	RunRowsQuery(EventsByIdSql(), 1, kTypes, values);
	if (SPI_processed == 0) {
		SPI_finish();
		PG_RETURN_NULL();
	}
	// The array is accumulated in the caller's context (it outlives SPI_finish); each object is
	// built in a per-row context that is reset after it is copied into the array.
	ArrayBuildState *astate = initArrayResult(JSONBOID, caller_cxt, false);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "event events json row", ALLOCSET_DEFAULT_SIZES);
	EventRecord record;
	for (uint64 i = 0; i < SPI_processed; i++) {
		MemoryContext old = MemoryContextSwitchTo(row_cxt);
		EventRecordFromStatusRow(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &record);
		MemoryContextSwitchTo(old);
		accumArrayResult(astate, RecordJson(record, row_cxt), false, JSONBOID, caller_cxt);
		MemoryContextReset(row_cxt);
	}
	Datum result = makeArrayResult(astate, caller_cxt);
	SPI_finish();
	return result;
}

// event._pending_events(after_position, horizon, max_count): of the first max_count events with
// position in (after_position, horizon], the largest position (NULL if none) and, of those still
// pending (no status row, or status pending), the ids, attempts so far and EventResponse JSON, in
// position order (empty arrays if none).
EVENT_FUNCTION(event_pending_events) {
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	TupleDesc result_desc;
	if (get_call_result_type(fcinfo, nullptr, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "event: _pending_events must return a record");
	result_desc = BlessTupleDesc(result_desc);
	MemoryContext caller_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	static const Oid kTypes[3] = {INT8OID, INT8OID, INT4OID};
	Datum values[3] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2)};
	RunRowsQuery(EventsByPositionSql(), 3, kTypes, values);
	ArrayBuildState *ids = initArrayResult(UUIDOID, caller_cxt, false);
	ArrayBuildState *attempts = initArrayResult(INT4OID, caller_cxt, false);
	ArrayBuildState *jsons = initArrayResult(JSONBOID, caller_cxt, false);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "event pending events row", ALLOCSET_DEFAULT_SIZES);
	EventRecord record;
	int64 last = 0;
	for (uint64 i = 0; i < SPI_processed; i++) {
		MemoryContext old = MemoryContextSwitchTo(row_cxt);
		EventRecordFromStatusRow(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &record);
		MemoryContextSwitchTo(old);
		last = DatumGetInt64(record.values[kColPosition]);
		if (strcmp(record.status, "pending") == 0) {
			accumArrayResult(ids, record.values[kColEventId], false, UUIDOID, caller_cxt);
			accumArrayResult(attempts, Int32GetDatum(record.attempts), false, INT4OID, caller_cxt);
			accumArrayResult(jsons, RecordJson(record, row_cxt), false, JSONBOID, caller_cxt);
		}
		MemoryContextReset(row_cxt);
	}
	const bool any = SPI_processed > 0;
	Datum out[4] = {Int64GetDatum(last), makeArrayResult(ids, caller_cxt), makeArrayResult(attempts, caller_cxt),
	                makeArrayResult(jsons, caller_cxt)};
	bool out_nulls[4] = {!any, false, false, false};
	SPI_finish();
	return HeapTupleGetDatum(heap_form_tuple(result_desc, out, out_nulls));
}
