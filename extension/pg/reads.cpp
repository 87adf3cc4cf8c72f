// reads.cpp — reading events: event.get_event[_json], event.query_events[_json], event.read_stream,
// event.get_stream_json.
//
// Every statement is parameterised SQL prepared once per backend (SPI_prepare + SPI_keepplan).
// query_events has one plan per combination of filters (a bitmask), so each plan only names the
// columns it filters on and the planner can use the matching index (events_user_idx,
// events_type_idx, events_timestamp_idx ...); a single "($1 IS NULL OR col = $1)" statement
// would get one generic plan that scans everything. query_events builds its EventResponse objects
// in C from the page's rows (PushEventRecord); the single-event reads render JSON in SQL
// (EVENT_JSON_SQL), and test/pgtap/20_reads.sql checks that both agree.
#include "pg/compat.hpp"

extern "C" {
#include "utils/snapmgr.h"
}

#include "guard.hpp"
#include "pg/catalog.hpp"
#include "pg/counters.hpp"
#include "pg/event_json_sql.hpp"
#include "pg/event_record.hpp"
#include "pg/jsonb_builder.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
constexpr int kMaxStreamCount = 10000;
// Events a query_events call folds into the statistics rollup at most (counters.hpp).
constexpr int64 kReaderFoldLimit = 1000000;

// query_events filters; the bit set in QueryArgs::mask selects the plan.
enum QueryFilter : unsigned {
	kFilterUser = 1u << 0,
	kFilterType = 1u << 1,
	kFilterSource = 1u << 2,
	kFilterCategory = 1u << 3,
	kFilterStatus = 1u << 4,      // status other than pending: s.status = $5
	kFilterPending = 1u << 5,     // status pending: no status row, or a row with 'pending'
	kFilterStart = 1u << 6,
	kFilterEnd = 1u << 7,
	kFilterCombinations = 1u << 8,
};

// Arguments of query_events as plain data (NULL / unset = no filter).
struct QueryArgs {
	unsigned mask;
	const char *user_id;
	const char *event_type;
	const char *event_source;
	const char *event_category;
	const char *status;
	TimestampTz start_time;
	TimestampTz end_time;
	int32 limit;
	int32 offset;
};

SPIPlanPtr page_plans[kFilterCombinations];
SPIPlanPtr total_plans[kFilterCombinations];
SPIPlanPtr get_event_plan;
SPIPlanPtr get_event_json_plan;
SPIPlanPtr read_stream_plan;
SPIPlanPtr stream_json_plan;

