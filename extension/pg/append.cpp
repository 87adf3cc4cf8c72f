// append.cpp — the write path: event.create_event, create_event_json, create_events and
// append_to_stream. Every entry point parses its input into EventInput items and hands them to
// StoreBatch, which validates, claims idempotency keys, takes positions, advances streams,
// and inserts the rows, in that order (statistics are derived later from the log) (docs/architecture.md explains why).
#include "pg/compat.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/datum.h"
#include "utils/numeric.h"
#include "utils/resowner.h"
}

#include "core/errors.hpp"
#include "core/ingested.hpp"
#include "core/uuid7.hpp"
#include "core/validate.hpp"
#include "guard.hpp"
#include "pg/catalog.hpp"
#include "pg/direct_insert.hpp"
#include "pg/encoded_size.hpp"
#include "pg/event_record.hpp"
#include "pg/jsonb_builder.hpp"
#include "pg/extension_state.hpp"
#include "pg/partitions.hpp"
#include "pg/position.hpp"
#include "pg/projections.hpp"
#include "pg/schemas.hpp"
#include "pg/spi_plans.hpp"
#include "pg/sqlstate.hpp"
#include "pg/uuid.hpp"

namespace event::pg {
namespace {

enum class Expect { kAny, kNoStream, kExact };

// One event to store, as parsed from SQL arguments or a JSON request (palloc'd strings).
struct EventInput {
	char *event_type;
	char *event_source;
	char *event_category;
	char *user_id;
	char *stream_id;
	int entity_type_len; // bytes of stream_id before ':'
	Expect expect;
	int64 expected_version;
	Jsonb *data;
	Jsonb *metadata;
	Jsonb *context;
	bool has_timestamp;
	TimestampTz timestamp;
	char *idempotency_key;
	bool has_event_id; // the caller gave the event_id (a UUIDv7; the sidecar's frontend ingester)
	pg_uuid_t event_id;
	bool ingested; // idempotency_key is "jetstream:<event_id>" (checked): unique by event_id alone
};

// What happened to one item.
struct EventOutcome {
	EventRecord record;
	bool duplicate;   // idempotency key seen before: record is the original event
	int duplicate_of; // index in this batch of the original, or -1
};

// An item's error in partial mode.
struct ItemError {
	char sqlstate[6];
	char *message;
	char *detail;
	char *hint;
};

// The element type of each column and its array type, from core/event_columns.hpp.
struct InsertTypes {
	Oid one[kEventColumns];
	Oid many[kEventColumns];
	constexpr InsertTypes() : one(), many() {
		for (int c = 0; c < kEventColumns; c++) {
			one[c] = EventColumnType(c).type;
			many[c] = EventColumnType(c).array_type;
		}
	}
};
constexpr InsertTypes kInsertTypes;

// INSERT of one row ($1..$n) or, for a batch, of one array per column (one executor run, one
// plan check), both built from the column definition.
char *InsertSql(bool many) {
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO event.events (%s) ", EventColumnList(""));
	appendStringInfoString(&sql, many ? "SELECT * FROM ROWS FROM (" : "VALUES (");
	for (int c = 0; c < kEventColumns; c++)
		appendStringInfo(&sql, many ? "%spg_catalog.unnest($%d)" : "%s$%d", c == 0 ? "" : ", ", c + 1);
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

// Idempotency keys of a batch, claimed and looked up in one statement each (not one per item): $1 keys
// in key order (the order rows are inserted and locked), $2 their event ids, $3 now.
const char kClaimKeysSql[] = "INSERT INTO event.idempotency_keys (idempotency_key, event_id, created_at) "
                             "SELECT u.k, u.e, $3 FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(k, e) "
                             "ON CONFLICT (idempotency_key) DO NOTHING RETURNING event_id";
const char kLookupKeysSql[] = "SELECT idempotency_key, event_id FROM event.idempotency_keys "
                              "WHERE idempotency_key OPERATOR(pg_catalog.=) ANY ($1)";
// The event row (every column, in order) with its status: of the event $1, or of every event
// whose id is in the array $1 (any order).
char *FetchEventSql(bool many) {
	return psprintf("SELECT %s, s.status, s.attempts, s.last_error, s.processed_at "
	                "FROM event.events e LEFT JOIN event.event_status s ON s.event_id OPERATOR(pg_catalog.=) e.event_id "
	                "WHERE e.event_id OPERATOR(pg_catalog.=) %s",
	                EventColumnList("e."), many ? "ANY ($1)" : "$1");
}
const char kStreamUpsertSql[] =
	"INSERT INTO event.event_streams AS s (stream_id, entity_type, entity_id, version, last_event_id, last_position, "
	"created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
	"ON CONFLICT (stream_id) DO UPDATE SET version = s.version OPERATOR(pg_catalog.+) excluded.version, "
	"last_event_id = excluded.last_event_id, last_position = excluded.last_position, updated_at = excluded.updated_at "
	"RETURNING stream_id, version";
// One existing stream, tried before kStreamUpsertSql (same parameters; $2, $3 unused): a plain
// UPDATE writes one WAL record where ON CONFLICT DO UPDATE writes a row lock and the update.
const char kStreamUpdateSql[] =
	"UPDATE event.event_streams AS s SET version = s.version OPERATOR(pg_catalog.+) $4, last_event_id = $5, "
	"last_position = $6, updated_at = $7 WHERE s.stream_id OPERATOR(pg_catalog.=) $1 RETURNING s.stream_id, s.version";
// Several streams at once: $1..$6 arrays in stream_id order (the lock order of every writer), $7 now.
const char kStreamUpsertManySql[] =
	"INSERT INTO event.event_streams AS s (stream_id, entity_type, entity_id, version, last_event_id, last_position, "
	"created_at, updated_at) SELECT u.i, u.t, u.e, u.n, u.l, u.p, $7, $7 "
	"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), "
	"pg_catalog.unnest($5), pg_catalog.unnest($6)) AS u(i, t, e, n, l, p) "
	"ON CONFLICT (stream_id) DO UPDATE SET version = s.version OPERATOR(pg_catalog.+) excluded.version, "
	"last_event_id = excluded.last_event_id, last_position = excluded.last_position, updated_at = excluded.updated_at "
	"RETURNING stream_id, version";

//
// Validation
//

// Length of the entity_type part of a stream id; core::ParseStreamId raises on a bad id.
int EntityTypeLength(const char *stream_id) {
	core::ParseStreamId(stream_id);
	return static_cast<int>(strchr(stream_id, ':') - stream_id);
}

// An idempotency key in the name space the sidecar's ingester stores frontend events under
// (core/ingested.hpp): accepted only as "jetstream:<event_id>" on a frontend event that gives
// that event_id. Its uniqueness then follows from the event_id's, so it claims no row in
// event.idempotency_keys (StoreBatch, step 1).
void CheckIngestedKey(EventInput *in) {
	core::Uuid id;
	if (in->has_event_id)
		memcpy(id.bytes.data(), in->event_id.data, UUID_LEN);
	if (!in->has_event_id || strcmp(in->event_source, core::kIngestedSource.data()) != 0 ||
	    !core::IsIngestedKeyOf(in->idempotency_key, id))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("idempotency keys starting with \"%s\" are reserved", core::kIngestedKeyPrefix.data()),
		                errdetail("They mark the frontend events the sidecar's ingester stored from JetStream: "
		                          "\"%s<event_id>\" on an event with event_source \"%s\" and that event_id.",
		                          core::kIngestedKeyPrefix.data(), core::kIngestedSource.data()),
		                errhint("Choose another idempotency key.")));
	in->ingested = true;
}

void CheckObject(const char *field, Jsonb *value) {
	if (!JB_ROOT_IS_OBJECT(value) || JB_ROOT_IS_SCALAR(value))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a JSON object", field),
		                errhint("Wrap the value in an object, for example {\"value\": ...}.")));
}

