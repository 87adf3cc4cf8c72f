// projections.cpp — inline projections and snapshots (docs/sql-api.md "Projections",
// docs/architecture.md "Inline projections").
//
// A projection folds the events of every stream of one entity type into a jsonb state with a
// reducer: merge (deep merge of the event's data, JSON null removes a key), replace, count, sum of
// a data field, or a user function (state jsonb, event jsonb) -> jsonb. The write path calls
// ApplyProjections after inserting its rows, still holding the stream order lock of every
// stream it appended to, so concurrent appenders of one entity fold in stream order and the
// state committed with the events is always the fold of the stream up to its version.
//
// A state row behind the stream (a projection defined while the stream already had events, or
// appends that ran on a definition cache not yet invalidated) is caught up from the stored events
// at the next append. Snapshots are written while folding, every snapshot_every versions, and
// on demand; projection_at folds forward from the nearest snapshot before the wanted point.
//
// The definitions are cached per backend (invalidated through the relcache, like the allowed
// values in catalog.cpp), so an append to an entity type without a projection makes no query.
#include "pg/compat.hpp"

EVENT_BEGIN_PG_HEADERS
#include "utils/array.h"
#include "utils/numeric.h"
#include "utils/regproc.h"
EVENT_END_PG_HEADERS

#include "core/validate.hpp"
#include "guard.hpp"
#include "pg/event_record.hpp"
#include "pg/extension_state.hpp"
#include "pg/jsonb_builder.hpp"
#include "pg/merge_tree.hpp"
#include "pg/position.hpp"
#include "pg/projections.hpp"
#include "pg/uuid.hpp"

namespace event::pg {
namespace {

enum class Reducer { kMerge, kReplace, kCount, kSum, kFunction };
const char *const kReducerNames[] = {"merge", "replace", "count", "sum", "function"};
constexpr int kMaxPathLength = 32;
constexpr int kMaxEventTypes = 100;
constexpr int kFetchRows = 1000;

// One projection definition (a row of event.projection_definitions).
struct Definition {
	pg_uuid_t id;
	char *entity_type;
	char *name;
	Reducer reducer;
	int path_len;
	char **path; // sum: the data field path
	Oid function;
	int n_event_types;
	char **event_types; // empty: every event
	int32 snapshot_every; // 0: none
};

// The per-backend cache of every definition, in a context of its own under TopMemoryContext.
struct DefinitionCache {
	bool valid;
	int n;
	Definition *defs;
	MemoryContext cxt;
};
DefinitionCache cache = {false, 0, nullptr, nullptr};

// Prepared plans of this file, kept for the life of the backend.
enum PlanSlot {
	kLoadDefinitions,
	kLoadState,
	kUpdateState,
	kInsertState,
	kInsertSnapshot,
	kStreamEvents,
	kNearestSnapshot,
	kReadState,
	kPlanSlots
};
SPIPlanPtr plans[kPlanSlots];

SPIPlanPtr PreparedPlan(PlanSlot slot, const char *sql, int nargs, const Oid *types) {
	if (plans[slot] == nullptr) {
		SPIPlanPtr plan = SPI_prepare(sql, nargs, const_cast<Oid *>(types));
		if (plan == nullptr || SPI_keepplan(plan) != 0)
			elog(ERROR, "event: preparing \"%s\" failed: %s", sql, SPI_result_code_string(SPI_result));
		plans[slot] = plan;
	}
	return plans[slot];
}

const Oid kKeyTypes[] = {UUIDOID, TEXTOID};

// A definition as list_projections shows it, one jsonb over alias d.
#define PROJECTION_DEFINITION_JSON_SQL                                                                                 \
	"pg_catalog.jsonb_build_object('projection_id', d.id::text, 'entity_type', d.entity_type, 'name', d.name, "       \
	"'reducer', d.reducer, 'field', pg_catalog.to_jsonb(d.field), 'function', d.function::text, "                     \
	"'event_types', pg_catalog.to_jsonb(d.event_types), 'snapshot_every', d.snapshot_every, "                         \
	"'created_at', pg_catalog.to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"

//
// Definitions
//

char **TextArrayToStrings(Datum array, int *n) {
	Datum *elems;
	bool *nulls;
	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	char **out = static_cast<char **>(palloc(sizeof(char *) * (*n + 1)));
	for (int i = 0; i < *n; i++)
		out[i] = TextDatumGetCString(elems[i]);
	return out;
}

Reducer ReducerFromName(const char *name) {
	for (int i = 0; i < 5; i++)
		if (strcmp(kReducerNames[i], name) == 0)
			return static_cast<Reducer>(i);
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid reducer \"%s\"", name),
	                errhint("Allowed values: merge, replace, count, sum, function.")));
}