// Prepares sql on first use and keeps the plan for the life of the backend. SPI must be connected.
SPIPlanPtr KeptPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes) {
	if (*slot != nullptr)
		return *slot;
	SPIPlanPtr plan = SPI_prepare(sql, nargs, const_cast<Oid *>(argtypes));
	if (plan == nullptr)
		elog(ERROR, "event: SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "event: SPI_keepplan failed");
	*slot = plan;
	return plan;
}

// KeptPlan for SQL built by build(mask) on first use.
SPIPlanPtr KeptPlanBuilt(SPIPlanPtr *slot, char *(*build)(unsigned), unsigned mask, int nargs, const Oid *argtypes) {
	if (*slot != nullptr)
		return *slot;
	char *sql = build(mask);
	SPIPlanPtr plan = KeptPlan(slot, sql, nargs, argtypes);
	pfree(sql);
	return plan;
}

void Connect() {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
}

// Runs a read-only plan that returns at most one row of one column; copies the value into the
// caller's memory context (SPI_datumTransfer). Returns false when there is no row or it is NULL.
// The value may be a short-header varlena: return it as a Datum, do not detoast it while SPI is
// connected (the detoasted copy would live in SPI memory).
bool SelectValue(SPIPlanPtr plan, Datum *values, const char *nulls, Datum *out, bool read_only = false) {
	int rc = SPI_execute_plan(plan, values, nulls, read_only, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	bool isnull = false;
	Datum value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	*out = SPI_datumTransfer(value, false, -1);
	return true;
}

// Appends the WHERE conditions of the filters in mask (parameters $1..$7 of the query plans).
void AppendFilters(StringInfo sql, unsigned mask) {
	appendStringInfoString(sql, " WHERE true");
	if (mask & kFilterUser)
		appendStringInfoString(sql, " AND e.user_id = $1");
	if (mask & kFilterType)
		appendStringInfoString(sql, " AND e.event_type = $2");
	if (mask & kFilterSource)
		appendStringInfoString(sql, " AND e.event_source = $3");
	if (mask & kFilterCategory)
		appendStringInfoString(sql, " AND e.event_category = $4");
	if (mask & kFilterStatus)
		appendStringInfoString(sql, " AND s.status = $5");
	if (mask & kFilterPending)
		appendStringInfoString(sql, " AND (s.status IS NULL OR s.status = 'pending')");
	if (mask & kFilterStart)
		appendStringInfoString(sql, " AND e.\"timestamp\" >= $6");
	if (mask & kFilterEnd)
		appendStringInfoString(sql, " AND e.\"timestamp\" <= $7");
}

// The counter (dimension, parameter) that counts exactly the events matching mask, if any:
// no filter, or exactly one of user, type, source, category, status. Those totals are read from
// the statistics rollup plus the tail above its watermark ($10, counters.hpp) instead of
// counting millions of rows.
bool CounterForMask(unsigned mask, const char **dimension, const char **key_sql) {
	switch (mask) {
	case 0:
		*dimension = "total";
		*key_sql = "''";
		return true;
	case kFilterUser:
		*dimension = "user";
		*key_sql = "$1";
		return true;
	case kFilterType:
		*dimension = "type";
		*key_sql = "$2";
		return true;
	case kFilterSource:
		*dimension = "source";
		*key_sql = "$3";
		return true;
	case kFilterCategory:
		*dimension = "category";
		*key_sql = "$4";
		return true;
	case kFilterStatus:
		*dimension = "status";
		*key_sql = "$5";
		return true;
	case kFilterPending:
		*dimension = "status";
		*key_sql = "'pending'";
		return true;
	default:
		return false;
	}
}

// A query_events page row: the event.events columns, then the status row's (EventStatusColumn,
// event_record.hpp). The EventResponse objects are built in C from these values, not with
// jsonb_build_object in SQL.

// Builds the query_events page statement for one filter combination: the page's rows in
// response order (timestamp DESC, position DESC). $8 = limit, $9 = offset.
char *BuildPageSql(unsigned mask) {
	const bool needs_status = (mask & (kFilterStatus | kFilterPending)) != 0;
	StringInfoData sql;
	initStringInfo(&sql);
	char *columns = EventColumnList("e.");
	appendStringInfo(&sql, "SELECT %s, s.status, s.attempts, s.last_error, s.processed_at FROM ", columns);
	pfree(columns);
	if (needs_status) {
		// The status filter needs the join before LIMIT.
		appendStringInfoString(&sql, (mask & kFilterPending) ? EVENT_JSON_FROM_SQL
		                                                     : "event.events e JOIN event.event_status s "
		                                                       "ON s.event_id = e.event_id");
		AppendFilters(&sql, mask);
		appendStringInfoString(&sql, " ORDER BY e.\"timestamp\" DESC, e.position DESC LIMIT $8 OFFSET $9");
	} else {
		// Page first, then join the status of the (at most 1000) rows on the page only.
		appendStringInfoString(&sql, "(SELECT e.* FROM event.events e");
		AppendFilters(&sql, mask);
		appendStringInfoString(&sql, " ORDER BY e.\"timestamp\" DESC, e.position DESC LIMIT $8 OFFSET $9) e "
		                             "LEFT JOIN event.event_status s ON s.event_id = e.event_id "
		                             "ORDER BY e.\"timestamp\" DESC, e.position DESC");
	}
	return sql.data;
}

// Builds the query_events total statement for one filter combination: one row, one bigint.
// $10 = the statistics watermark (used by the counter totals only).
char *BuildTotalSql(unsigned mask) {
	StringInfoData sql;
	initStringInfo(&sql);
	const char *dimension = nullptr;
	const char *key_sql = nullptr;
	if (CounterForMask(mask, &dimension, &key_sql)) {
		appendStringInfoString(&sql, "SELECT t.total::bigint FROM ");
		event::pg::AppendCounterTotal(&sql, dimension, key_sql, 10);
	} else {
		appendStringInfoString(&sql, "SELECT pg_catalog.count(*) FROM ");
		if (mask & kFilterPending)
			appendStringInfoString(&sql, EVENT_JSON_FROM_SQL);
		else if (mask & kFilterStatus)
			appendStringInfoString(&sql, "event.events e JOIN event.event_status s ON s.event_id = e.event_id");
		else
			appendStringInfoString(&sql, "event.events e");
		AppendFilters(&sql, mask);
	}
	return sql.data;
}

// The query result object {"events", "total", "limit", "offset", "has_more"} from the page rows
// in SPI_tuptable, written with b (JsonbBuilder or JsonTextBuilder; datums point into the SPI
// tuples).
template <class Builder>
void WriteQueryResult(Builder &b, int64 total, int32 limit, int32 offset) {
	b.BeginObject();
	b.Key("events");
	b.BeginArray();
	EventRecord record;
	for (uint64 i = 0; i < SPI_processed; i++) {
		EventRecordFromStatusRow(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &record);
		WriteEventRecord(b, record);
	}
	b.EndArray();
	b.AddInt("total", total);
	b.AddInt("limit", limit);
	b.AddInt("offset", offset);
	b.AddBool("has_more", static_cast<int64>(offset) + static_cast<int64>(SPI_processed) < total);
	b.EndObject();
}

// The result as a datum in the caller's context (built in SPI memory, freed by SPI_finish):
// jsonb, or json text for event.query_events_text.
Datum QueryResultDatum(int64 total, int32 limit, int32 offset, bool as_text) {
	if (as_text) {
		StringInfoData out;
		initStringInfo(&out);
		enlargeStringInfo(&out, static_cast<int>(std::min<uint64>(SPI_processed * 640 + 128, MaxAllocSize / 2)));
		JsonTextBuilder b(&out);
		WriteQueryResult(b, total, limit, offset);
		text *result = static_cast<text *>(SPI_palloc(VARHDRSZ + out.len));
		SET_VARSIZE(result, VARHDRSZ + out.len);
		memcpy(VARDATA(result), out.data, out.len);
		return PointerGetDatum(result);
	}
	JsonbParseState *state = nullptr;
	JsonbBuilder b(&state);
	WriteQueryResult(b, total, limit, offset);
	Jsonb *built = b.Finish();
	Jsonb *result = static_cast<Jsonb *>(SPI_palloc(VARSIZE(built)));
	memcpy(result, built, VARSIZE(built));
	return JsonbPGetDatum(result);
}

// Checks limit, offset, time range and the allowed values; raises 22023 on the first bad one.
void ValidateQuery(const QueryArgs &args) {
	if (args.limit < 1 || args.limit > kMaxLimit)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid limit \"%d\"", args.limit),
		                errhint("The limit must be between 1 and %d.", kMaxLimit)));
	if (args.offset < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid offset \"%d\"", args.offset),
		                errhint("The offset must be zero or greater.")));
	if ((args.mask & kFilterStart) && (args.mask & kFilterEnd) && args.start_time > args.end_time)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("start_time is after end_time"),
		                errdetail("start_time \"%s\", end_time \"%s\".", timestamptz_to_str(args.start_time),
		                          timestamptz_to_str(args.end_time)),
		                errhint("Give a start_time earlier than or equal to end_time.")));
	if (args.event_source != nullptr)
		CheckSource(args.event_source);
	if (args.event_category != nullptr)
		CheckCategory(args.event_category);
	if (args.status != nullptr)
		CheckStatus(args.status);
}

