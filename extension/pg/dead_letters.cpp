// dead_letters.cpp — event.list_dead_letters, get_dead_letter, retry_dead_letter(s),
// purge_dead_letter(s): the webhook deliveries given up after max_attempts (docs/sql-api.md
// "Delivery dead letters").
//
// A retry only marks the row (retry_requested_at) and sends NOTIFY event_dead_letters; the sidecar
// claims marked rows (event.claim_dead_letter_retries), delivers them with the subscription's
// signing and reports the outcome (event.finish_dead_letter_retries): a delivered one leaves the
// table, one that fails again stays dead with its attempts added. So a row is listed until its
// event has been delivered, whatever happens to the sidecar in between.
#include "pg/compat.hpp"

#include "guard.hpp"

EVENT_BEGIN_PG_HEADERS
#include "utils/timestamp.h"
EVENT_END_PG_HEADERS

namespace event::pg {
namespace {

constexpr int kMaxLimit = 1000;

#define DL_TIME_SQL(col) "pg_catalog.to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
// A dead letter as list shows it, over alias d (event.delivery_dead_letters) left-joined to s
// (event.event_subscriptions).
#define DEAD_LETTER_JSON_SQL                                                                                           \
	"pg_catalog.jsonb_build_object('delivery_id', d.delivery_id, 'subscription_id', d.subscription_id::text, "       \
	"'subscriber_name', s.subscriber_name, 'event_id', d.event_id::text, 'event_type', d.payload->>'event_type', "   \
	"'stream_id', d.payload->>'stream_id', 'stream_sequence', d.stream_sequence, 'attempts', d.attempts, "          \
	"'last_status_code', d.last_status_code, 'last_error', d.last_error, 'dead_at', " DL_TIME_SQL("d.dead_at") ", " \
	"'retries', d.retries, 'state', CASE WHEN d.retry_requested_at IS NULL THEN 'dead' ELSE 'retrying' END, "        \
	"'retry_requested_at', " DL_TIME_SQL("d.retry_requested_at") ")"
#define DEAD_LETTER_FROM_SQL                                                                                           \
	" FROM event.delivery_dead_letters d LEFT JOIN event.event_subscriptions s ON s.id = d.subscription_id "
// The filter of the *_dead_letters functions over $1-$4 (NULL = any).
#define DEAD_LETTER_FILTER_SQL                                                                                         \
	"($1::uuid IS NULL OR d.subscription_id = $1) AND ($2::uuid IS NULL OR d.event_id = $2) "                       \
	"AND ($3::timestamptz IS NULL OR d.dead_at >= $3) AND ($4::timestamptz IS NULL OR d.dead_at <= $4)"

void Connect() {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
}

// The single jsonb value of the first row of the last SPI result, copied out of SPI.
Datum FirstJsonb() {
	bool isnull = false;
	Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return SPI_datumTransfer(d, false, -1);
}

// The filter arguments 0-3 (subscription_id, event_id, start_time, end_time) as SPI values and
// nulls; checks the time range; with require_one, at least one filter must be given.
struct Filter {
	Oid types[6] = {UUIDOID, UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, INT4OID};
	Datum values[6] = {};
	char nulls[7] = "      ";
};

void ReadFilter(FunctionCallInfo fcinfo, bool require_one, Filter *f) {
	bool any = false;
	for (int i = 0; i < 4; i++) {
		if (PG_ARGISNULL(i)) {
			f->nulls[i] = 'n';
		} else {
			f->values[i] = PG_GETARG_DATUM(i);
			any = true;
		}
	}
	if (!PG_ARGISNULL(2) && !PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(2) > PG_GETARG_TIMESTAMPTZ(3))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("start_time is after end_time"),
		                errdetail("start_time \"%s\", end_time \"%s\".", timestamptz_to_str(PG_GETARG_TIMESTAMPTZ(2)),
		                          timestamptz_to_str(PG_GETARG_TIMESTAMPTZ(3))),
		                errhint("Give a start_time earlier than or equal to end_time.")));
	if (require_one && !any)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("no filter given"),
		                errhint("Give subscription_id, event_id, start_time or end_time; to take every dead letter "
		                        "give end_time => now().")));
}