// Loads every definition into the cache (none when the installed catalog predates projections).
void LoadDefinitions() {
	if (cache.valid)
		return;
	if (cache.cxt != nullptr)
		MemoryContextDelete(cache.cxt);
	cache.cxt = nullptr;
	cache.n = 0;
	cache.defs = nullptr;
	if (!OidIsValid(get_relname_relid("projection_definitions", EventNamespace()))) {
		cache.valid = true;
		return;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	SPIPlanPtr plan = PreparedPlan(kLoadDefinitions,
	                       "SELECT id, entity_type, name, reducer, field, function::oid, event_types, "
	                       "COALESCE(snapshot_every, 0) FROM event.projection_definitions ORDER BY entity_type, name",
	                       0, nullptr);
	// Not read-only: a fresh snapshot sees a definition created earlier in this transaction.
	if (SPI_execute_plan(plan, nullptr, nullptr, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "event: loading projection definitions failed");
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "event projection definitions", ALLOCSET_SMALL_SIZES);
	cache.cxt = cxt; // freed by the next load, also if this one fails half-way
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int n = static_cast<int>(SPI_processed);
	Definition *defs = static_cast<Definition *>(palloc0(sizeof(Definition) * (n + 1)));
	for (int i = 0; i < n; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool isnull;
		Definition &def = defs[i];
		def.id = *DatumGetUUIDP(SPI_getbinval(t, d, 1, &isnull));
		def.entity_type = SPI_getvalue(t, d, 2);
		def.name = SPI_getvalue(t, d, 3);
		def.reducer = ReducerFromName(SPI_getvalue(t, d, 4));
		Datum field = SPI_getbinval(t, d, 5, &isnull);
		def.path = isnull ? nullptr : TextArrayToStrings(field, &def.path_len);
		Datum fn = SPI_getbinval(t, d, 6, &isnull);
		def.function = isnull ? InvalidOid : DatumGetObjectId(fn);
		def.event_types = TextArrayToStrings(SPI_getbinval(t, d, 7, &isnull), &def.n_event_types);
		def.snapshot_every = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	cache.cxt = cxt;
	cache.defs = defs;
	cache.n = n;
	cache.valid = true;
}

// A copy of def in the current memory context (the cache may be reloaded while it is in use:
// a user reducer can change the definitions).
Definition *CopyDefinition(const Definition &def) {
	auto *copy = static_cast<Definition *>(palloc(sizeof(Definition)));
	*copy = def;
	copy->entity_type = pstrdup(def.entity_type);
	copy->name = pstrdup(def.name);
	copy->path = static_cast<char **>(palloc(sizeof(char *) * (def.path_len + 1)));
	for (int i = 0; i < def.path_len; i++)
		copy->path[i] = pstrdup(def.path[i]);
	copy->event_types = static_cast<char **>(palloc(sizeof(char *) * (def.n_event_types + 1)));
	for (int i = 0; i < def.n_event_types; i++)
		copy->event_types[i] = pstrdup(def.event_types[i]);
	return copy;
}

bool TypeMatches(const Definition &def, const char *entity_type, int len) {
	return static_cast<int>(strlen(def.entity_type)) == len && memcmp(def.entity_type, entity_type, len) == 0;
}

// The projection of entity_type named name (NULL: the type's only one, else "default"), copied;
// raises P0002 if there is none, except that with none_ok a type without any projection asked
// without a name gives nullptr.
Definition *FindDefinition(const char *entity_type, const char *name, bool none_ok = false) {
	core::ValidateEntityType(entity_type);
	LoadDefinitions();
	int len = static_cast<int>(strlen(entity_type));
	const Definition *found = nullptr;
	int of_type = 0;
	StringInfoData names;
	initStringInfo(&names);
	for (int i = 0; i < cache.n; i++) {
		const Definition &def = cache.defs[i];
		if (!TypeMatches(def, entity_type, len))
			continue;
		appendStringInfo(&names, "%s%s", of_type++ > 0 ? ", " : "", def.name);
		if (name != nullptr ? strcmp(def.name, name) == 0 : strcmp(def.name, "default") == 0)
			found = &def;
	}
	if (found == nullptr && name == nullptr && of_type == 1) {
		for (int i = 0; i < cache.n && found == nullptr; i++)
			if (TypeMatches(cache.defs[i], entity_type, len))
				found = &cache.defs[i];
	}
	if (found == nullptr && name == nullptr && of_type == 0 && none_ok)
		return nullptr;
	if (found == nullptr && name == nullptr && of_type > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("entity type \"%s\" has several projections", entity_type),
		                errhint("Name one of them: %s.", names.data)));
	if (found == nullptr)
		ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
		                errmsg(name ? "projection \"%s\" of entity type \"%s\" does not exist"
		                            : "entity type \"%2$s\" has no projection%1$s",
		                       name ? name : "", entity_type),
		                of_type > 0 ? errhint("Its projections: %s.", names.data)
		                            : errhint("Define one with event.create_projection(entity_type).")));
	return CopyDefinition(*found);
}

//
// Reducers
//

bool IsObject(const JsonbValue &v) {
	return v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data);
}

// {"<key>": <number>}
Jsonb *NumberObject(const char *key, Numeric n) {
	JsonbBuilder b;
	b.BeginObject();
	b.AddNumeric(key, n);
	b.EndObject();
	return b.Finish();
}

// The number under key in state (an object), 0 if absent.
Numeric NumberIn(Jsonb *state, const char *key) {
	JsonbValue found;
	JsonbValue *v = JsonContainerIsObject(&state->root)
	                    ? getKeyJsonValueFromContainer(&state->root, key, static_cast<int>(strlen(key)), &found)
	                    : nullptr;
	return v != nullptr && v->type == jbvNumeric ? v->val.numeric : int64_to_numeric(0);
}

// The state before the first event.
Jsonb *InitialState(const Definition &def) {
	switch (def.reducer) {
	case Reducer::kCount:
		return NumberObject("count", int64_to_numeric(0));
	case Reducer::kSum:
		return NumberObject("sum", int64_to_numeric(0));
	default:
		return JsonbBuilder::EmptyObject();
	}
}

Jsonb *CopyJsonb(Jsonb *jb) {
	auto *copy = static_cast<Jsonb *>(palloc(VARSIZE(jb)));
	memcpy(copy, jb, VARSIZE(jb));
	return copy;
}

// The event as a user reducer sees it (its EventResponse object).
Jsonb *EventJson(const EventRecord &r) {
	EventRecord copy = r;
	copy.status = "pending";
	copy.error = nullptr;
	copy.has_processed_at = false;
	return EventRecordToJsonb(copy);
}

// The number at the sum reducer's field path in data; nullptr if it is absent or null. Raises if
// it is not a number.
Numeric SumOperand(const Definition &def, Jsonb *data) {
	JsonbContainer *c = &data->root;
	JsonbValue found;
	JsonbValue *v = nullptr;
	for (int i = 0; i < def.path_len; i++) {
		v = JsonContainerIsObject(c) ? getKeyJsonValueFromContainer(c, def.path[i], static_cast<int>(strlen(def.path[i])), &found)
		                             : nullptr;
		if (v == nullptr || (i + 1 < def.path_len && !IsObject(*v)))
			return nullptr;
		if (i + 1 < def.path_len)
			c = v->val.binary.data;
	}
	if (v == nullptr || v->type == jbvNull)
		return nullptr;
	if (v->type != jbvNumeric)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("data field is not a number"),
		                errdetail("The sum reducer adds the number at the data path; this event has a %s there.",
		                          v->type == jbvString ? "string" : v->type == jbvBool ? "boolean" : "container")));
	return v->val.numeric;
}

// state folded with the event r by a replace or function reducer; allocated in the current
// context. (merge, count and sum fold into a live state: ReduceLive.)
Jsonb *ReduceJsonb(const Definition &def, Jsonb *state, const EventRecord &r) {
	if (def.reducer == Reducer::kReplace)
		return CopyJsonb(DatumGetJsonbP(r.values[kColData]));
	LOCAL_FCINFO(fcinfo, 2);
	FmgrInfo flinfo;
	fmgr_info(def.function, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 2, InvalidOid, nullptr, nullptr);
	fcinfo->args[0].value = JsonbPGetDatum(state);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = JsonbPGetDatum(EventJson(r));
	fcinfo->args[1].isnull = false;
	Datum result = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("reducer function returned NULL"),
		                errhint("Return the new state as a jsonb value (for example the state unchanged).")));
	return CopyJsonb(DatumGetJsonbP(result));
}