// Runs query_events for plain arguments (validated here); returns the result object, as jsonb
// or as json text.
Datum QueryEvents(QueryArgs args, bool as_text = false) {
	if (args.status != nullptr)
		args.mask |= strcmp(args.status, "pending") == 0 ? kFilterPending : kFilterStatus;
	ValidateQuery(args);

	static const Oid kTypes[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	                               INT4OID, INT4OID, INT8OID};
	Datum values[10];
	char nulls[11] = "nnnnnnn   ";
	const char *texts[5] = {args.user_id, args.event_type, args.event_source, args.event_category, args.status};
	for (int i = 0; i < 5; i++) {
		values[i] = texts[i] != nullptr ? CStringGetTextDatum(texts[i]) : (Datum)0;
		if (texts[i] != nullptr)
			nulls[i] = ' ';
	}
	values[5] = TimestampTzGetDatum(args.start_time);
	values[6] = TimestampTzGetDatum(args.end_time);
	nulls[5] = (args.mask & kFilterStart) ? ' ' : 'n';
	nulls[6] = (args.mask & kFilterEnd) ? ' ' : 'n';
	values[7] = Int32GetDatum(args.limit);
	values[8] = Int32GetDatum(args.offset);

	Connect();
	const char *dimension = nullptr;
	const char *key_sql = nullptr;
	if (CounterForMask(args.mask, &dimension, &key_sql))
		(void)event::pg::FoldStatistics(kReaderFoldLimit);
	SPIPlanPtr page_plan = KeptPlanBuilt(&page_plans[args.mask], BuildPageSql, args.mask, 10, kTypes);
	SPIPlanPtr total_plan = KeptPlanBuilt(&total_plans[args.mask], BuildTotalSql, args.mask, 10, kTypes);
	// The watermark, the total and the page from one snapshot (a fold committed in between
	// would count twice; an event committed in between would be on the page but not counted).
	PushActiveSnapshot(GetTransactionSnapshot());
	values[9] = Int64GetDatum(event::pg::StatisticsWatermark(true));
	int rc = SPI_execute_plan(total_plan, values, nulls, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: query_events total failed: %s", SPI_result_code_string(rc));
	bool isnull = false;
	int64 total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	rc = SPI_execute_plan(page_plan, values, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	PopActiveSnapshot();
	Datum result = QueryResultDatum(total, args.limit, args.offset, as_text);
	SPI_finish();
	return result;
}

// Names and meaning of the EventQueryRequest keys, for the unknown-key hint.
constexpr char kQueryKeys[] = "user_id, event_type, event_source, event_category, status, start_time, end_time, "
                              "limit, offset";

// The JSON type name of v, for error details.
const char *JsonTypeName(const JsonbValue &v) {
	switch (v.type) {
	case jbvNull:
		return "null";
	case jbvString:
		return "string";
	case jbvNumeric:
		return "number";
	case jbvBool:
		return "boolean";
	case jbvBinary:
		return JsonContainerIsArray(v.val.binary.data) ? "array" : "object";
	default:
		return "value";
	}
}

[[noreturn]] void WrongType(const char *key, const char *expected, const JsonbValue &v) {
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid value for \"%s\"", key),
	                errdetail("Expected %s, got %s.", expected, JsonTypeName(v))));
	pg_unreachable();
}

