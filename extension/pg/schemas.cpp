// schemas.cpp — the schema registry: event.register_schema and event.deactivate_schema, the
// per-backend cache of compiled schemas, and ApplyEventSchema, the append path's validation
// (docs/sql-api.md "Schema registry"). The JSON Schema work itself is core/json_schema.
//
// The cache holds the newest active version of every event_type that has one, loaded in one
// query on first use and dropped when event.event_schemas changes (its statement trigger
// event.invalidate_value_cache sends a relcache invalidation, OnSchemaRelationInvalidated). A
// version is compiled on its first validation and kept. An event_type without a schema costs
// one hash lookup (none at all while no schema is registered).
//
// C++ objects (std::string, the map, compiled schemas) live only in helpers that call no
// PostgreSQL function, so a PostgreSQL error never longjmps over their destructors.
#include "pg/compat.hpp"

extern "C" {
#include "utils/lsyscache.h"
}

#include <unordered_map>

#include "core/errors.hpp"
#include "core/json_schema.hpp"
#include "core/validate.hpp"
#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/jsonb_builder.hpp"
#include "pg/schemas.hpp"
#include "pg/sqlstate.hpp"

namespace event::pg {
namespace {

struct CachedSchema {
	int version;
	std::string text;                            // the schema as JSON text
	std::unique_ptr<core::JsonSchema> compiled; // on first use
};

struct SchemaCache {
	bool valid = false;
	uint64 generation = 0; // bumped by every invalidation (one may arrive while loading)
	Oid relid = InvalidOid;
	std::unordered_map<std::string, CachedSchema> by_type;
};

SchemaCache &Cache() {
	static SchemaCache cache;
	return cache;
}

const char kLoadSql[] = "SELECT DISTINCT ON (s.event_type) s.event_type, s.version, s.schema::text "
                        "FROM event.event_schemas s WHERE s.active ORDER BY s.event_type, s.version DESC";

// Replaces the cached map with n rows (plain C++).
void Fill(char **types, const int *versions, char **texts, uint64 n) {
	SchemaCache &c = Cache();
	c.by_type.clear();
	for (uint64 i = 0; i < n; i++)
		c.by_type[types[i]] = CachedSchema{versions[i], texts[i], nullptr};
}

void ClearCache() {
	Cache().by_type.clear();
}

// Loads the newest active version of every event_type (SPI; nesting is fine).
void Load() {
	SchemaCache &c = Cache();
	if (c.valid)
		return;
	Oid relid = get_relname_relid("event_schemas", EventNamespace());
	if (!OidIsValid(relid)) {
		// A 0.1.0 catalog (before ALTER EXTENSION UPDATE): no registry; looked up again next time.
		ClearCache();
		return;
	}
	const uint64 generation = c.generation;
	MemoryContext caller = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	if (SPI_execute(kLoadSql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "event: loading event.event_schemas failed");
	const uint64 n = SPI_processed;
	auto *types = static_cast<char **>(MemoryContextAlloc(caller, sizeof(char *) * (n + 1)));
	auto *texts = static_cast<char **>(MemoryContextAlloc(caller, sizeof(char *) * (n + 1)));
	auto *versions = static_cast<int *>(MemoryContextAlloc(caller, sizeof(int) * (n + 1)));
	for (uint64 i = 0; i < n; i++) {
		HeapTuple row = SPI_tuptable->vals[i];
		bool isnull;
		types[i] = MemoryContextStrdup(caller, SPI_getvalue(row, SPI_tuptable->tupdesc, 1));
		versions[i] = DatumGetInt32(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
		texts[i] = MemoryContextStrdup(caller, SPI_getvalue(row, SPI_tuptable->tupdesc, 3));
	}
	SPI_finish();
	Fill(types, versions, texts, n);
	for (uint64 i = 0; i < n; i++) {
		pfree(types[i]);
		pfree(texts[i]);
	}
	pfree(types);
	pfree(texts);
	pfree(versions);
	c.relid = relid;
	c.valid = c.generation == generation;
}

CachedSchema *Find(const char *event_type) {
	SchemaCache &c = Cache();
	if (c.by_type.empty())
		return nullptr;
	auto it = c.by_type.find(event_type);
	return it == c.by_type.end() ? nullptr : &it->second;
}

// Validates the data text against s (compiled on first use); throws EV002 with the violation.
void CheckData(const char *event_type, CachedSchema *s, const char *data_text) {
	if (s->compiled == nullptr) {
		try {
			s->compiled = core::JsonSchema::Compile(s->text);
		} catch (const core::SqlError &e) {
			throw core::SqlError(core::kInternalError,
			                     "stored schema version " + std::to_string(s->version) + " of event type \"" +
			                         core::DisplayValue(event_type) + "\" does not compile",
			                     e.detail(), "Register a new version with event.register_schema(), or deactivate it.");
		}
	}
	core::SchemaViolation v;
	if (s->compiled->Validate(data_text, &v))
		return;
	std::string message = v.message.size() > 300 ? v.message.substr(0, 300) + "..." : v.message;
	std::string pointer = v.pointer.size() > 200 ? v.pointer.substr(0, 200) + "..." : v.pointer;
	for (char &ch : pointer)
		if (static_cast<unsigned char>(ch) < 0x20)
			ch = '?';
	throw core::SqlError(core::kSchemaValidation,
	                     "event \"" + core::DisplayValue(event_type) + "\" does not match schema version " +
	                         std::to_string(s->version),
	                     "JSON path \"" + pointer + "\"" + (pointer.empty() ? " (the whole data)" : "") +
	                         " fails rule \"" + v.rule + "\": " + message,
	                     "Fix the event data, or register a new schema version with event.register_schema().");
}

// metadata || {"schema_version": version}
Jsonb *WithSchemaVersion(Jsonb *metadata, int version) {
	JsonbBuilder b;
	b.BeginObject();
	b.AddInt("schema_version", version);
	b.EndObject();
	Jsonb *tag = b.Finish();
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(metadata), JsonbPGetDatum(tag)));
}

// Trims and checks an event_type argument like the append path does.
char *EventTypeArg(FunctionCallInfo fcinfo) {
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("event_type must not be null"),
		                errhint("Name the event type the schema is for, for example \"order.placed\".")));
	char *event_type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	size_t start = 0, len = 0;
	{
		std::string_view trimmed = core::TrimAscii(event_type);
		core::ValidateEventType(trimmed);
		start = static_cast<size_t>(trimmed.data() - event_type);
		len = trimmed.size();
	}
	event_type[start + len] = '\0';
	return event_type + start;
}