bool Folds(const Definition &def, const EventRecord &r) {
	if (def.n_event_types == 0)
		return true;
	text *type = DatumGetTextPP(r.values[kColEventType]);
	int len = static_cast<int>(VARSIZE_ANY_EXHDR(type));
	for (int i = 0; i < def.n_event_types; i++)
		if (static_cast<int>(strlen(def.event_types[i])) == len && memcmp(def.event_types[i], VARDATA_ANY(type), len) == 0)
			return true;
	return false;
}

char *UuidText(const pg_uuid_t &id) {
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(const_cast<pg_uuid_t *>(&id))));
}

//
// Folding
//

// A state being folded, in two contexts used in turn: a step or a compaction builds the next
// state in the other context and frees the current one.
//
// replace and function reducers hold the state as jsonb and make a new one per event. merge,
// count and sum make it live at their first event instead: a MergeObject tree (merge_tree.hpp)
// or a running numeric, updated in place per event, and serialised to jsonb (Materialize) only
// when the state is read (snapshot, store, answer) or when the garbage of replaced values in the
// context passes compact_at.
struct Fold {
	const Definition *def;
	const char *entity_id;
	Jsonb *state; // stale while live
	int64 version;
	pg_uuid_t last_event_id;
	TimestampTz last_created_at;
	bool write_snapshots;
	bool live;
	MergeObject *tree; // live merge state
	Numeric total;     // live count or sum
	Size compact_at;   // size of cxt[current] at which a live state is materialised
	MemoryContext cxt[2];
	int current;
};

// A live state is compacted when its context has grown to 4 times its size after loading, and
// not below this (replaced values of about 20,000 small events).
constexpr Size kCompactMinBytes = 4 * 1024 * 1024;

bool FoldsLive(const Definition &def) {
	return def.reducer == Reducer::kMerge || def.reducer == Reducer::kCount || def.reducer == Reducer::kSum;
}

const char *NumberKey(const Definition &def) {
	return def.reducer == Reducer::kCount ? "count" : "sum";
}

// Turns a live state into f->state (jsonb) in the other context and frees the current one.
void Materialize(Fold *f) {
	if (!f->live)
		return;
	int next = 1 - f->current;
	MemoryContext old = MemoryContextSwitchTo(f->cxt[next]);
	f->state = f->def->reducer == Reducer::kMerge ? MergeTreeToJsonb(f->tree) : NumberObject(NumberKey(*f->def), f->total);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->cxt[f->current]);
	f->current = next;
	f->live = false;
	f->tree = nullptr;
	f->total = nullptr;
}

// f's state as jsonb.
Jsonb *StateOf(Fold *f) {
	Materialize(f);
	return f->state;
}

// Makes f's state live, in the current context (which is cxt[current], where f->state is).
void MakeLive(Fold *f) {
	if (f->live)
		return;
	if (f->def->reducer == Reducer::kMerge)
		f->tree = MergeTreeLoad(f->state);
	else
		f->total = NumberIn(f->state, NumberKey(*f->def));
	f->live = true;
	f->compact_at = std::max(kCompactMinBytes, 4 * MemoryContextMemAllocated(f->cxt[f->current], false));
}

// Folds the event r into f's live state (merge, count, sum).
void ReduceLive(Fold *f, const EventRecord &r) {
	MemoryContext old = MemoryContextSwitchTo(f->cxt[f->current]);
	Jsonb *data = DatumGetJsonbP(r.values[kColData]); // a detoasted copy is made in this context
	switch (f->def->reducer) {
	case Reducer::kMerge:
		MakeLive(f);
		// The tree points into the data: it must outlive the row (SPI frees fetched rows).
		if (reinterpret_cast<Pointer>(data) == DatumGetPointer(r.values[kColData]))
			data = CopyJsonb(data);
		MergeTreeApply(f->tree, &data->root);
		break;
	case Reducer::kCount:
		MakeLive(f);
		f->total = numeric_add_opt_error(f->total, int64_to_numeric(1), nullptr);
		break;
	default: {
		Numeric operand = SumOperand(*f->def, data);
		if (operand != nullptr) {
			MakeLive(f);
			f->total = numeric_add_opt_error(f->total, operand, nullptr);
		}
	}
	}
	MemoryContextSwitchTo(old);
	if (f->live && MemoryContextMemAllocated(f->cxt[f->current], false) > f->compact_at)
		Materialize(f);
}

// Folds the event r into f by its reducer.
void Reduce(Fold *f, const EventRecord &r) {
	if (FoldsLive(*f->def)) {
		ReduceLive(f, r);
		return;
	}
	int next = 1 - f->current;
	MemoryContext old = MemoryContextSwitchTo(f->cxt[next]);
	Jsonb *state = ReduceJsonb(*f->def, f->state, r);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->cxt[f->current]);
	f->state = state;
	f->current = next;
}