// Checks one item; raises (SQL error or core::SqlError) on the first problem. Normalises the
// event type (trimmed) in place.
void Validate(EventInput *in) {
	if (in->event_type == nullptr)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("event_type is required"),
		                errhint("Name what happened, for example \"order.placed\".")));
	{
		std::string_view trimmed = core::TrimAscii(in->event_type);
		core::ValidateEventType(trimmed);
		in->event_type[trimmed.data() - in->event_type + trimmed.size()] = '\0';
		in->event_type += trimmed.data() - in->event_type;
	}
	if (in->event_source == nullptr)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("event_source must not be null"),
		                errhint("Omit it to use \"backend\".")));
	CheckSource(in->event_source);
	if (in->event_category == nullptr)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("event_category must not be null"),
		                errhint("Omit it to use \"user_action\".")));
	CheckCategory(in->event_category);
	if (in->user_id != nullptr)
		core::ValidateUserId(in->user_id);
	if (in->idempotency_key != nullptr) {
		core::ValidateIdempotencyKey(in->idempotency_key);
		if (core::HasIngestedPrefix(in->idempotency_key))
			CheckIngestedKey(in);
	}
	if (in->stream_id != nullptr)
		in->entity_type_len = EntityTypeLength(in->stream_id);
	else if (in->expect != Expect::kAny)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("expected_version requires a stream_id"),
		                errhint("Pass stream_id (or entity_type and entity_id) with expected_version.")));
	CheckObject("data", in->data);
	CheckObject("metadata", in->metadata);
	CheckObject("context", in->context);
	ApplyEventSchema(in->event_type, in->data, &in->metadata); // schema registry (schemas.cpp)
	int64 size = VARSIZE(in->data) + VARSIZE(in->metadata) + VARSIZE(in->context);
	if (size > max_payload_size)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("event payload is too large"),
		                errdetail("data, metadata and context take %lld bytes; the limit is %d bytes.",
		                          static_cast<long long>(size), max_payload_size),
		                errhint("Store large content elsewhere and reference it, or raise event.max_payload_size.")));
	{
		const char *texts[] = {in->event_type, in->event_source, in->event_category,
		                       in->user_id,    in->stream_id,    in->idempotency_key};
		Jsonb *const jsons[] = {in->data, in->metadata, in->context};
		CheckEncodedSize(texts, 6, jsons, 3); // the relay can publish it (defect 2)
	}
	if (in->has_timestamp && TIMESTAMP_NOT_FINITE(in->timestamp))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("timestamp must be finite"),
		                errhint("Omit timestamp to use the time of storage.")));
}

//
// Storing
//

SPIPlanPtr Plan(PlanId id) {
	switch (id) {
	case PlanId::kInsertEvent:
	case PlanId::kInsertEvents: {
		const bool many = id == PlanId::kInsertEvents;
		return CachedPlanBuilt(id, kEventColumns, many ? kInsertTypes.many : kInsertTypes.one, [many] {
			CheckEventColumns();
			return InsertSql(many);
		});
	}
	case PlanId::kFetchEvent:
	case PlanId::kFetchEvents: {
		const bool many = id == PlanId::kFetchEvents;
		static const Oid one[] = {UUIDOID};
		static const Oid array[] = {UUIDARRAYOID};
		return CachedPlanBuilt(id, 1, many ? array : one, [many] { return FetchEventSql(many); });
	}
	case PlanId::kClaimKeys: {
		static const Oid types[] = {TEXTARRAYOID, UUIDARRAYOID, TIMESTAMPTZOID};
		return CachedPlan(id, kClaimKeysSql, 3, types);
	}
	case PlanId::kLookupKeys: {
		static const Oid types[] = {TEXTARRAYOID};
		return CachedPlan(id, kLookupKeysSql, 1, types);
	}
	case PlanId::kStreamUpsert:
	case PlanId::kStreamUpdate: {
		static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, UUIDOID, INT8OID, TIMESTAMPTZOID};
		return CachedPlan(id, id == PlanId::kStreamUpdate ? kStreamUpdateSql : kStreamUpsertSql, 7, types);
	}
	case PlanId::kStreamUpsertMany: {
		static const Oid types[] = {TEXTARRAYOID,  TEXTARRAYOID, TEXTARRAYOID,  INT8ARRAYOID,
		                            UUIDARRAYOID,  INT8ARRAYOID, TIMESTAMPTZOID};
		return CachedPlan(id, kStreamUpsertManySql, 7, types);
	}
	default:
		elog(ERROR, "event: unexpected plan id");
	}
	return nullptr;
}

Datum TextOrNull(const char *s, bool *isnull) {
	*isnull = s == nullptr;
	return s == nullptr ? (Datum)0 : CStringGetTextDatum(s);
}

// Copies the event row tuple (with its status) of a fetch into out, allocated in result_cxt.
void LoadRecord(HeapTuple tuple, TupleDesc desc, EventRecord *out, MemoryContext result_cxt) {
	MemoryContext spi = MemoryContextSwitchTo(result_cxt);
	for (int i = 0; i < kEventColumns; i++) {
		Datum v = SPI_getbinval(tuple, desc, i + 1, &out->nulls[i]);
		Form_pg_attribute att = TupleDescAttr(desc, i);
		out->values[i] = out->nulls[i] ? (Datum)0 : datumCopy(v, att->attbyval, att->attlen);
	}
	bool isnull;
	char *status = SPI_getvalue(tuple, desc, kEventColumns + 1);
	out->status = status != nullptr ? pstrdup(status) : "pending";
	Datum attempts = SPI_getbinval(tuple, desc, kEventColumns + 2, &isnull);
	out->attempts = isnull ? 0 : DatumGetInt32(attempts);
	char *error = SPI_getvalue(tuple, desc, kEventColumns + 3);
	out->error = error != nullptr ? pstrdup(error) : nullptr;
	Datum processed = SPI_getbinval(tuple, desc, kEventColumns + 4, &isnull);
	out->has_processed_at = !isnull;
	out->processed_at = isnull ? 0 : DatumGetTimestampTz(processed);
	MemoryContextSwitchTo(spi);
}