text *DeliveryId(FunctionCallInfo fcinfo) {
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("delivery_id must not be null")));
	return PG_GETARG_TEXT_PP(0);
}

[[noreturn]] void NoSuchDeadLetter(text *id) {
	ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND), errmsg("dead letter \"%s\" does not exist", text_to_cstring(id)),
	                errhint("List the dead letters with event.list_dead_letters().")));
}

// Runs sql ($1 = the delivery id text) and returns its one jsonb; P0002 when it returned no row.
Datum OneDeadLetter(text *id, const char *sql, bool read_only) {
	Connect();
	Oid types[1] = {TEXTOID};
	Datum values[1] = {PointerGetDatum(id)};
	int rc = SPI_execute_with_args(sql, 1, types, values, nullptr, read_only, 0);
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UPDATE_RETURNING && rc != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "event: dead letter statement failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		NoSuchDeadLetter(id);
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}

// Runs the filter statement sql over $1-$4 and returns its one jsonb.
Datum FilteredJsonb(FunctionCallInfo fcinfo, const char *sql, bool require_one, bool read_only, int nargs) {
	Filter f;
	ReadFilter(fcinfo, require_one, &f);
	if (nargs == 6) {
		int32 limit = PG_ARGISNULL(4) ? 100 : PG_GETARG_INT32(4);
		int32 offset = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
		if (limit < 1 || limit > kMaxLimit)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid limit \"%d\"", limit),
			                errhint("The limit must be between 1 and %d.", kMaxLimit)));
		if (offset < 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid offset \"%d\"", offset),
			                errhint("The offset must be zero or greater.")));
		f.values[4] = Int32GetDatum(limit);
		f.values[5] = Int32GetDatum(offset);
	}
	Connect();
	int rc = SPI_execute_with_args(sql, nargs, f.types, f.values, f.nulls, read_only, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: dead letter statement failed: %s", SPI_result_code_string(rc));
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.list_dead_letters(subscription_id, event_id, start_time, end_time, limit, offset):
// {dead_letters: [...], total, limit, offset, has_more}, oldest first.
EVENT_FUNCTION(event_list_dead_letters) {
	return FilteredJsonb(
		fcinfo,
		"WITH m AS (SELECT d.dead_at, d.delivery_id, " DEAD_LETTER_JSON_SQL " AS j" DEAD_LETTER_FROM_SQL
		"WHERE " DEAD_LETTER_FILTER_SQL "), "
		"p AS (SELECT m.j, m.dead_at, m.delivery_id FROM m ORDER BY m.dead_at, m.delivery_id LIMIT $5 OFFSET $6) "
		"SELECT pg_catalog.jsonb_build_object('dead_letters', "
		"COALESCE((SELECT pg_catalog.jsonb_agg(p.j ORDER BY p.dead_at, p.delivery_id) FROM p), '[]'), "
		"'total', t.n, 'limit', $5, 'offset', $6, 'has_more', $6::bigint + (SELECT pg_catalog.count(*) FROM p) < t.n) "
		"FROM (SELECT pg_catalog.count(*) AS n FROM m) t",
		false, true, 6);
}

// event.get_dead_letter(delivery_id): the dead letter with payload and attempts_history.
EVENT_FUNCTION(event_get_dead_letter) {
	return OneDeadLetter(
		DeliveryId(fcinfo),
		"SELECT " DEAD_LETTER_JSON_SQL " || pg_catalog.jsonb_build_object('payload', d.payload, 'attempts_history', "
		"(SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('attempt', a.attempt, "
		"'status_code', a.status_code, 'latency_ms', a.latency_ms, 'error', a.error, "
		"'attempted_at', " DL_TIME_SQL("a.attempted_at") ") ORDER BY a.attempted_at, a.attempt), '[]') "
		"FROM event.delivery_attempts a WHERE a.event_id = d.event_id AND a.delivery_id = d.delivery_id))"
		DEAD_LETTER_FROM_SQL "WHERE d.delivery_id = $1",
		true);
}

// event.retry_dead_letter(delivery_id): marks it for the sidecar (state retrying), notifies it;
// P0002 when unknown, 55000 when its subscription is gone.
EVENT_FUNCTION(event_retry_dead_letter) {
	text *id = DeliveryId(fcinfo);
	Connect();
	Oid types[1] = {TEXTOID};
	Datum values[1] = {PointerGetDatum(id)};
	int rc = SPI_execute_with_args("SELECT s.id IS NOT NULL AND s.active" DEAD_LETTER_FROM_SQL "WHERE d.delivery_id = $1",
	                               1, types, values, nullptr, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: dead letter statement failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		NoSuchDeadLetter(id);
	bool isnull = false;
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("the subscription of dead letter \"%s\" no longer exists", text_to_cstring(id)),
		                errhint("Purge it with event.purge_dead_letter(), or create a new subscription and replay the "
		                        "event.")));
	SPI_finish();
	return OneDeadLetter(
		id,
		"WITH u AS (UPDATE event.delivery_dead_letters d SET retry_requested_at = "
		"COALESCE(d.retry_requested_at, pg_catalog.now()) WHERE d.delivery_id = $1 RETURNING d.*), "
		"n AS (SELECT pg_catalog.pg_notify('event_dead_letters', u.subscription_id::text) FROM u) "
		"SELECT " DEAD_LETTER_JSON_SQL " || pg_catalog.jsonb_build_object('state', 'retrying') "
		"FROM u d LEFT JOIN event.event_subscriptions s ON s.id = d.subscription_id, n",
		false);
}