// A string value (or NULL for JSON null) of key; anything else is 22023.
const char *JsonString(const char *key, const JsonbValue &v) {
	if (v.type == jbvNull)
		return nullptr;
	if (v.type != jbvString)
		WrongType(key, "a string", v);
	return pnstrdup(v.val.string.val, v.val.string.len);
}

// timestamptz_in on a C string, inside an internal subtransaction: true and *out on success;
// false if the text is not a timestamp (a data exception: the subtransaction is rolled back, so
// dropping that error is safe, style.md §4.5). Any other error (a cancel, out of memory) is
// re-raised unchanged after the rollback.
bool TryParseTimestamptz(const char *text, TimestampTz *out) {
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(caller);
	bool ok = true;
	PG_TRY();
	{
		*out = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
		                                               ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		ErrorData *edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

// An ISO-8601 timestamp string of key; returns false for JSON null.
bool JsonTimestamp(const char *key, const JsonbValue &v, TimestampTz *out) {
	const char *text = JsonString(key, v);
	if (text == nullptr)
		return false;
	if (!TryParseTimestamptz(text, out))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid value for \"%s\": \"%s\"", key, text),
		                errhint("Use an ISO 8601 timestamp, for example \"2025-12-01T00:00:00Z\".")));
	return true;
}

// An integer value of key (JSON number without fraction, within int32); returns false for null.
bool JsonInt32(const char *key, const JsonbValue &v, int32 *out) {
	if (v.type == jbvNull)
		return false;
	if (v.type != jbvNumeric)
		WrongType(key, "an integer", v);
	char *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
	char *end = nullptr;
	errno = 0;
	long long parsed = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || parsed < PG_INT32_MIN || parsed > PG_INT32_MAX)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid value for \"%s\": %s", key, text),
		                errdetail("Expected an integer.")));
	*out = static_cast<int32>(parsed);
	return true;
}