// Loads the stored events ids[0..count) (with their status) into *recs[k], allocated in
// result_cxt; found[k] tells whether event k exists. One statement for all of them (a batch's
// redelivered ids, or the originals of its repeated keys), not one per item.
void FetchEvents(const pg_uuid_t *const *ids, int count, EventRecord *const *recs, bool *found,
                 MemoryContext result_cxt) {
	for (int k = 0; k < count; k++)
		found[k] = false;
	if (count == 0)
		return;
	Datum arg;
	SPIPlanPtr plan;
	if (count == 1) {
		arg = UUIDPGetDatum(const_cast<pg_uuid_t *>(ids[0]));
		plan = Plan(PlanId::kFetchEvent);
	} else {
		auto *elems = static_cast<Datum *>(palloc(sizeof(Datum) * count));
		for (int k = 0; k < count; k++)
			elems[k] = UUIDPGetDatum(const_cast<pg_uuid_t *>(ids[k]));
		const ColumnTypeInfo st = TypeInfo(core::ColumnType::kUuid);
		arg = PointerGetDatum(construct_array(elems, count, st.type, st.len, st.byval, st.align));
		pfree(elems);
		plan = Plan(PlanId::kFetchEvents);
	}
	// Not read-only: a fresh snapshot sees an original committed while we waited for its key.
	if (SPI_execute_plan(plan, &arg, nullptr, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "event: fetching events failed");
	TupleDesc desc = SPI_tuptable->tupdesc;
	for (uint64 r = 0; r < SPI_processed; r++) {
		HeapTuple tuple = SPI_tuptable->vals[r];
		bool isnull;
		const pg_uuid_t *id = DatumGetUUIDP(SPI_getbinval(tuple, desc, kColEventId + 1, &isnull));
		for (int k = 0; k < count; k++)
			if (!found[k] && memcmp(ids[k]->data, id->data, UUID_LEN) == 0) {
				LoadRecord(tuple, desc, recs[k], result_cxt);
				found[k] = true;
			}
	}
	SPI_freetuptable(SPI_tuptable);
}

// Per-call state lives in the frames of the call (never in file-level variables), so a nested
// write (a trigger or a user function that calls create_event while this call runs) cannot
// disturb it.

// Adds "batch item N" to errors raised while item *arg (an int, -1 = none) is processed.
void BatchItemContext(void *arg) {
	int item = *static_cast<const int *>(arg);
	if (item >= 0)
		errcontext("batch item %d", item);
}
// Runs body() (parsing or validating item i of a batch): any error it raises, ours (a
// core::SqlError, turned into a PostgreSQL error by Guard) or PostgreSQL's (an unknown source, a
// schema violation, ...), is raised again with "Batch item N." before its detail, so an HTTP
// client, which sees the detail but not the context, knows which item failed. Nothing with a
// destructor lives in this frame.
template <typename Body>
void NamingBatchItem(int i, Body body) {
	MemoryContext caller = CurrentMemoryContext;
	PG_TRY();
	{
		Guard(body);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		ErrorData *edata = CopyErrorData();
		FlushErrorState();
		edata->detail = edata->detail ? psprintf("Batch item %d. %s", i, edata->detail) : psprintf("Batch item %d.", i);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

// Sort helpers (qsort_arg, arg = the items): by idempotency key, and by stream id then request order.
int CompareByKey(const void *a, const void *b, void *arg) {
	const auto *items = static_cast<const EventInput *>(arg);
	int x = *static_cast<const int *>(a), y = *static_cast<const int *>(b);
	int c = strcmp(items[x].idempotency_key, items[y].idempotency_key);
	return c != 0 ? c : x - y; // a key repeated in the batch belongs to its first item
}
int CompareByStream(const void *a, const void *b, void *arg) {
	const auto *items = static_cast<const EventInput *>(arg);
	int x = *static_cast<const int *>(a), y = *static_cast<const int *>(b);
	int c = strcmp(items[x].stream_id, items[y].stream_id);
	return c != 0 ? c : x - y;
}

[[noreturn]] void RaiseWrongVersion(const char *stream_id, Expect expect, int64 expected, int64 actual) {
	char want[64];
	if (expect == Expect::kNoStream)
		snprintf(want, sizeof(want), "no stream");
	else
		snprintf(want, sizeof(want), "version %lld", static_cast<long long>(expected));
	ereport(ERROR, (errcode(SqlState(core::kWrongExpectedVersion)),
	                errmsg("wrong expected version for stream \"%s\"", stream_id),
	                errdetail("stream=%s expected=%s actual=%lld: the stream is at version %lld, expected %s.",
	                          stream_id, expect == Expect::kNoStream ? "no_stream" : want + 8,
	                          static_cast<long long>(actual), static_cast<long long>(actual), want),
	                errhint("Read the stream, decide again, and retry with its current version.")));
}

// Runs one of the write path's INSERTs into event.events with write_path_inserting raised, so the
// statement trigger events_insert_via_functions (immutability.cpp) lets it pass. The previous value
// is restored rather than decremented: an error longjmps past the restore, and the (sub)transaction
// abort callbacks in module.cpp reset the flag; an outer insert whose nested write failed in a
// savepoint still gets its own value back.
int ExecuteEventInsert(SPIPlanPtr plan, Datum *values, const char *nulls) {
	const int saved = write_path_inserting;
	write_path_inserting = saved + 1;
	int rc = SPI_execute_plan(plan, values, nulls, false, 0);
	write_path_inserting = saved;
	return rc;
}

// Stores items in[0..n) atomically (the caller's transaction or subtransaction). SPI must be
// connected. Fills out[i] for every item (originals of duplicates are copied into result_cxt);
// raises on the first invalid item.
void StoreBatch(EventInput *in, EventOutcome *out, int n, MemoryContext result_cxt) {
	int current_item = -1;
	ErrorContextCallback item_context;
	item_context.callback = BatchItemContext;
	item_context.arg = &current_item;
	item_context.previous = error_context_stack;
	if (n > 1)
		error_context_stack = &item_context;
	for (int i = 0; i < n; i++) {
		current_item = n > 1 ? i : -1;
		if (n == 1)
			Validate(&in[i]);
		else
			NamingBatchItem(i, [&in, i] { Validate(&in[i]); });
	}
	current_item = -1;
	error_context_stack = item_context.previous;

	TimestampTz now = GetCurrentTimestamp();
	for (int i = 0; i < n; i++) {
		EventRecord &r = out[i].record;
		out[i].duplicate = false;
		out[i].duplicate_of = -1;
		auto *id = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
		*id = in[i].has_event_id ? in[i].event_id : NewEventId();
		EnsurePartitionFor(UuidMillis(*id));
		r.values[kColEventId] = UUIDPGetDatum(id);
		r.nulls[kColEventId] = false;
		r.status = "pending";
		r.attempts = 0;
		r.error = nullptr;
		r.has_processed_at = false;
		r.processed_at = 0;
	}

	// 0. Caller-given event ids: an id stored already (or earlier in this batch) is a duplicate
	//    that stores nothing, like a repeated idempotency key (a redelivered frontend event).
	//    The ids not repeated within the batch are looked up in one statement.
	int *order = static_cast<int *>(palloc(sizeof(int) * (n + 1)));
	auto *ids = static_cast<const pg_uuid_t **>(palloc(sizeof(pg_uuid_t *) * (n + 1)));
	auto *recs = static_cast<EventRecord **>(palloc(sizeof(EventRecord *) * (n + 1)));
	bool *found = static_cast<bool *>(palloc(sizeof(bool) * (n + 1)));
	int wanted = 0;
	for (int i = 0; i < n; i++) {
		if (!in[i].has_event_id)
			continue;
		for (int j = 0; j < i && !out[i].duplicate; j++)
			if (in[j].has_event_id && !out[j].duplicate &&
			    memcmp(in[j].event_id.data, in[i].event_id.data, UUID_LEN) == 0) {
				out[i].duplicate = true;
				out[i].duplicate_of = j;
			}
		if (!out[i].duplicate) {
			order[wanted] = i;
			ids[wanted] = &in[i].event_id;
			recs[wanted++] = &out[i].record;
		}
	}
	FetchEvents(ids, wanted, recs, found, result_cxt);
	for (int k = 0; k < wanted; k++)
		if (found[k])
			out[order[k]].duplicate = true;

	// 1. Idempotency keys, claimed in key order (two batches never wait on each other in a cycle),
	//    all in one INSERT; a key not claimed belongs to an earlier event, looked up (with the
	//    originals not in this batch) in one statement each. An ingested event's key names its
	//    event_id, checked in step 0 (and by the primary key against a concurrent writer).
	int keyed = 0;
	for (int i = 0; i < n; i++)
		if (in[i].idempotency_key != nullptr && !in[i].ingested && !out[i].duplicate)
			order[keyed++] = i;
	qsort_arg(order, keyed, sizeof(int), CompareByKey, in);
	if (keyed > 0) {
		auto *keys = static_cast<Datum *>(palloc(sizeof(Datum) * keyed));
		auto *key_ids = static_cast<Datum *>(palloc(sizeof(Datum) * keyed));
		for (int k = 0; k < keyed; k++) {
			keys[k] = CStringGetTextDatum(in[order[k]].idempotency_key);
			key_ids[k] = out[order[k]].record.values[kColEventId];
		}
		const ColumnTypeInfo tt = TypeInfo(core::ColumnType::kText), ut = TypeInfo(core::ColumnType::kUuid);
		Datum args[3] = {PointerGetDatum(construct_array(keys, keyed, tt.type, tt.len, tt.byval, tt.align)),
		                 PointerGetDatum(construct_array(key_ids, keyed, ut.type, ut.len, ut.byval, ut.align)),
		                 TimestampTzGetDatum(now)};
		if (SPI_execute_plan(Plan(PlanId::kClaimKeys), args, nullptr, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "event: claiming idempotency keys failed");
		// RETURNING follows the input order: the claimed items are a subsequence of order[].
		uint64 r = 0;
		int unclaimed = 0;
		for (int k = 0; k < keyed; k++) {
			bool isnull;
			const int i = order[k];
			if (r < SPI_processed &&
			    memcmp(DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull))->data,
			           DatumGetUUIDP(out[i].record.values[kColEventId])->data, UUID_LEN) == 0) {
				r++;
				continue;
			}
			out[i].duplicate = true;
			order[unclaimed++] = i;
		}
		if (r != SPI_processed)
			elog(ERROR, "event: idempotency key claims returned rows out of order");
		SPI_freetuptable(SPI_tuptable);
		if (unclaimed > 0) {
			// The original event of each unclaimed key: in this batch (duplicate_of) or fetched.
			for (int k = 0; k < unclaimed; k++)
				keys[k] = CStringGetTextDatum(in[order[k]].idempotency_key);
			Datum keys_arg = PointerGetDatum(construct_array(keys, unclaimed, tt.type, tt.len, tt.byval, tt.align));
			if (SPI_execute_plan(Plan(PlanId::kLookupKeys), &keys_arg, nullptr, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "event: looking up idempotency keys failed");
			SPITupleTable *table = SPI_tuptable;
			const uint64 rows = SPI_processed;
			auto **row_keys = static_cast<char **>(palloc(sizeof(char *) * (rows + 1)));
			for (uint64 row = 0; row < rows; row++)
				row_keys[row] = SPI_getvalue(table->vals[row], table->tupdesc, 1);
			wanted = 0;
			for (int k = 0; k < unclaimed; k++) {
				const int i = order[k];
				const pg_uuid_t *original = nullptr;
				for (uint64 row = 0; row < rows && original == nullptr; row++) {
					bool isnull;
					if (strcmp(row_keys[row], in[i].idempotency_key) == 0)
						original = DatumGetUUIDP(SPI_getbinval(table->vals[row], table->tupdesc, 2, &isnull));
				}
				if (original == nullptr)
					elog(ERROR, "event: idempotency key \"%s\" vanished", in[i].idempotency_key);
				for (int j = 0; j < n; j++)
					if (j != i && !out[j].duplicate &&
					    memcmp(DatumGetUUIDP(out[j].record.values[kColEventId])->data, original->data, UUID_LEN) == 0)
						out[i].duplicate_of = j;
				if (out[i].duplicate_of < 0) {
					auto *copy = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
					*copy = *original;
					order[wanted] = i; // k <= wanted is read already
					ids[wanted] = copy;
					recs[wanted++] = &out[i].record;
				}
			}
			SPI_freetuptable(table);
			FetchEvents(ids, wanted, recs, found, result_cxt);
			for (int k = 0; k < wanted; k++)
				if (!found[k])
					ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					                errmsg("idempotency key \"%s\" belongs to an event that no longer exists",
					                       in[order[k]].idempotency_key),
					                errdetail("The original event was removed, probably by retention."),
					                errhint("Use a new idempotency key.")));
		}
		pfree(keys);
		pfree(key_ids);
	}
	pfree(ids);
	pfree(recs);
	pfree(found);

	// 2. Stream locks, then positions in request order. A writer takes its positions only once
	//    it holds the lock of each of its streams, which the previous writer of the stream
	//    released at its end: position order is version order in every stream (the version
	//    itself comes from the stream row in step 3, locked by the same writers).
	int streamed = 0;
	for (int i = 0; i < n; i++)
		if (!out[i].duplicate && in[i].stream_id != nullptr)
			order[streamed++] = i;
	qsort_arg(order, streamed, sizeof(int), CompareByStream, in);
	for (int g = 0; g < streamed; g++)
		if (g == 0 || strcmp(in[order[g]].stream_id, in[order[g - 1]].stream_id) != 0)
			LockStreamOrder(in[order[g]].stream_id);
	for (int i = 0; i < n; i++) {
		if (out[i].duplicate)
			continue;
		out[i].record.values[kColPosition] = Int64GetDatum(NextPosition());
		out[i].record.nulls[kColPosition] = false;
	}

	// 3. Streams, upserted in stream_id order (one statement for all of them); versions assigned
	//    in request order.
	int groups = 0;
	int *group_start = static_cast<int *>(palloc(sizeof(int) * (streamed + 1)));
	for (int g = 0; g < streamed; g++)
		if (g == 0 || strcmp(in[order[g]].stream_id, in[order[g - 1]].stream_id) != 0)
			group_start[groups++] = g;
	group_start[groups] = streamed;
	if (groups > 0) {
		Datum cols[6][1];
		Datum *col[6];
		for (int c = 0; c < 6; c++)
			col[c] = groups == 1 ? cols[c] : static_cast<Datum *>(palloc(sizeof(Datum) * groups));
		for (int k = 0; k < groups; k++) {
			const EventInput &first = in[order[group_start[k]]];
			const EventOutcome &last = out[order[group_start[k + 1] - 1]];
			col[0][k] = CStringGetTextDatum(first.stream_id);
			col[1][k] = PointerGetDatum(cstring_to_text_with_len(first.stream_id, first.entity_type_len));
			col[2][k] = CStringGetTextDatum(first.stream_id + first.entity_type_len + 1);
			col[3][k] = Int64GetDatum(group_start[k + 1] - group_start[k]);
			col[4][k] = last.record.values[kColEventId];
			col[5][k] = last.record.values[kColPosition];
		}
		Datum args[7];
		static constexpr core::ColumnType kElemTypes[6] = {core::ColumnType::kText,   core::ColumnType::kText,
		                                                   core::ColumnType::kText,   core::ColumnType::kBigint,
		                                                   core::ColumnType::kUuid,   core::ColumnType::kBigint};
		for (int c = 0; c < 6; c++) {
			const ColumnTypeInfo st = TypeInfo(kElemTypes[c]);
			args[c] = groups == 1 ? col[c][0]
			                      : PointerGetDatum(construct_array(col[c], groups, st.type, st.len, st.byval, st.align));
		}
		args[6] = TimestampTzGetDatum(now);
		// One stream: update the head if it exists (the usual case: without an executor run,
		// direct_insert.cpp, else by the SPI UPDATE), else upsert it (a new stream, or one
		// created concurrently after the update found none).
		int64 direct_version = -1;
		StreamUpdate direct = StreamUpdate::kFallback;
		if (groups == 1)
			direct = UpdateStreamDirect(in[order[0]].stream_id, streamed, col[4][0], col[5][0], now, &direct_version);
		bool updated = direct == StreamUpdate::kUpdated;
		if (groups == 1 && direct == StreamUpdate::kFallback)
			updated = SPI_execute_plan(Plan(PlanId::kStreamUpdate), args, nullptr, false, 0) == SPI_OK_UPDATE_RETURNING &&
			          SPI_processed == 1;
		if (!updated) {
			direct = StreamUpdate::kFallback;
			SPIPlanPtr plan = Plan(groups == 1 ? PlanId::kStreamUpsert : PlanId::kStreamUpsertMany);
			if (SPI_execute_plan(plan, args, nullptr, false, 0) != SPI_OK_INSERT_RETURNING ||
			    SPI_processed != static_cast<uint64>(groups))
				elog(ERROR, "event: stream upsert failed");
		}
		for (int k = 0; k < groups; k++) {
			int64 version = direct_version;
			if (direct != StreamUpdate::kUpdated) {
				bool isnull;
				// RETURNING follows the input order (sorted stream ids); checked, not assumed.
				char *returned = SPI_getvalue(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1);
				if (returned == nullptr || strcmp(returned, in[order[group_start[k]]].stream_id) != 0)
					elog(ERROR, "event: stream upsert returned rows out of order");
				version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));
			}
			int64 current = version - (group_start[k + 1] - group_start[k]);
			for (int g = group_start[k]; g < group_start[k + 1]; g++) {
				const EventInput &item = in[order[g]];
				if ((item.expect == Expect::kNoStream && current != 0) ||
				    (item.expect == Expect::kExact && current != item.expected_version))
					RaiseWrongVersion(item.stream_id, item.expect, item.expected_version, current);
				current++;
				out[order[g]].record.values[kColStreamVersion] = Int64GetDatum(current);
			}
		}
	}
	pfree(group_start);

	// 4. Rows, in request order: straight into their partitions (direct_insert.cpp: one heap
	//    multi-insert for a batch), or else one INSERT through SPI (of arrays for a batch).
	int stored = 0;
	for (int i = 0; i < n; i++) {
		if (out[i].duplicate)
			continue;
		EventRecord &r = out[i].record;
		const EventInput &item = in[i];
		r.values[kColEventType] = TextOrNull(item.event_type, &r.nulls[kColEventType]);
		r.values[kColEventSource] = TextOrNull(item.event_source, &r.nulls[kColEventSource]);
		r.values[kColEventCategory] = TextOrNull(item.event_category, &r.nulls[kColEventCategory]);
		r.values[kColUserId] = TextOrNull(item.user_id, &r.nulls[kColUserId]);
		r.values[kColStreamId] = TextOrNull(item.stream_id, &r.nulls[kColStreamId]);
		r.nulls[kColStreamVersion] = item.stream_id == nullptr;
		if (r.nulls[kColStreamVersion])
			r.values[kColStreamVersion] = (Datum)0;
		r.values[kColData] = JsonbPGetDatum(item.data);
		r.values[kColMetadata] = JsonbPGetDatum(item.metadata);
		r.values[kColContext] = JsonbPGetDatum(item.context);
		r.nulls[kColData] = r.nulls[kColMetadata] = r.nulls[kColContext] = false;
		r.values[kColIdempotencyKey] = TextOrNull(item.idempotency_key, &r.nulls[kColIdempotencyKey]);
		r.values[kColTimestamp] = TimestampTzGetDatum(item.has_timestamp ? item.timestamp : now);
		r.values[kColCreatedAt] = TimestampTzGetDatum(now);
		r.nulls[kColTimestamp] = r.nulls[kColCreatedAt] = false;
		order[stored++] = i;
	}
	auto **records = static_cast<const EventRecord **>(palloc(sizeof(EventRecord *) * (stored + 1)));
	for (int k = 0; k < stored; k++)
		records[k] = &out[order[k]].record;
	const bool through_spi = stored > 0 && !InsertEventsDirect(records, stored);
	if (through_spi && stored == 1) {
		const EventRecord &r = *records[0];
		char nulls[kEventColumns];
		for (int c = 0; c < kEventColumns; c++)
			nulls[c] = r.nulls[c] ? 'n' : ' ';
		if (ExecuteEventInsert(Plan(PlanId::kInsertEvent), const_cast<Datum *>(r.values), nulls) != SPI_OK_INSERT)
			elog(ERROR, "event: inserting event failed");
	} else if (through_spi) {
		Datum arrays[kEventColumns];
		auto *elems = static_cast<Datum *>(palloc(sizeof(Datum) * stored));
		auto *elem_nulls = static_cast<bool *>(palloc(sizeof(bool) * stored));
		for (int c = 0; c < kEventColumns; c++) {
			for (int k = 0; k < stored; k++) {
				elems[k] = records[k]->values[c];
				elem_nulls[k] = records[k]->nulls[c];
			}
			int dims[1] = {stored};
			int lbs[1] = {1};
			const ColumnTypeInfo st = EventColumnType(c);
			arrays[c] = PointerGetDatum(
				construct_md_array(elems, elem_nulls, 1, dims, lbs, st.type, st.len, st.byval, st.align));
		}
		pfree(elems);
		pfree(elem_nulls);
		if (ExecuteEventInsert(Plan(PlanId::kInsertEvents), arrays, nullptr) != SPI_OK_INSERT ||
		    SPI_processed != static_cast<uint64>(stored))
			elog(ERROR, "event: inserting events failed");
		for (int c = 0; c < kEventColumns; c++)
			pfree(DatumGetPointer(arrays[c]));
	}

	// 5. Projections of the appended entity types, still under the stream locks (projections.cpp).
	if (stored > 0 && HasProjections())
		ApplyProjections(records, stored);
	pfree(records);
	pfree(order);
}