// event.retry_dead_letters(subscription_id, event_id, start_time, end_time): {retried, skipped}.
EVENT_FUNCTION(event_retry_dead_letters) {
	return FilteredJsonb(
		fcinfo,
		"WITH m AS (SELECT d.delivery_id, s.id IS NOT NULL AND s.active AS live" DEAD_LETTER_FROM_SQL
		"WHERE " DEAD_LETTER_FILTER_SQL "), "
		"u AS (UPDATE event.delivery_dead_letters d SET retry_requested_at = COALESCE(d.retry_requested_at, "
		"pg_catalog.now()) FROM m WHERE d.delivery_id = m.delivery_id AND m.live RETURNING 1), "
		"n AS (SELECT pg_catalog.pg_notify('event_dead_letters', 'retry') WHERE EXISTS (SELECT 1 FROM u)) "
		"SELECT pg_catalog.jsonb_build_object('retried', (SELECT pg_catalog.count(*) FROM u), "
		"'skipped', (SELECT pg_catalog.count(*) FROM m WHERE NOT m.live)) FROM (SELECT pg_catalog.count(*) FROM n) x",
		true, false, 4);
}

// event.purge_dead_letter(delivery_id): removes it; returns it as list shows it.
EVENT_FUNCTION(event_purge_dead_letter) {
	return OneDeadLetter(DeliveryId(fcinfo),
	                     "WITH u AS (DELETE FROM event.delivery_dead_letters d WHERE d.delivery_id = $1 RETURNING d.*) "
	                     "SELECT " DEAD_LETTER_JSON_SQL " FROM u d LEFT JOIN event.event_subscriptions s "
	                     "ON s.id = d.subscription_id",
	                     false);
}

// event.purge_dead_letters(subscription_id, event_id, start_time, end_time): {purged}.
EVENT_FUNCTION(event_purge_dead_letters) {
	return FilteredJsonb(fcinfo,
	                     "WITH u AS (DELETE FROM event.delivery_dead_letters d WHERE " DEAD_LETTER_FILTER_SQL
	                     " RETURNING 1) SELECT pg_catalog.jsonb_build_object('purged', (SELECT pg_catalog.count(*) FROM u))",
	                     true, false, 4);
}
