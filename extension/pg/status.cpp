// status.cpp — event.update_status(): the processing status lifecycle of an event (spec 9.3).
//
// Stored events are immutable; their status lives in event.event_status (no row = pending).
// Concurrent updates of one event serialise on its status row: SELECT ... FOR UPDATE when the
// row exists; when it does not, INSERT ... ON CONFLICT DO NOTHING, and if another transaction
// inserted it first we loop and lock that row instead. Each change inserts its
// status deltas into event.stat_deltas in the same (sub)transaction (counters.hpp).
#include "pg/compat.hpp"

#include <cmath>

#include "guard.hpp"
#include "pg/catalog.hpp"
#include "pg/counters.hpp"
#include "pg/event_json_sql.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

// Allowed transitions (from, to); the same status again is a no-op.
const char *const kTransitions[][2] = {
	{"pending", "processing"},   {"pending", "processed"}, {"pending", "failed"},     {"pending", "archived"},
	{"processing", "processed"}, {"processing", "failed"}, {"failed", "pending"},     {"failed", "archived"},
	{"processed", "archived"},
};

// True if from -> to is an allowed transition.
bool TransitionAllowed(const char *from, const char *to) {
	for (const auto &t : kTransitions)
		if (strcmp(t[0], from) == 0 && strcmp(t[1], to) == 0)
			return true;
	return false;
}

// Processing attempts after moving from -> to: entering processing starts an attempt; finishing
// (processed or failed) straight from pending counts as one too.
int32 NextAttempts(int32 attempts, const char *from, const char *to) {
	if (strcmp(to, "processing") == 0)
		return attempts + 1;
	if (strcmp(from, "pending") == 0 && (strcmp(to, "processed") == 0 || strcmp(to, "failed") == 0))
		return attempts + 1;
	return attempts;
}

// Status and attempts of the locked status row; false if the event has no status row.
bool LockStatusRow(Datum event_id, char *status, size_t status_size, int32 *attempts) {
	static const Oid kTypes[1] = {UUIDOID};
	Datum values[1] = {event_id};
	SPIPlanPtr plan =
		event::pg::CachedPlan(PlanId::kStatusLock, "SELECT s.status, s.attempts FROM event.event_status s WHERE s.event_id = $1 FOR UPDATE", 1,
	             kTypes);
	int rc = SPI_execute_plan(plan, values, nullptr, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: locking the status row failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	char *text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	strlcpy(status, text, status_size);
	bool isnull = false;
	*attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

// Writes the new status row (insert when absent, else update). Returns false if the insert lost
// a race with a concurrent first update (the caller locks and retries).
bool WriteStatus(bool insert, Datum *values, const char *nulls) {
	static const Oid kTypes[5] = {UUIDOID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID};
	if (insert) {
		SPIPlanPtr plan = event::pg::CachedPlan(PlanId::kStatusInsert,
		                           "INSERT INTO event.event_status AS s "
		                           "(event_id, status, attempts, last_error, processing_ms, processed_at, updated_at) "
		                           "VALUES ($1, $2, $3, $4, $5, CASE WHEN $2 = 'processed' THEN pg_catalog.now() END, "
		                           "pg_catalog.now()) ON CONFLICT (event_id) DO NOTHING",
		                           5, kTypes);
		int rc = SPI_execute_plan(plan, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "event: inserting the status row failed: %s", SPI_result_code_string(rc));
		return SPI_processed == 1;
	}
	SPIPlanPtr plan = event::pg::CachedPlan(PlanId::kStatusUpdate,
	                           "UPDATE event.event_status s SET status = $2, attempts = $3, "
	                           "last_error = COALESCE($4, s.last_error), "
	                           "processing_ms = COALESCE($5, s.processing_ms), "
	                           "processed_at = CASE WHEN $2 = 'processed' THEN pg_catalog.now() ELSE s.processed_at END, "
	                           "updated_at = pg_catalog.now() WHERE s.event_id = $1",
	                           5, kTypes);
	int rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "event: updating the status row failed: %s", SPI_result_code_string(rc));
	return true;
}

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.update_status(event_id, status, error, processing_ms): moves the event to status and
// returns its EventResponse.
EVENT_FUNCTION(event_update_status) {
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("event_id must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("status must not be null"),
		                errhint("Allowed values: pending, processing, processed, failed, archived.")));
	Datum event_id = PG_GETARG_DATUM(0);
	char *status = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CheckStatus(status);
	bool has_ms = !PG_ARGISNULL(3);
	float8 processing_ms = has_ms ? PG_GETARG_FLOAT8(3) : 0;
	if (has_ms && (std::isnan(processing_ms) || std::isinf(processing_ms) || processing_ms < 0 ||
	               processing_ms > kMaxProcessingMs))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid processing_ms \"%g\"", processing_ms),
		                errhint("processing_ms must be a finite number of milliseconds from 0 to %.0f (30 days).",
		                        kMaxProcessingMs)));

	static const Oid kIdType[1] = {UUIDOID};
	Datum id_value[1] = {event_id};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");

	int rc = SPI_execute_plan(event::pg::CachedPlan(PlanId::kStatusExists, "SELECT 1 FROM event.events e WHERE e.event_id = $1", 1, kIdType),
	                          id_value, nullptr, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
		                errmsg("event \"%s\" does not exist", DatumGetCString(DirectFunctionCall1(uuid_out, event_id)))));

	char old_status[16];
	for (int tries = 0;; tries++) {
		// Each retry follows a row committed by a concurrent first update; more than a few means
		// something else is wrong (in REPEATABLE READ the insert raises 40001 instead).
		if (tries == 3)
			elog(ERROR, "event: could not lock the status row of the event");
		int32 attempts = 0;
		bool exists = LockStatusRow(event_id, old_status, sizeof(old_status), &attempts);
		if (!exists)
			strlcpy(old_status, "pending", sizeof(old_status));
		if (strcmp(old_status, status) == 0)
			break; // same status: nothing to change
		if (!TransitionAllowed(old_status, status))
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			                errmsg("invalid status transition for event \"%s\"",
			                       DatumGetCString(DirectFunctionCall1(uuid_out, event_id))),
			                errdetail("from %s to %s", old_status, status),
			                errhint("Allowed: pending -> processing, processed, failed or archived; processing -> "
			                        "processed or failed; failed -> pending or archived; processed -> archived.")));

		Datum values[5] = {event_id, CStringGetTextDatum(status),
		                   Int32GetDatum(NextAttempts(attempts, old_status, status)),
		                   PG_ARGISNULL(2) ? (Datum)0 : PG_GETARG_DATUM(2), Float8GetDatum(processing_ms)};
		char nulls[6] = "     ";
		nulls[3] = PG_ARGISNULL(2) ? 'n' : ' ';
		nulls[4] = has_ms ? ' ' : 'n';
		if (!WriteStatus(!exists, values, nulls))
			continue; // a concurrent first update inserted the row: lock it and re-check

		RecordStatusChange(old_status, status,
		                   has_ms && (strcmp(status, "processed") == 0 || strcmp(status, "failed") == 0),
		                   processing_ms);
		break;
	}

	SPIPlanPtr plan = event::pg::CachedPlan(PlanId::kStatusResponse,
	                           "SELECT " EVENT_JSON_SQL " FROM " EVENT_JSON_FROM_SQL " WHERE e.event_id = $1", 1,
	                           kIdType);
	rc = SPI_execute_plan(plan, id_value, nullptr, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: reading the updated event failed: %s", SPI_result_code_string(rc));
	bool isnull = false;
	Datum result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	return result;
}