// Reads an EventQueryRequest object into args; unknown keys and wrong types are 22023.
void ParseQueryRequest(Jsonb *request, QueryArgs *args) {
	if (!JB_ROOT_IS_OBJECT(request) || JB_ROOT_IS_SCALAR(request))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid EventQueryRequest"),
		                errdetail("The request must be a JSON object."), errhint("Allowed keys: %s.", kQueryKeys)));
	JsonbIterator *it = JsonbIteratorInit(&request->root);
	JsonbValue v;
	JsonbIteratorToken token;
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
		if (token != WJB_KEY)
			continue;
		char *key = pnstrdup(v.val.string.val, v.val.string.len);
		token = JsonbIteratorNext(&it, &v, true);
		if (token != WJB_VALUE)
			elog(ERROR, "event: unexpected jsonb iterator token %d", static_cast<int>(token));
		if (strcmp(key, "user_id") == 0) {
			args->user_id = JsonString(key, v);
		} else if (strcmp(key, "event_type") == 0) {
			args->event_type = JsonString(key, v);
		} else if (strcmp(key, "event_source") == 0) {
			args->event_source = JsonString(key, v);
		} else if (strcmp(key, "event_category") == 0) {
			args->event_category = JsonString(key, v);
		} else if (strcmp(key, "status") == 0) {
			args->status = JsonString(key, v);
		} else if (strcmp(key, "start_time") == 0) {
			if (JsonTimestamp(key, v, &args->start_time))
				args->mask |= kFilterStart;
		} else if (strcmp(key, "end_time") == 0) {
			if (JsonTimestamp(key, v, &args->end_time))
				args->mask |= kFilterEnd;
		} else if (strcmp(key, "limit") == 0) {
			JsonInt32(key, v, &args->limit);
		} else if (strcmp(key, "offset") == 0) {
			JsonInt32(key, v, &args->offset);
		} else {
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("unknown key \"%s\" in EventQueryRequest", key),
			                errhint("Allowed keys: %s.", kQueryKeys)));
		}
	}
	if (args->user_id != nullptr)
		args->mask |= kFilterUser;
	if (args->event_type != nullptr)
		args->mask |= kFilterType;
	if (args->event_source != nullptr)
		args->mask |= kFilterSource;
	if (args->event_category != nullptr)
		args->mask |= kFilterCategory;
}

QueryArgs DefaultQueryArgs() {
	QueryArgs args;
	memset(&args, 0, sizeof(args));
	args.limit = kDefaultLimit;
	args.offset = 0;
	return args;
}

// NULL or the C string of text argument n.
const char *TextArgOrNull(FunctionCallInfo fcinfo, int n) {
	return PG_ARGISNULL(n) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.get_event(uuid): the event row, or NULL.
EVENT_FUNCTION(event_get_event) {
	static const Oid kTypes[1] = {UUIDOID};
	Datum values[1] = {PG_GETARG_DATUM(0)};
	Connect();
	SPIPlanPtr plan = KeptPlan(&get_event_plan, "SELECT e FROM event.events e WHERE e.event_id = $1", 1, kTypes);
	int rc = SPI_execute_plan(plan, values, nullptr, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	Datum row = (Datum)0;
	bool isnull = true;
	if (SPI_processed > 0) {
		row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			row = SPI_datumTransfer(row, false, -1);
	}
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	// A small row may have come back with a short varlena header: return a plain one.
	PG_RETURN_HEAPTUPLEHEADER(DatumGetHeapTupleHeader(row));
}

// event.get_event_json(uuid): the EventResponse of the event, or NULL.
EVENT_FUNCTION(event_get_event_json) {
	static const Oid kTypes[1] = {UUIDOID};
	Datum values[1] = {PG_GETARG_DATUM(0)};
	Connect();
	SPIPlanPtr plan =
		KeptPlan(&get_event_json_plan, "SELECT " EVENT_JSON_SQL " FROM " EVENT_JSON_FROM_SQL " WHERE e.event_id = $1",
	             1, kTypes);
	Datum result = (Datum)0;
	bool found = SelectValue(plan, values, nullptr, &result);
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	return result;
}

// event.query_events(user_id, event_type, event_source, event_category, status, start_time, end_time, limit, offset).
EVENT_FUNCTION(event_query_events) {
	QueryArgs args = DefaultQueryArgs();
	args.user_id = TextArgOrNull(fcinfo, 0);
	args.event_type = TextArgOrNull(fcinfo, 1);
	args.event_source = TextArgOrNull(fcinfo, 2);
	args.event_category = TextArgOrNull(fcinfo, 3);
	args.status = TextArgOrNull(fcinfo, 4);
	if (args.user_id != nullptr)
		args.mask |= kFilterUser;
	if (args.event_type != nullptr)
		args.mask |= kFilterType;
	if (args.event_source != nullptr)
		args.mask |= kFilterSource;
	if (args.event_category != nullptr)
		args.mask |= kFilterCategory;
	if (!PG_ARGISNULL(5)) {
		args.start_time = PG_GETARG_TIMESTAMPTZ(5);
		args.mask |= kFilterStart;
	}
	if (!PG_ARGISNULL(6)) {
		args.end_time = PG_GETARG_TIMESTAMPTZ(6);
		args.mask |= kFilterEnd;
	}
	if (!PG_ARGISNULL(7))
		args.limit = PG_GETARG_INT32(7);
	if (!PG_ARGISNULL(8))
		args.offset = PG_GETARG_INT32(8);
	return QueryEvents(args);
}

// event.query_events_json(jsonb): query_events from an EventQueryRequest object.
EVENT_FUNCTION(event_query_events_json) {
	QueryArgs args = DefaultQueryArgs();
	ParseQueryRequest(PG_GETARG_JSONB_P(0), &args);
	return QueryEvents(args);
}

// event.query_events_text(request): the same result as json text, printed as it is built (what
// the HTTP API sends; no jsonb tree to build and print again).
EVENT_FUNCTION(event_query_events_text) {
	QueryArgs args = DefaultQueryArgs();
	ParseQueryRequest(PG_GETARG_JSONB_P(0), &args);
	return QueryEvents(args, true);
}

// event.read_stream(stream_id, from_version, max_count): the stream's events in version order.
EVENT_FUNCTION(event_read_stream) {
	int64 from_version = PG_GETARG_INT64(1);
	int32 max_count = PG_GETARG_INT32(2);
	if (from_version < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid from_version \"" INT64_FORMAT "\"", from_version),
		                errhint("Stream versions start at 1.")));
	if (max_count < 1 || max_count > kMaxStreamCount)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid max_count \"%d\"", max_count),
		                errhint("max_count must be between 1 and %d.", kMaxStreamCount)));

	static const Oid kTypes[3] = {TEXTOID, INT8OID, INT4OID};
	Datum values[3] = {PG_GETARG_DATUM(0), Int64GetDatum(from_version), Int32GetDatum(max_count)};
	Connect();
	SPIPlanPtr plan = KeptPlan(&read_stream_plan,
	                           "SELECT e.* FROM event.events e WHERE e.stream_id = $1 AND e.stream_version >= $2 "
	                           "ORDER BY e.stream_version LIMIT $3",
	                           3, kTypes);
	ReturnPlanRows(fcinfo, plan, 3, kTypes, values);
	SPI_finish();
	return (Datum)0;
}