//
// Parsing
//

void InitInput(EventInput *in) {
	memset(in, 0, sizeof(*in));
	in->event_source = pstrdup("backend");
	in->event_category = pstrdup("user_action");
	in->expect = Expect::kAny;
	in->data = in->metadata = in->context = nullptr;
}

// The empty object {}, built once per backend (read-only, shared by every default).
Jsonb *EmptyObject() {
	static Jsonb *empty = nullptr;
	if (empty == nullptr) {
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		Jsonb *built = JsonbBuilder::EmptyObject();
		MemoryContextSwitchTo(old);
		empty = built;
	}
	return empty;
}

void FillDefaults(EventInput *in) {
	if (in->data == nullptr)
		in->data = EmptyObject();
	if (in->metadata == nullptr)
		in->metadata = EmptyObject();
	if (in->context == nullptr)
		in->context = EmptyObject();
}

void SetExpected(EventInput *in, const core::ExpectedVersion &expected) {
	switch (expected.kind) {
	case core::ExpectedVersion::Kind::Any:
		in->expect = Expect::kAny;
		break;
	case core::ExpectedVersion::Kind::NoStream:
		in->expect = Expect::kNoStream;
		break;
	case core::ExpectedVersion::Kind::Exact:
		in->expect = Expect::kExact;
		in->expected_version = expected.version;
		break;
	}
}