// Reduce, with a failure reported as "projection X of entity type T failed on event E (stream S
// version V): <the reducer's message>" under the reducer's SQLSTATE. A plain C frame: PG_TRY
// with nothing that has a destructor.
void ReduceReported(Fold *f, const EventRecord &r) {
	MemoryContext cxt = CurrentMemoryContext;
	const Definition &def = *f->def;
	PG_TRY();
	{
		Reduce(f, r);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		ErrorData *edata = CopyErrorData();
		FlushErrorState();
		edata->message = psprintf("projection \"%s\" of entity type \"%s\" failed on event %s (stream \"%s\" version "
		                          "%lld): %s",
		                          def.name, def.entity_type, UuidText(*DatumGetUUIDP(r.values[kColEventId])),
		                          TextDatumGetCString(r.values[kColStreamId]),
		                          static_cast<long long>(DatumGetInt64(r.values[kColStreamVersion])), edata->message);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

void StartFold(Fold *f, const Definition *def, const char *entity_id, bool write_snapshots) {
	memset(f, 0, sizeof(*f));
	f->def = def;
	f->entity_id = entity_id;
	f->write_snapshots = write_snapshots && def->snapshot_every > 0;
	f->cxt[0] = AllocSetContextCreate(CurrentMemoryContext, "event projection fold", ALLOCSET_DEFAULT_SIZES);
	f->cxt[1] = AllocSetContextCreate(CurrentMemoryContext, "event projection fold", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(f->cxt[0]);
	f->state = InitialState(*def);
	MemoryContextSwitchTo(old);
	f->last_created_at = DT_NOBEGIN;
}

void WriteSnapshot(Fold *f) {
	Jsonb *state = StateOf(f);
	static const Oid kTypes[] = {UUIDOID, TEXTOID, INT8OID, JSONBOID, UUIDOID, TIMESTAMPTZOID};
	SPIPlanPtr plan = PreparedPlan(kInsertSnapshot,
	                       "INSERT INTO event.projection_snapshots AS s (projection_id, entity_id, version, state, "
	                       "last_event_id, last_created_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, "
	                       "pg_catalog.now()) ON CONFLICT (projection_id, entity_id, version) DO UPDATE SET state = "
	                       "excluded.state, last_event_id = excluded.last_event_id, last_created_at = "
	                       "excluded.last_created_at, created_at = excluded.created_at",
	                       6, kTypes);
	Datum args[6] = {UUIDPGetDatum(const_cast<pg_uuid_t *>(&f->def->id)), CStringGetTextDatum(f->entity_id),
	                 Int64GetDatum(f->version), JsonbPGetDatum(state),
	                 UUIDPGetDatum(const_cast<pg_uuid_t *>(&f->last_event_id)),
	                 TimestampTzGetDatum(f->last_created_at)};
	if (SPI_execute_plan(plan, args, nullptr, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "event: writing a projection snapshot failed");
}

// Folds one event (the next version of the stream) into f.
void Step(Fold *f, const EventRecord &r) {
	int64 version = DatumGetInt64(r.values[kColStreamVersion]);
	if (version != f->version + 1)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("projection \"%s\" of entity \"%s\" cannot fold version %lld after version %lld",
		                       f->def->name, f->entity_id, static_cast<long long>(version),
		                       static_cast<long long>(f->version)),
		                errdetail("Events of the stream are missing, probably removed by retention."),
		                errhint("A projection can be rebuilt only from a complete stream.")));
	if (Folds(*f->def, r))
		ReduceReported(f, r);
	f->version = version;
	f->last_event_id = *DatumGetUUIDP(r.values[kColEventId]);
	f->last_created_at = std::max(f->last_created_at, DatumGetTimestampTz(r.values[kColCreatedAt]));
	if (f->write_snapshots && f->version % f->def->snapshot_every == 0)
		WriteSnapshot(f);
}

void EndFold(Fold *f) {
	MemoryContextDelete(f->cxt[0]);
	MemoryContextDelete(f->cxt[1]);
}

// The plan of FoldStored, built from the column list.
void PrepareStreamEventsPlan() {
	if (plans[kStreamEvents] != nullptr)
		return;
	static const Oid kTypes[] = {TEXTOID, INT8OID, INT8OID};
	char *sql = psprintf("SELECT %s FROM event.events WHERE stream_id OPERATOR(pg_catalog.=) $1 AND stream_version "
	                     "OPERATOR(pg_catalog.>) $2 AND stream_version OPERATOR(pg_catalog.<=) $3 ORDER BY stream_version",
	                     EventColumnList(""));
	PreparedPlan(kStreamEvents, sql, 3, kTypes);
	pfree(sql);
}

// Folds the stored events of stream_id with after < version <= through (in version order) into
// f; stops before the first event stored later than until (DT_NOEND: no limit). Returns false if
// it stopped there.
bool FoldStored(Fold *f, const char *stream_id, int64 after, int64 through, TimestampTz until, bool read_only) {
	PrepareStreamEventsPlan();
	Datum args[3] = {CStringGetTextDatum(stream_id), Int64GetDatum(after), Int64GetDatum(through)};
	Portal portal = SPI_cursor_open(nullptr, plans[kStreamEvents], args, nullptr, read_only);
	bool complete = true;
	for (;;) {
		SPI_cursor_fetch(portal, true, kFetchRows);
		SPITupleTable *rows = SPI_tuptable;
		uint64 n = SPI_processed;
		for (uint64 i = 0; i < n && complete; i++) {
			EventRecord r;
			EventRecordFromTuple(rows->vals[i], rows->tupdesc, &r);
			if (DatumGetTimestampTz(r.values[kColCreatedAt]) > until)
				complete = false;
			else
				Step(f, r);
		}
		SPI_freetuptable(rows);
		if (n < static_cast<uint64>(kFetchRows) || !complete)
			break;
	}
	SPI_cursor_close(portal);
	return complete;
}

// The stored state row of an entity into f; false if there is none.
bool LoadState(Fold *f) {
	SPIPlanPtr plan = PreparedPlan(kLoadState,
	                       "SELECT state, version, last_event_id, last_created_at FROM event.event_projections "
	                       "WHERE projection_id OPERATOR(pg_catalog.=) $1 AND entity_id OPERATOR(pg_catalog.=) $2",
	                       2, kKeyTypes);
	Datum key[2] = {UUIDPGetDatum(const_cast<pg_uuid_t *>(&f->def->id)), CStringGetTextDatum(f->entity_id)};
	if (SPI_execute_plan(plan, key, nullptr, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "event: reading a projection failed");
	if (SPI_processed == 0)
		return false;
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc d = SPI_tuptable->tupdesc;
	bool isnull;
	Jsonb *state = DatumGetJsonbP(SPI_getbinval(t, d, 1, &isnull));
	int64 version = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
	pg_uuid_t last = *DatumGetUUIDP(SPI_getbinval(t, d, 3, &isnull));
	TimestampTz created = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
	MemoryContext owner = CurrentMemoryContext;
	MemoryContextReset(f->cxt[f->current]);
	MemoryContextSwitchTo(f->cxt[f->current]);
	f->state = CopyJsonb(state);
	MemoryContextSwitchTo(owner);
	f->version = version;
	f->last_event_id = last;
	f->last_created_at = created;
	SPI_freetuptable(SPI_tuptable);
	return true;
}

// Writes f as the entity's state row (existed: whether LoadState found one).
void StoreState(Fold *f, bool existed) {
	static const Oid kTypes[] = {UUIDOID, TEXTOID, JSONBOID, INT8OID, UUIDOID, TIMESTAMPTZOID};
	Datum args[6] = {UUIDPGetDatum(const_cast<pg_uuid_t *>(&f->def->id)), CStringGetTextDatum(f->entity_id),
	                 JsonbPGetDatum(StateOf(f)), Int64GetDatum(f->version),
	                 UUIDPGetDatum(const_cast<pg_uuid_t *>(&f->last_event_id)), TimestampTzGetDatum(f->last_created_at)};
	if (existed) {
		SPIPlanPtr plan = PreparedPlan(kUpdateState,
		                       "UPDATE event.event_projections SET state = $3, version = $4, last_event_id = $5, "
		                       "last_created_at = $6, updated_at = pg_catalog.now() WHERE projection_id "
		                       "OPERATOR(pg_catalog.=) $1 AND entity_id OPERATOR(pg_catalog.=) $2",
		                       6, kTypes);
		if (SPI_execute_plan(plan, args, nullptr, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
			elog(ERROR, "event: updating a projection failed");
	} else {
		SPIPlanPtr plan = PreparedPlan(kInsertState,
		                       "INSERT INTO event.event_projections AS p (projection_id, entity_id, state, version, "
		                       "last_event_id, last_created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
		                       "pg_catalog.now()) ON CONFLICT (projection_id, entity_id) DO UPDATE SET state = "
		                       "excluded.state, version = excluded.version, last_event_id = excluded.last_event_id, "
		                       "last_created_at = excluded.last_created_at, updated_at = excluded.updated_at",
		                       6, kTypes);
		if (SPI_execute_plan(plan, args, nullptr, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "event: inserting a projection failed");
	}
}

// Projections being folded by this backend, innermost last: a reducer that appends to the very
// entity it is folding would fold its own event again without end.
struct Active {
	const pg_uuid_t *id;
	const char *entity_id;
	Active *outer;
};
Active *active = nullptr;

void CheckNotActive(const Definition &def, const char *entity_id) {
	for (Active *a = active; a != nullptr; a = a->outer)
		if (memcmp(a->id->data, def.id.data, UUID_LEN) == 0 && strcmp(a->entity_id, entity_id) == 0)
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			                errmsg("projection \"%s\" of entity type \"%s\" appended to entity \"%s\" while folding it",
			                       def.name, def.entity_type, entity_id),
			                errhint("A reducer may append events to other entities only.")));
}

// Folds into f: the stored events after f->version up to through, then events[0..m) (one
// stream, consecutive versions, m may be 0), with the entity marked as being folded. A reducer
// may call back into the write path; the mark is removed on every exit (a plain C frame with
// PG_TRY: nothing here has a destructor).
void FoldMarked(Fold *f, const char *stream_id, int64 through, const EventRecord *const *events, int m) {
	CheckNotActive(*f->def, f->entity_id);
	Active me = {&f->def->id, f->entity_id, active};
	active = &me;
	PG_TRY();
	{
		if (f->version < through)
			FoldStored(f, stream_id, f->version, through, DT_NOEND, false);
		for (int i = 0; i < m; i++)
			Step(f, *events[i]);
	}
	PG_FINALLY();
	{
		active = me.outer;
	}
	PG_END_TRY();
}

// Folds events[0..m) (one stream, consecutive versions) into def's state of the entity, first
// catching up from the stored events if the state is behind the stream.
void ApplyToEntity(const Definition *def, const char *stream_id, const char *entity_id, const EventRecord *const *events,
                   int m) {
	Fold f;
	StartFold(&f, def, entity_id, true);
	bool existed = LoadState(&f);
	int64 first = DatumGetInt64(events[0]->values[kColStreamVersion]);
	if (f.version >= first)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
		                errmsg("projection \"%s\" of entity \"%s\" is at version %lld, ahead of its stream", def->name,
		                       entity_id, static_cast<long long>(f.version)),
		                errhint("Rebuild it with event.rebuild_projection.")));
	FoldMarked(&f, stream_id, first - 1, events, m);
	StoreState(&f, existed);
	EndFold(&f);
}

int CompareByStreamVersion(const void *a, const void *b) {
	const EventRecord *x = *static_cast<const EventRecord *const *>(a);
	const EventRecord *y = *static_cast<const EventRecord *const *>(b);
	int c = strcmp(TextDatumGetCString(x->values[kColStreamId]), TextDatumGetCString(y->values[kColStreamId]));
	if (c != 0)
		return c;
	int64 vx = DatumGetInt64(x->values[kColStreamVersion]), vy = DatumGetInt64(y->values[kColStreamVersion]);
	return vx < vy ? -1 : vx > vy;
}

// The JSON answer of the read functions: {"entity_type", "entity_id", "projection", "state",
// "version", "last_event_id", "updated_at"}.
Jsonb *ProjectionJson(const Definition &def, const char *entity_id, Jsonb *state, int64 version,
                      const pg_uuid_t *last_event_id, TimestampTz updated_at) {
	JsonbBuilder b;
	b.BeginObject();
	b.AddString("entity_type", def.entity_type);
	b.AddString("entity_id", entity_id);
	b.AddString("projection", def.name);
	b.AddJsonb("state", state);
	b.AddInt("version", version);
	b.AddString("last_event_id", last_event_id ? UuidText(*last_event_id) : nullptr);
	if (updated_at == DT_NOBEGIN)
		b.AddNull("updated_at");
	else
		b.AddTimestamp("updated_at", updated_at);
	b.EndObject();
	return b.Finish();
}

// The first column of the first row of the last SPI result (a jsonb), copied out of SPI.
Datum FirstDatum() {
	bool isnull;
	return SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
}

void Connect() {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
}

// Rebuilds def's state of one entity from its stream's first event, under the stream's order
// lock; returns the projection JSON (in the caller's context, result_cxt), NULL if the stream has
// no events (its state row is removed).
Jsonb *RebuildEntity(const Definition *def, const char *entity_id, MemoryContext result_cxt) {
	char *stream_id = psprintf("%s:%s", def->entity_type, entity_id);
	LockStreamOrder(stream_id);
	PrepareStreamEventsPlan();
	Fold f;
	StartFold(&f, def, entity_id, true);
	FoldMarked(&f, stream_id, PG_INT64_MAX, nullptr, 0);
	Jsonb *result = nullptr;
	if (f.version == 0) {
		Datum key[2] = {UUIDPGetDatum(const_cast<pg_uuid_t *>(&def->id)), CStringGetTextDatum(entity_id)};
		if (SPI_execute_with_args("DELETE FROM event.event_projections WHERE projection_id OPERATOR(pg_catalog.=) $1 "
		                          "AND entity_id OPERATOR(pg_catalog.=) $2",
		                          2, const_cast<Oid *>(kKeyTypes), key, nullptr, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "event: removing a projection failed");
	} else {
		StoreState(&f, false);
		MemoryContext old = MemoryContextSwitchTo(result_cxt);
		result = ProjectionJson(*def, entity_id, StateOf(&f), f.version, &f.last_event_id, f.last_created_at);
		MemoryContextSwitchTo(old);
	}
	EndFold(&f);
	return result;
}

// The stored state of def's entity as the read functions return it (one index lookup), in the
// current context; NULL if there is none.
Jsonb *ReadProjection(const Definition &def, const char *entity_id) {
	MemoryContext result_cxt = CurrentMemoryContext;
	Connect();
	SPIPlanPtr plan = PreparedPlan(kReadState,
	                       "SELECT state, version, last_event_id, last_created_at FROM event.event_projections "
	                       "WHERE projection_id OPERATOR(pg_catalog.=) $1 AND entity_id OPERATOR(pg_catalog.=) $2",
	                       2, kKeyTypes);
	Datum key[2] = {UUIDPGetDatum(const_cast<pg_uuid_t *>(&def.id)), CStringGetTextDatum(entity_id)};
	if (SPI_execute_plan(plan, key, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "event: reading a projection failed");
	Jsonb *result = nullptr;
	if (SPI_processed == 1) {
		HeapTuple t = SPI_tuptable->vals[0];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool isnull;
		Jsonb *state = DatumGetJsonbP(SPI_getbinval(t, d, 1, &isnull));
		int64 version = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		pg_uuid_t *last = DatumGetUUIDP(SPI_getbinval(t, d, 3, &isnull));
		TimestampTz updated = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(result_cxt);
		result = ProjectionJson(def, entity_id, state, version, last, updated);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return result;
}

// The state of an entity whose type has no projection: the default projection (merge reducer,
// every event, no snapshots) folded from the stream's stored events at read time, nothing stored;
// NULL if the stream has no events. In the current context.
Jsonb *FoldUndefined(const char *entity_type, const char *entity_id) {
	Definition def;
	memset(&def, 0, sizeof(def));
	def.entity_type = const_cast<char *>(entity_type);
	def.name = const_cast<char *>("default");
	def.reducer = Reducer::kMerge;
	char *stream_id = psprintf("%s:%s", entity_type, entity_id);
	MemoryContext result_cxt = CurrentMemoryContext;
	Connect();
	Fold f;
	StartFold(&f, &def, entity_id, false);
	(void)FoldStored(&f, stream_id, 0, PG_INT64_MAX, DT_NOEND, true);
	MemoryContext spi = MemoryContextSwitchTo(result_cxt);
	Jsonb *result =
		f.version > 0 ? ProjectionJson(def, entity_id, StateOf(&f), f.version, &f.last_event_id, f.last_created_at) : nullptr;
	MemoryContextSwitchTo(spi);
	EndFold(&f);
	SPI_finish();
	return result;
}

char *TextArg(FunctionCallInfo fcinfo, int arg, const char *what) {
	if (PG_ARGISNULL(arg))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

char *OptionalTextArg(FunctionCallInfo fcinfo, int arg) {
	return PG_ARGISNULL(arg) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

} // namespace

bool HasProjections() {
	LoadDefinitions();
	return cache.n > 0;
}

void ResetProjectionCache() {
	cache.valid = false;
}

void ApplyProjections(const EventRecord *const *records, int n) {
	LoadDefinitions();
	if (cache.n == 0)
		return;
	// The events of streams whose entity type has a projection, by stream and version.
	const EventRecord **mine = static_cast<const EventRecord **>(palloc(sizeof(EventRecord *) * n));
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (records[i]->nulls[kColStreamId])
			continue;
		text *stream = DatumGetTextPP(records[i]->values[kColStreamId]);
		const char *s = VARDATA_ANY(stream);
		const char *colon = static_cast<const char *>(memchr(s, ':', VARSIZE_ANY_EXHDR(stream)));
		if (colon == nullptr)
			continue;
		for (int d = 0; d < cache.n; d++)
			if (TypeMatches(cache.defs[d], s, static_cast<int>(colon - s))) {
				mine[m++] = records[i];
				break;
			}
	}
	if (m == 0)
		return;
	qsort(mine, m, sizeof(EventRecord *), CompareByStreamVersion);
	PrepareStreamEventsPlan();
	// The definitions of each stream's type, copied: a reducer may change them (and the cache).
	for (int g = 0; g < m;) {
		char *stream_id = TextDatumGetCString(mine[g]->values[kColStreamId]);
		int h = g + 1;
		while (h < m && strcmp(TextDatumGetCString(mine[h]->values[kColStreamId]), stream_id) == 0)
			h++;
		int type_len = static_cast<int>(strchr(stream_id, ':') - stream_id);
		int n_defs = 0;
		Definition **defs = static_cast<Definition **>(palloc(sizeof(Definition *) * (cache.n + 1)));
		for (int d = 0; d < cache.n; d++)
			if (TypeMatches(cache.defs[d], stream_id, type_len))
				defs[n_defs++] = CopyDefinition(cache.defs[d]);
		for (int d = 0; d < n_defs; d++)
			ApplyToEntity(defs[d], stream_id, stream_id + type_len + 1, mine + g, h - g);
		g = h;
	}
}

} // namespace event::pg

using namespace event::pg;

// event.create_projection(entity_type, reducer, name, field, function, event_types,
// snapshot_every, build): stores the definition, records event.projection.created, folds the
// existing streams of the type when build; returns the definition.
EVENT_FUNCTION(event_create_projection) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	event::core::ValidateEntityType(entity_type);
	char *reducer_name = TextArg(fcinfo, 1, "reducer");
	Reducer reducer = ReducerFromName(reducer_name);
	char *name = TextArg(fcinfo, 2, "name");
	if (name[0] == '\0' || strlen(name) > 200)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid projection name \"%s\"", name),
		                errhint("Give a name of 1 to 200 characters.")));
	if ((reducer == Reducer::kSum) != !PG_ARGISNULL(3))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg(reducer == Reducer::kSum ? "the sum reducer needs a field"
		                                                : "field is only for the sum reducer"),
		                errhint("Give field as the path of the number in the event's data, for example '{amount}'.")));
	if (!PG_ARGISNULL(3)) {
		int len;
		char **path = TextArrayToStrings(PG_GETARG_DATUM(3), &len);
		(void)path;
		ArrayType *a = PG_GETARG_ARRAYTYPE_P(3);
		if (len == 0 || len > kMaxPathLength || ARR_NDIM(a) != 1 || array_contains_nulls(a))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid field path"),
			                errhint("Give 1 to %d keys without NULL, for example '{order,total}'.", kMaxPathLength)));
	}
	if ((reducer == Reducer::kFunction) != !PG_ARGISNULL(4))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg(reducer == Reducer::kFunction ? "the function reducer needs a function"
		                                                     : "function is only for the function reducer"),
		                errhint("Give a function (state jsonb, event jsonb) returning jsonb, for example "
		                        "'my_reducer(jsonb,jsonb)'.")));
	if (!PG_ARGISNULL(4)) {
		Oid fn = PG_GETARG_OID(4);
		Oid rettype = get_func_rettype(fn);
		Oid *argtypes;
		int nargs;
		get_func_signature(fn, &argtypes, &nargs);
		if (rettype != JSONBOID || nargs != 2 || argtypes[0] != JSONBOID || argtypes[1] != JSONBOID ||
		    get_func_retset(fn))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("reducer function \"%s\" must take (jsonb, jsonb) and return jsonb",
			                       format_procedure(fn))));
	}
	if (!PG_ARGISNULL(5)) {
		int len;
		char **types = TextArrayToStrings(PG_GETARG_DATUM(5), &len);
		if (len > kMaxEventTypes || array_contains_nulls(PG_GETARG_ARRAYTYPE_P(5)))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid event_types"),
			                errhint("Give at most %d event types without NULL; empty for every event.", kMaxEventTypes)));
		for (int i = 0; i < len; i++)
			event::core::ValidateEventType(types[i]);
	}
	if (!PG_ARGISNULL(6) && PG_GETARG_INT32(6) < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid snapshot_every \"%d\"", PG_GETARG_INT32(6)),
		                errhint("Give a positive number of events, or NULL for no automatic snapshots.")));
	bool build = PG_ARGISNULL(7) || PG_GETARG_BOOL(7);

	MemoryContext result_cxt = CurrentMemoryContext;
	Connect();
	static const Oid kTypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, REGPROCEDUREOID, TEXTARRAYOID, INT4OID};
	Datum values[7] = {CStringGetTextDatum(entity_type), CStringGetTextDatum(reducer_name), CStringGetTextDatum(name),
	                   PG_ARGISNULL(3) ? (Datum)0 : PG_GETARG_DATUM(3), PG_ARGISNULL(4) ? (Datum)0 : PG_GETARG_DATUM(4),
	                   PG_ARGISNULL(5) ? PointerGetDatum(construct_empty_array(TEXTOID)) : PG_GETARG_DATUM(5),
	                   PG_ARGISNULL(6) ? (Datum)0 : PG_GETARG_DATUM(6)};
	char nulls[7] = {' ', ' ', ' ', PG_ARGISNULL(3) ? 'n' : ' ', PG_ARGISNULL(4) ? 'n' : ' ', ' ',
	                 PG_ARGISNULL(6) ? 'n' : ' '};
	// One statement: the row and the event.projection.created event (published by the relay).
	int rc = SPI_execute_with_args(
		"WITH d AS (INSERT INTO event.projection_definitions AS d (id, entity_type, name, reducer, field, function, "
		"event_types, snapshot_every, created_at) VALUES (event.uuid_v7(), $1, $3, $2, $4, $5, $6, $7, "
		"pg_catalog.now()) ON CONFLICT (entity_type, name) DO NOTHING RETURNING " PROJECTION_DEFINITION_JSON_SQL
		" AS j), "
		"e AS (SELECT (event.create_event('event.projection.created', d.j, 'system', 'system')).event_id FROM d) "
		"SELECT d.j || pg_catalog.jsonb_build_object('event_id', e.event_id::text) FROM d, e",
		7, const_cast<Oid *>(kTypes), values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: inserting the projection failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_DUPLICATE_OBJECT),
		                errmsg("projection \"%s\" of entity type \"%s\" already exists", name, entity_type),
		                errhint("Drop it with event.drop_projection first, or choose another name.")));
	Datum result = FirstDatum();
	if (build) {
		CommandCounterIncrement();
		ResetProjectionCache(); // this transaction's own new row
		Definition *def = FindDefinition(entity_type, name);
		Datum arg[1] = {CStringGetTextDatum(entity_type)};
		Oid type[1] = {TEXTOID};
		if (SPI_execute_with_args("SELECT entity_id FROM event.event_streams WHERE entity_type OPERATOR(pg_catalog.=) $1 "
		                          "ORDER BY entity_id",
		                          1, type, arg, nullptr, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "event: listing streams failed");
		SPITupleTable *rows = SPI_tuptable;
		uint64 n = SPI_processed;
		for (uint64 i = 0; i < n; i++)
			(void)RebuildEntity(def, SPI_getvalue(rows->vals[i], rows->tupdesc, 1), result_cxt);
	}
	SPI_finish();
	return result;
}