// event.get_stream_json(stream_id, from_version): stream metadata and its events (spec 3.5.1).
EVENT_FUNCTION(event_get_stream_json) {
	int64 from_version = PG_GETARG_INT64(1);
	if (from_version < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid from_version \"" INT64_FORMAT "\"", from_version),
		                errhint("Stream versions start at 1.")));
	static const Oid kTypes[2] = {TEXTOID, INT8OID};
	Datum values[2] = {PG_GETARG_DATUM(0), Int64GetDatum(from_version)};
	Connect();
	// A stream without a head row has version 0 and no events; entity_type and entity_id then
	// come from the "{entity_type}:{entity_id}" form of the id (NULL without a colon).
	SPIPlanPtr plan = KeptPlan(
		&stream_json_plan,
		"SELECT pg_catalog.jsonb_build_object('stream_id', $1, "
		"'entity_type', COALESCE(st.entity_type, CASE WHEN pg_catalog.strpos($1, ':') > 0 "
		"THEN pg_catalog.substr($1, 1, pg_catalog.strpos($1, ':') - 1) END), "
		"'entity_id', COALESCE(st.entity_id, CASE WHEN pg_catalog.strpos($1, ':') > 0 "
		"THEN pg_catalog.substr($1, pg_catalog.strpos($1, ':') + 1) END), "
		"'version', COALESCE(st.version, 0), "
		"'events', COALESCE((SELECT pg_catalog.jsonb_agg(q.j ORDER BY q.v) FROM (SELECT " EVENT_JSON_SQL " AS j, "
		"e.stream_version AS v FROM " EVENT_JSON_FROM_SQL " WHERE e.stream_id = $1 AND e.stream_version >= $2) q), "
		"'[]'::jsonb)) "
		"FROM (SELECT 1) one LEFT JOIN event.event_streams st ON st.stream_id = $1",
		2, kTypes);
	Datum result = (Datum)0;
	bool found = SelectValue(plan, values, nullptr, &result);
	SPI_finish();
	if (!found)
		elog(ERROR, "event: get_stream_json returned no row");
	return result;
}