void SetExpectedFromInt(EventInput *in, int64 value) {
	SetExpected(in, core::ExpectedVersionFromInt(value));
}

void SetExpectedFromText(EventInput *in, const char *value) {
	SetExpected(in, core::ParseExpectedVersion(value));
}

[[noreturn]] void RaiseFieldType(const char *field, const char *expected) {
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("field \"%s\" must be %s", field, expected),
	                errhint("See EventCreateRequest in docs/sql-api.md.")));
}

char *StringValue(const char *field, const JsonbValue &v, bool allow_number) {
	if (v.type == jbvNull)
		return nullptr;
	if (v.type == jbvString)
		return pnstrdup(v.val.string.val, v.val.string.len);
	if (allow_number && v.type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
	RaiseFieldType(field, allow_number ? "a string or a number" : "a string");
}

Jsonb *ObjectValue(const char *field, const JsonbValue &v) {
	if (v.type == jbvNull)
		return nullptr;
	if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
		RaiseFieldType(field, "a JSON object");
	return JsonbValueToJsonb(const_cast<JsonbValue *>(&v));
}

const char kAllowedFields[] = "event_type, event_source, event_category, user_id, data, metadata, context, "
                              "timestamp, stream_id, entity_type, entity_id, expected_version, idempotency_key, event_id";

// Parses one EventCreateRequest object. allow_stream: whether stream fields may be given.
void ParseRequest(Jsonb *request, EventInput *in, bool allow_stream) {
	InitInput(in);
	if (!JB_ROOT_IS_OBJECT(request) || JB_ROOT_IS_SCALAR(request))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("event request must be a JSON object"),
		                errhint("Send {\"event_type\": \"...\", \"data\": {...}}.")));
	char *entity_type = nullptr;
	char *entity_id = nullptr;
	bool has_stream_id = false;
	JsonbIterator *it = JsonbIteratorInit(&request->root);
	JsonbValue v;
	JsonbIteratorToken token = JsonbIteratorNext(&it, &v, true);
	while ((token = JsonbIteratorNext(&it, &v, true)) == WJB_KEY) {
		char *key = pnstrdup(v.val.string.val, v.val.string.len);
		token = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "event_type") == 0) {
			in->event_type = StringValue(key, v, false);
		} else if (strcmp(key, "event_source") == 0) {
			in->event_source = StringValue(key, v, false);
		} else if (strcmp(key, "event_category") == 0) {
			in->event_category = StringValue(key, v, false);
		} else if (strcmp(key, "user_id") == 0) {
			in->user_id = StringValue(key, v, true);
		} else if (strcmp(key, "data") == 0) {
			in->data = ObjectValue(key, v);
		} else if (strcmp(key, "metadata") == 0) {
			in->metadata = ObjectValue(key, v);
		} else if (strcmp(key, "context") == 0) {
			in->context = ObjectValue(key, v);
		} else if (strcmp(key, "timestamp") == 0) {
			char *ts = StringValue(key, v, false);
			if (ts != nullptr) {
				in->has_timestamp = true;
				in->timestamp = DatumGetTimestampTz(
					DirectFunctionCall3(timestamptz_in, CStringGetDatum(ts), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
			}
		} else if (allow_stream && strcmp(key, "stream_id") == 0) {
			in->stream_id = StringValue(key, v, false);
			has_stream_id = in->stream_id != nullptr;
		} else if (allow_stream && strcmp(key, "entity_type") == 0) {
			entity_type = StringValue(key, v, false);
		} else if (allow_stream && strcmp(key, "entity_id") == 0) {
			entity_id = StringValue(key, v, true);
		} else if (allow_stream && strcmp(key, "expected_version") == 0) {
			if (v.type == jbvNumeric)
				SetExpected(in, core::ExpectedVersionFromJsonNumber(DatumGetCString(
									DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)))));
			else if (v.type == jbvString)
				SetExpectedFromText(in, pnstrdup(v.val.string.val, v.val.string.len));
			else if (v.type != jbvNull)
				RaiseFieldType(key, "an integer, \"any\" or \"no_stream\"");
		} else if (strcmp(key, "idempotency_key") == 0) {
			in->idempotency_key = StringValue(key, v, false);
		} else if (strcmp(key, "event_id") == 0) {
			char *text = StringValue(key, v, false);
			if (text != nullptr) {
				std::optional<core::Uuid> id = core::ParseUuid(text);
				if (!id || core::UuidVersion(*id) != 7 || !core::HasRfcVariant(*id))
					throw core::SqlError("22023", "invalid event_id \"" + core::DisplayValue(text) + "\"",
					                     "A caller-given event_id must be a UUID version 7.",
					                     "Omit event_id to let the database make one.");
				in->has_event_id = true;
				memcpy(in->event_id.data, id->bytes.data(), UUID_LEN);
			}
		} else {
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown field \"%s\" in event request", key),
			                errhint(allow_stream ? "Allowed fields: %s." : "Allowed fields: %s (stream fields come from "
			                                                                "the call).",
			                        kAllowedFields)));
		}
	}
	if (entity_type != nullptr || entity_id != nullptr) {
		if (entity_type == nullptr || entity_id == nullptr)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("entity_type and entity_id go together"),
			                errhint("Pass both, or stream_id \"{entity_type}:{entity_id}\".")));
		core::ValidateEntityType(entity_type);
		char *built = psprintf("%s:%s", entity_type, entity_id);
		if (has_stream_id && strcmp(built, in->stream_id) != 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("stream_id \"%s\" does not match entity_type and entity_id", in->stream_id),
			                errhint("Pass either stream_id or entity_type and entity_id.")));
		in->stream_id = built;
	}
	FillDefaults(in);
}