void CheckCompiles(const char *schema_text) {
	(void)core::JsonSchema::Compile(schema_text);
}

// Copies the incompatibility reason (empty if compatible) into out.
void Incompatibility(const char *previous, const char *next, char *out, size_t size) {
	std::string why = core::BackwardIncompatibility(previous, next);
	snprintf(out, size, "%s", why.c_str());
}

} // namespace

void ApplyEventSchema(const char *event_type, Jsonb *data, Jsonb **metadata) {
	Load();
	CachedSchema *schema = Find(event_type);
	if (schema == nullptr)
		return;
	const int version = schema->version;
	char *data_text = JsonbToCString(nullptr, &data->root, static_cast<int>(VARSIZE(data)));
	CheckData(event_type, schema, data_text);
	pfree(data_text);
	*metadata = WithSchemaVersion(*metadata, version);
}

void OnSchemaRelationInvalidated(Oid relid) {
	SchemaCache &c = Cache();
	if (relid == InvalidOid || relid == c.relid) {
		c.valid = false;
		c.generation++;
	}
}

} // namespace event::pg

using namespace event::pg;

// event.register_schema(event_type, schema, compatibility, description): a new version.
EVENT_FUNCTION(event_register_schema) {
	char *event_type = EventTypeArg(fcinfo);
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("schema must not be null"),
		                errhint("Pass a draft-7 JSON Schema, for example '{\"type\": \"object\"}'.")));
	Jsonb *schema = PG_GETARG_JSONB_P(1);
	const char *compatibility = PG_ARGISNULL(2) ? "none" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(compatibility, "none") != 0 && strcmp(compatibility, "backward") != 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid compatibility \"%s\"", compatibility),
		                errhint("Allowed values: none, backward.")));
	char *schema_text = JsonbToCString(nullptr, &schema->root, static_cast<int>(VARSIZE(schema)));
	CheckCompiles(schema_text);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	// Registrations of all types one at a time (rare); appends (AccessShareLock) never wait.
	if (SPI_execute("LOCK TABLE event.event_schemas IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "event: locking event.event_schemas failed");
	Oid types[5] = {TEXTOID, JSONBOID, INT4OID, TEXTOID, TEXTOID};
	Datum args[5] = {CStringGetTextDatum(event_type), JsonbPGetDatum(schema), (Datum)0,
	                 CStringGetTextDatum(compatibility), (Datum)0};
	char nulls[6] = "  n n";
	if (!PG_ARGISNULL(3)) {
		args[4] = PG_GETARG_DATUM(3);
		nulls[4] = ' ';
	}
	int rc = SPI_execute_with_args(
		"SELECT s.version, s.schema::text, s.schema OPERATOR(pg_catalog.=) $2 FROM event.event_schemas s "
		"WHERE s.event_type OPERATOR(pg_catalog.=) $1 AND s.active ORDER BY s.version DESC LIMIT 1",
		2, types, args, nullptr, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: reading event.event_schemas failed");
	bool isnull;
	if (SPI_processed == 1) {
		HeapTuple row = SPI_tuptable->vals[0];
		int current = DatumGetInt32(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
		if (DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull))) {
			ereport(NOTICE, (errmsg("schema of event type \"%s\" is unchanged, version %d stays active", event_type,
			                        current)));
			SPI_finish();
			PG_RETURN_INT32(current);
		}
		if (strcmp(compatibility, "backward") == 0) {
			char reason[1024];
			Incompatibility(SPI_getvalue(row, SPI_tuptable->tupdesc, 2), schema_text, reason, sizeof(reason));
			if (reason[0] != '\0')
				ereport(ERROR, (errcode(SqlState(event::core::kSchemaIncompatible)),
				                errmsg("schema for event type \"%s\" is not backward compatible with version %d",
				                       event_type, current),
				                errdetail("%s.", reason),
				                errhint("Keep every document the active version accepts valid, or register with "
				                        "compatibility => 'none'.")));
		}
	}
	rc = SPI_execute_with_args(
		"INSERT INTO event.event_schemas (event_type, version, schema, active, compatibility, description, created_at) "
		"SELECT $1, COALESCE(pg_catalog.max(s.version), 0) OPERATOR(pg_catalog.+) 1, $2, true, $4, $5, "
		"pg_catalog.now() FROM event.event_schemas s WHERE s.event_type OPERATOR(pg_catalog.=) $1 RETURNING version",
		5, types, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "event: registering the schema failed");
	int version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT32(version);
}

// event.deactivate_schema(event_type, version): stop validating with one version (NULL: all).
EVENT_FUNCTION(event_deactivate_schema) {
	char *event_type = EventTypeArg(fcinfo);
	Oid types[2] = {TEXTOID, INT4OID};
	Datum args[2] = {CStringGetTextDatum(event_type), PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1)};
	const char nulls[3] = {' ', PG_ARGISNULL(1) ? 'n' : ' ', '\0'};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	const char *where = "WHERE s.event_type OPERATOR(pg_catalog.=) $1 "
	                    "AND ($2 IS NULL OR s.version OPERATOR(pg_catalog.=) $2)";
	int rc = SPI_execute_with_args(psprintf("UPDATE event.event_schemas s SET active = false %s AND s.active", where),
	                               2, types, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "event: deactivating the schema failed");
	const int changed = static_cast<int>(SPI_processed);
	if (changed == 0) {
		rc = SPI_execute_with_args(psprintf("SELECT 1 FROM event.event_schemas s %s", where), 2, types, args, nulls,
		                           true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "event: reading event.event_schemas failed");
		if (SPI_processed == 0) {
			if (PG_ARGISNULL(1))
				ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
				                errmsg("event type \"%s\" has no schema", event_type),
				                errhint("See event.list_schemas().")));
			ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
			                errmsg("event type \"%s\" has no schema version %d", event_type, PG_GETARG_INT32(1)),
			                errhint("See event.list_schemas('%s').", event_type)));
		}
	}
	SPI_finish();
	PG_RETURN_INT32(changed);
}