// event.list_projections(): every definition, by entity type and name.
EVENT_FUNCTION(event_list_projections) {
	Connect();
	int rc = SPI_execute("SELECT COALESCE(pg_catalog.jsonb_agg(" PROJECTION_DEFINITION_JSON_SQL
	                     " ORDER BY d.entity_type, d.name), '[]') FROM event.projection_definitions d",
	                     true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: listing projections failed: %s", SPI_result_code_string(rc));
	Datum result = FirstDatum();
	SPI_finish();
	return result;
}

// event.drop_projection(entity_type, name): removes the definition, its states and snapshots.
EVENT_FUNCTION(event_drop_projection) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	char *name = TextArg(fcinfo, 1, "name");
	Connect();
	static const Oid kTypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(entity_type), CStringGetTextDatum(name)};
	int rc = SPI_execute_with_args(
		"WITH d AS (DELETE FROM event.projection_definitions d WHERE d.entity_type OPERATOR(pg_catalog.=) $1 AND "
		"d.name OPERATOR(pg_catalog.=) $2 RETURNING " PROJECTION_DEFINITION_JSON_SQL " AS j, d.id), "
		"p AS (DELETE FROM event.event_projections p USING d WHERE p.projection_id OPERATOR(pg_catalog.=) d.id), "
		"s AS (DELETE FROM event.projection_snapshots s USING d WHERE s.projection_id OPERATOR(pg_catalog.=) d.id) "
		"SELECT d.j FROM d",
		2, const_cast<Oid *>(kTypes), values, nullptr, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: dropping the projection failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
		                errmsg("projection \"%s\" of entity type \"%s\" does not exist", name, entity_type),
		                errhint("List the projections with event.list_projections().")));
	Datum result = FirstDatum();
	SPI_finish();
	return result;
}