// Builds the event.events row of a record for the function's result type.
HeapTuple RecordTuple(const EventRecord &r, TupleDesc desc) {
	return heap_form_tuple(desc, const_cast<Datum *>(r.values), const_cast<bool *>(r.nulls));
}

const EventRecord &ResultRecord(const EventOutcome *out, int i) {
	return out[i].duplicate_of >= 0 ? out[out[i].duplicate_of].record : out[i].record;
}

// The i-th element of a jsonb array as a Jsonb (object check done by ParseRequest).
// A scalar element becomes a scalar jsonb, which ParseRequest rejects as "not an object".
Jsonb *Element(Jsonb *array, int i) {
	return JsonbValueToJsonb(getIthJsonbValueFromContainer(&array->root, i));
}

// Runs store() (which parses and stores) inside an internal subtransaction; false (with err
// filled) if it failed, in which case nothing of it remains.
template <typename Store>
bool RunIsolated(Store store, ItemError *err, MemoryContext result_cxt) {
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(caller);
	bool ok = true;
	PG_TRY();
	{
		try {
			store();
		} catch (const core::SqlError &e) {
			// Copy into plain buffers first; PostgreSQL is called only after the handler.
			ok = false;
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", e.sqlstate().c_str());
			err->message = strdup(e.message().c_str());
			err->detail = e.detail().empty() ? nullptr : strdup(e.detail().c_str());
			err->hint = e.hint().empty() ? nullptr : strdup(e.hint().c_str());
		}
		if (ok) {
			ReleaseCurrentSubTransaction();
		} else {
			char *m = err->message, *d = err->detail, *h = err->hint;
			err->message = MemoryContextStrdup(result_cxt, m);
			err->detail = d ? MemoryContextStrdup(result_cxt, d) : nullptr;
			err->hint = h ? MemoryContextStrdup(result_cxt, h) : nullptr;
			free(m);
			free(d);
			free(h);
			RollbackAndReleaseCurrentSubTransaction();
		}
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(result_cxt);
		ErrorData *edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		ok = false;
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", unpack_sql_state(edata->sqlerrcode));
		err->message = edata->message;
		err->detail = edata->detail;
		err->hint = edata->hint;
	}
	PG_END_TRY();
	return ok;
}

