// processing.cpp — event._events_json(ids uuid[]): the EventResponse JSON of many events in one
// query, in the order of ids (an id not stored is left out), for the processors of
// sql/event--0.2.0.sql ("Processors"). One statement per batch instead of one get_event_json
// call per event; the JSON is the one expression of event_json_sql.hpp.
#include "pg/compat.hpp"

#include "guard.hpp"
#include "pg/event_json_sql.hpp"

using namespace event::pg;

// event._events_json(ids): jsonb[] of the events' EventResponse (NULL for NULL ids).
EVENT_FUNCTION(event_events_json) {
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	static const Oid kTypes[1] = {UUIDARRAYOID};
	Datum values[1] = {PG_GETARG_DATUM(0)};
	// OFFSET 0 keeps the lateral subquery apart: one index lookup per id, whatever the statistics.
	int rc = SPI_execute_with_args(
		"SELECT pg_catalog.array_agg(x.j ORDER BY u.o) FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(id, o) "
		"CROSS JOIN LATERAL (SELECT " EVENT_JSON_SQL " AS j FROM " EVENT_JSON_FROM_SQL
		" WHERE e.event_id = u.id OFFSET 0) x",
		1, const_cast<Oid *>(kTypes), values, nullptr, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: reading the events to process failed: %s", SPI_result_code_string(rc));
	bool isnull = false;
	Datum result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull) {
		SPI_finish();
		PG_RETURN_NULL();
	}
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	return result;
}