// event.get_projection(entity_type, entity_id, name): the entity's state (one index lookup), NULL
// for an entity without a state. An entity type without any projection, asked without a name,
// gets the default one (merge of the events' data) folded from its stream at read time.
EVENT_FUNCTION(event_get_projection) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	char *entity_id = TextArg(fcinfo, 1, "entity_id");
	Definition *def = FindDefinition(entity_type, OptionalTextArg(fcinfo, 2), true);
	Jsonb *result = def == nullptr ? FoldUndefined(entity_type, entity_id) : ReadProjection(*def, entity_id);
	if (result == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

// event.rebuild_projection(entity_type, entity_id, name): one entity folded again from its stream.
EVENT_FUNCTION(event_rebuild_projection) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	char *entity_id = TextArg(fcinfo, 1, "entity_id");
	Definition *def = FindDefinition(entity_type, OptionalTextArg(fcinfo, 2));
	MemoryContext result_cxt = CurrentMemoryContext;
	Connect();
	Jsonb *result = RebuildEntity(def, entity_id, result_cxt);
	SPI_finish();
	if (result == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

// event.rebuild_projections(entity_type, name, after_entity_id, max_count): the type's entities
// after after_entity_id in entity_id order, at most max_count; {"rebuilt": n, "last_entity_id"}.
EVENT_FUNCTION(event_rebuild_projections) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	Definition *def = FindDefinition(entity_type, OptionalTextArg(fcinfo, 1));
	char *after = OptionalTextArg(fcinfo, 2);
	if (!PG_ARGISNULL(3) && PG_GETARG_INT32(3) < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("max_count must be positive"),
		                errhint("Give NULL to rebuild every entity in one call.")));
	MemoryContext result_cxt = CurrentMemoryContext;
	Connect();
	static const Oid kTypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum values[3] = {CStringGetTextDatum(entity_type), after ? CStringGetTextDatum(after) : (Datum)0,
	                   PG_ARGISNULL(3) ? (Datum)0 : PG_GETARG_DATUM(3)};
	char nulls[3] = {' ', after ? ' ' : 'n', PG_ARGISNULL(3) ? 'n' : ' '};
	if (SPI_execute_with_args("SELECT entity_id FROM event.event_streams WHERE entity_type OPERATOR(pg_catalog.=) $1 "
	                          "AND ($2 IS NULL OR entity_id OPERATOR(pg_catalog.>) $2) ORDER BY entity_id LIMIT $3",
	                          3, const_cast<Oid *>(kTypes), values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "event: listing streams failed");
	SPITupleTable *rows = SPI_tuptable;
	uint64 n = SPI_processed;
	char *last = nullptr;
	MemoryContext item_cxt = AllocSetContextCreate(CurrentMemoryContext, "event rebuild item", ALLOCSET_DEFAULT_SIZES);
	for (uint64 i = 0; i < n; i++) {
		last = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(item_cxt);
		(void)RebuildEntity(def, last, item_cxt);
		MemoryContextSwitchTo(old);
		MemoryContextReset(item_cxt);
	}
	MemoryContextSwitchTo(result_cxt);
	JsonbBuilder b;
	b.BeginObject();
	b.AddInt("rebuilt", static_cast<int64>(n));
	b.AddString("last_entity_id", last);
	b.EndObject();
	Jsonb *result = b.Finish();
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}

// event.snapshot_projection(entity_type, entity_id, name): the current state stored as a snapshot.
EVENT_FUNCTION(event_snapshot_projection) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	char *entity_id = TextArg(fcinfo, 1, "entity_id");
	Definition *def = FindDefinition(entity_type, OptionalTextArg(fcinfo, 2));
	Connect();
	Datum key[2] = {UUIDPGetDatum(&def->id), CStringGetTextDatum(entity_id)};
	if (SPI_execute_with_args("INSERT INTO event.projection_snapshots AS s (projection_id, entity_id, version, state, "
	                          "last_event_id, last_created_at, created_at) SELECT p.projection_id, p.entity_id, "
	                          "p.version, p.state, p.last_event_id, p.last_created_at, pg_catalog.now() FROM "
	                          "event.event_projections p WHERE p.projection_id OPERATOR(pg_catalog.=) $1 AND "
	                          "p.entity_id OPERATOR(pg_catalog.=) $2 ON CONFLICT (projection_id, entity_id, version) "
	                          "DO NOTHING",
	                          2, const_cast<Oid *>(kKeyTypes), key, nullptr, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "event: writing a projection snapshot failed");
	SPI_finish();
	Jsonb *result = ReadProjection(*def, entity_id);
	if (result == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

// event.projection_at(entity_type, entity_id, version, at, name): the state after the events up
// to version and stored at or before at (in stream order: the fold stops at the first later
// one), folded from the nearest snapshot (or the current state) before that point.
EVENT_FUNCTION(event_projection_at) {
	char *entity_type = TextArg(fcinfo, 0, "entity_type");
	char *entity_id = TextArg(fcinfo, 1, "entity_id");
	if (PG_ARGISNULL(2) && PG_ARGISNULL(3))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("projection_at needs a version or a time"),
		                errhint("Pass version => n, at => timestamptz, or both.")));
	int64 target = PG_ARGISNULL(2) ? PG_INT64_MAX : PG_GETARG_INT64(2);
	if (target < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("version must not be negative"),
		                errhint("Version 0 is the state before the first event.")));
	TimestampTz until = PG_ARGISNULL(3) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(3);
	Definition *def = FindDefinition(entity_type, OptionalTextArg(fcinfo, 4));
	char *stream_id = psprintf("%s:%s", def->entity_type, entity_id);
	MemoryContext result_cxt = CurrentMemoryContext;
	Connect();
	Fold f;
	StartFold(&f, def, entity_id, false);
	static const Oid kTypes[4] = {UUIDOID, TEXTOID, INT8OID, TIMESTAMPTZOID};
	SPIPlanPtr plan = PreparedPlan(kNearestSnapshot,
	                       "(SELECT version, state, last_event_id, last_created_at FROM event.projection_snapshots "
	                       "WHERE projection_id OPERATOR(pg_catalog.=) $1 AND entity_id OPERATOR(pg_catalog.=) $2 "
	                       "AND version OPERATOR(pg_catalog.<=) $3 AND last_created_at OPERATOR(pg_catalog.<=) $4 "
	                       "ORDER BY version DESC LIMIT 1) UNION ALL "
	                       "(SELECT version, state, last_event_id, last_created_at FROM event.event_projections "
	                       "WHERE projection_id OPERATOR(pg_catalog.=) $1 AND entity_id OPERATOR(pg_catalog.=) $2 "
	                       "AND version OPERATOR(pg_catalog.<=) $3 AND last_created_at OPERATOR(pg_catalog.<=) $4) "
	                       "ORDER BY 1 DESC LIMIT 1",
	                       4, kTypes);
	Datum args[4] = {UUIDPGetDatum(&def->id), CStringGetTextDatum(entity_id), Int64GetDatum(target),
	                 TimestampTzGetDatum(until)};
	if (SPI_execute_plan(plan, args, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "event: reading projection snapshots failed");
	if (SPI_processed == 1) {
		HeapTuple t = SPI_tuptable->vals[0];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool isnull;
		f.version = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		Jsonb *state = DatumGetJsonbP(SPI_getbinval(t, d, 2, &isnull));
		f.last_event_id = *DatumGetUUIDP(SPI_getbinval(t, d, 3, &isnull));
		f.last_created_at = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
		MemoryContext old = MemoryContextSwitchTo(f.cxt[f.current]);
		f.state = CopyJsonb(state);
		MemoryContextSwitchTo(old);
	}
	bool complete = f.version >= target || FoldStored(&f, stream_id, f.version, target, until, true);
	if (complete && f.version < target && !PG_ARGISNULL(2))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("entity \"%s\" has no version %lld", stream_id, static_cast<long long>(target)),
		                errdetail("The stream is at version %lld.", static_cast<long long>(f.version)),
		                errhint("Ask for a version up to the stream's current one.")));
	MemoryContextSwitchTo(result_cxt);
	Jsonb *result = ProjectionJson(*def, entity_id, StateOf(&f), f.version, f.version > 0 ? &f.last_event_id : nullptr,
	                               f.version > 0 ? f.last_created_at : DT_NOBEGIN);
	EndFold(&f);
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}