// One item of a non-atomic batch, isolated. A caller-given event_id that a concurrent
// transaction stored meanwhile fails the primary key (23505) only once that transaction has
// ended; tried again, the item's lookup (a new snapshot) finds the event and answers it as a
// duplicate, as for a redelivery (or stores it, if that transaction rolled back).
bool StoreOneIsolated(Jsonb *request, EventInput *in, EventOutcome *out, ItemError *err, MemoryContext result_cxt) {
	constexpr int kTries = 3;
	for (int attempt = 1;; attempt++) {
		if (RunIsolated(
				[&] {
					ParseRequest(request, in, true);
					StoreBatch(in, out, 1, result_cxt);
				},
				err, result_cxt))
			return true;
		if (attempt == kTries || !in->has_event_id || strcmp(err->sqlstate, "23505") != 0)
			return false;
	}
}

// A whole non-atomic batch tried at once in one subtransaction (one StoreBatch: set-based
// lookups, one INSERT): false if any item failed, and then nothing of the batch remains and each
// item is stored on its own (StoreOneIsolated), so a bad item costs the batch one retry.
bool StoreAllIsolated(Jsonb *requests, EventInput *items, EventOutcome *outs, int n, MemoryContext result_cxt) {
	ItemError ignored;
	return RunIsolated(
		[&] {
			for (int i = 0; i < n; i++)
				ParseRequest(Element(requests, i), &items[i], true);
			StoreBatch(items, outs, n, result_cxt);
		},
		&ignored, result_cxt);
}

Jsonb *ErrorJson(int index, const ItemError &err) {
	JsonbBuilder b;
	b.BeginObject();
	b.AddInt("index", index);
	b.AddString("status", "error");
	b.Key("error");
	b.BeginObject();
	b.AddString("code", err.sqlstate);
	b.AddString("message", err.message);
	b.AddString("detail", err.detail);
	b.AddString("hint", err.hint);
	b.EndObject();
	b.EndObject();
	return b.Finish();
}

// {"index": i, "status": "created"|"duplicate", "event": {...}}
Jsonb *ItemJson(int index, const EventOutcome &out, Jsonb *event) {
	JsonbBuilder b;
	b.BeginObject();
	b.AddInt("index", index);
	b.AddString("status", out.duplicate ? "duplicate" : "created");
	b.AddJsonb("event", event);
	b.EndObject();
	return b.Finish();
}

// The same pushed into an enclosing array being built.
void PushItemJson(JsonbParseState **state, int index, bool duplicate, const EventRecord &record) {
	JsonbBuilder b(state);
	b.BeginObject();
	b.AddInt("index", index);
	b.AddString("status", duplicate ? "duplicate" : "created");
	b.Key("event");
	PushEventRecord(state, record);
	b.EndObject();
}

Jsonb *ArrayOf(Jsonb **items, int n) {
	JsonbBuilder b;
	b.BeginArray();
	for (int i = 0; i < n; i++)
		b.Element(items[i]);
	b.EndArray();
	return b.Finish();
}

// Connects to SPI; returns the caller's memory context, where the call's results live.
MemoryContext Connect() {
	MemoryContext result_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	return result_cxt;
}

// Copies a record's by-reference datums out of SPI memory into the current context.
void DetachRecord(EventRecord *r) {
	for (int c = 0; c < kEventColumns; c++)
		if (!r->nulls[c] && !EventColumnType(c).byval)
			r->values[c] = datumCopy(r->values[c], false, EventColumnType(c).len);
	r->status = pstrdup(r->status);
	if (r->error != nullptr)
		r->error = pstrdup(r->error);
}

// Parses a jsonb array of requests (size-checked).
int ParseArray(Jsonb *requests, EventInput **items_out, const char *what) {
	if (!JB_ROOT_IS_ARRAY(requests) || JB_ROOT_IS_SCALAR(requests))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a JSON array", what),
		                errhint("Send [{\"event_type\": ...}, ...].")));
	int n = static_cast<int>(JB_ROOT_COUNT(requests));
	if (n == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be empty", what),
		                errhint("Send at least one event.")));
	if (n > max_batch_size)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("batch is too large"),
		                errdetail("The batch has %d events; the limit is %d.", n, max_batch_size),
		                errhint("Split the batch, or raise event.max_batch_size.")));
	*items_out = static_cast<EventInput *>(palloc0(sizeof(EventInput) * n));
	return n;
}

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.create_event(event_type, data, event_source, ...): one event, returned as a row.
EVENT_FUNCTION(event_create_event) {
	EventInput in;
	InitInput(&in);
	in.event_type = PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
	in.data = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
	in.event_source = PG_ARGISNULL(2) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(2));
	in.event_category = PG_ARGISNULL(3) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(3));
	in.user_id = PG_ARGISNULL(4) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(4));
	in.stream_id = PG_ARGISNULL(5) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (!PG_ARGISNULL(6))
		SetExpectedFromInt(&in, PG_GETARG_INT64(6));
	in.metadata = PG_ARGISNULL(7) ? nullptr : PG_GETARG_JSONB_P(7);
	in.context = PG_ARGISNULL(8) ? nullptr : PG_GETARG_JSONB_P(8);
	in.has_timestamp = !PG_ARGISNULL(9);
	in.timestamp = in.has_timestamp ? PG_GETARG_TIMESTAMPTZ(9) : 0;
	in.idempotency_key = PG_ARGISNULL(10) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(10));
	FillDefaults(&in);

	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "event: create_event must return a composite type");
	desc = BlessTupleDesc(desc);

	EventOutcome out;
	MemoryContext result_cxt = Connect();
	StoreBatch(&in, &out, 1, result_cxt);
	MemoryContext spi = MemoryContextSwitchTo(result_cxt);
	DetachRecord(&out.record);
	HeapTuple tuple = RecordTuple(out.record, desc);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return HeapTupleGetDatum(tuple);
}

// event.create_event_json(request): one event from an EventCreateRequest; returns EventResponse.
EVENT_FUNCTION(event_create_event_json) {
	Jsonb *request = PG_GETARG_JSONB_P(0);
	EventInput in;
	ParseRequest(request, &in, true);
	EventOutcome out;
	MemoryContext result_cxt = Connect();
	StoreBatch(&in, &out, 1, result_cxt);
	MemoryContext spi = MemoryContextSwitchTo(result_cxt);
	Jsonb *result = EventRecordToJsonb(out.record);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}

// event.create_events(requests, atomic): a batch. Atomic: all or nothing, an array of
// EventResponse. Not atomic: per-item results {"index", "status", "event" | "error"}.
EVENT_FUNCTION(event_create_events) {
	Jsonb *requests = PG_GETARG_JSONB_P(0);
	bool atomic = PG_GETARG_BOOL(1);
	EventInput *items;
	int n = ParseArray(requests, &items, "requests");
	auto *outs = static_cast<EventOutcome *>(palloc0(sizeof(EventOutcome) * n));
	auto *results = static_cast<Jsonb **>(palloc0(sizeof(Jsonb *) * n));
	MemoryContext result_cxt = CurrentMemoryContext;

	if (atomic) {
		int current_item = -1;
		ErrorContextCallback item_context{error_context_stack, BatchItemContext, &current_item};
		error_context_stack = &item_context;
		for (int i = 0; i < n; i++) {
			current_item = i;
			NamingBatchItem(i, [&] { ParseRequest(Element(requests, i), &items[i], true); });
		}
		error_context_stack = item_context.previous;
		(void)Connect();
		StoreBatch(items, outs, n, result_cxt);
		MemoryContextSwitchTo(result_cxt);
		// One array built in one parse state (no per-item serialisation and re-reading).
		JsonbParseState *state = nullptr;
		JsonbBuilder array_builder(&state);
		array_builder.BeginArray();
		for (int i = 0; i < n; i++)
			PushEventRecord(&state, ResultRecord(outs, i));
		array_builder.EndArray();
		Jsonb *array = array_builder.Finish();
		SPI_finish();
		PG_RETURN_JSONB_P(array);
	} else {
		(void)Connect();
		MemoryContext item_cxt = AllocSetContextCreate(result_cxt, "event batch item", ALLOCSET_DEFAULT_SIZES);
		MemoryContextSwitchTo(item_cxt);
		if (n > 1 && StoreAllIsolated(requests, items, outs, n, result_cxt)) {
			// Every item stored: the result built in one parse state, like the atomic one.
			MemoryContextSwitchTo(result_cxt);
			JsonbParseState *state = nullptr;
			JsonbBuilder array_builder(&state);
			array_builder.BeginArray();
			for (int i = 0; i < n; i++)
				PushItemJson(&state, i, outs[i].duplicate, ResultRecord(outs, i));
			array_builder.EndArray();
			Jsonb *array = array_builder.Finish();
			SPI_finish();
			PG_RETURN_JSONB_P(array);
		}
		MemoryContextReset(item_cxt);
		for (int i = 0; i < n; i++) {
			ItemError err;
			MemoryContextSwitchTo(item_cxt);
			bool ok = StoreOneIsolated(Element(requests, i), &items[i], &outs[i], &err, result_cxt);
			MemoryContextSwitchTo(result_cxt);
			if (ok) {
				DetachRecord(&outs[i].record);
				results[i] = ItemJson(i, outs[i], EventRecordToJsonb(outs[i].record));
			} else {
				results[i] = ErrorJson(i, err);
			}
			MemoryContextReset(item_cxt);
		}
	}
	MemoryContextSwitchTo(result_cxt);
	Jsonb *result = ArrayOf(results, n);
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}

// event.append_to_stream(stream_id, events, expected_version): events appended to one stream
// if it is at expected_version (NULL any, 0 no stream); raises EV001 otherwise.
EVENT_FUNCTION(event_append_to_stream) {
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("stream_id must not be null"),
		                errhint("Streams are named \"{entity_type}:{entity_id}\".")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("events must not be null"),
		                errhint("Send a JSON array of event requests.")));
	char *stream_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb *events = PG_GETARG_JSONB_P(1);
	EventInput *items;
	int n = ParseArray(events, &items, "events");
	EventInput first_expect;
	InitInput(&first_expect);
	if (!PG_ARGISNULL(2))
		SetExpectedFromInt(&first_expect, PG_GETARG_INT64(2));
	for (int i = 0; i < n; i++) {
		ParseRequest(Element(events, i), &items[i], false);
		items[i].stream_id = stream_id;
		if (first_expect.expect == Expect::kAny) {
			items[i].expect = Expect::kAny;
		} else {
			items[i].expect = i == 0 ? first_expect.expect : Expect::kExact;
			items[i].expected_version =
				(first_expect.expect == Expect::kNoStream ? 0 : first_expect.expected_version) + i;
		}
	}
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	auto *outs = static_cast<EventOutcome *>(palloc0(sizeof(EventOutcome) * n));
	MemoryContext result_cxt = Connect();
	StoreBatch(items, outs, n, result_cxt);
	for (int i = 0; i < n; i++) {
		HeapTuple tuple = RecordTuple(ResultRecord(outs, i), rsinfo->setDesc);
		tuplestore_puttuple(rsinfo->setResult, tuple);
	}
	SPI_finish();
	return (Datum)0;
}
