// catalog.cpp — allowed sources and categories: the per-backend cache, its invalidation,
// event.add_source / event.add_category and the invalidation trigger.
#include "pg/compat.hpp"

extern "C" {
#include "commands/trigger.h"
}

#include "core/validate.hpp"
#include "guard.hpp"
#include "pg/catalog.hpp"
#include "pg/extension_state.hpp"
#include "pg/schemas.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

struct ValueList {
	const char *field;     // "event_source"
	const char *table;     // "event_sources"
	const char *add_call;  // "event.add_source(name)"
	PlanId plan;
	const char *sql;
	bool valid;
	int count;
	char **names;          // TopMemoryContext
	char *allowed;         // "a, b, c"
};

ValueList sources = {"event_source", "event_sources", "event.add_source(name)", PlanId::kLoadSources,
                     "SELECT name FROM event.event_sources ORDER BY name", false, 0, nullptr, nullptr};
ValueList categories = {"event_category", "event_categories", "event.add_category(name)", PlanId::kLoadCategories,
                        "SELECT name FROM event.event_categories ORDER BY name", false, 0, nullptr, nullptr};

const char *const kStatuses[] = {"pending", "processing", "processed", "failed", "archived"};

// Frees what Load built, also when Load failed half-way (an allocation error): names is
// NULL-terminated (palloc0 with one spare slot) and allowed may still be NULL.
void Clear(ValueList &list) {
	if (list.names != nullptr) {
		for (int i = 0; list.names[i] != nullptr; i++)
			pfree(list.names[i]);
		pfree(list.names);
	}
	if (list.allowed != nullptr)
		pfree(list.allowed);
	list.names = nullptr;
	list.allowed = nullptr;
	list.count = 0;
	list.valid = false;
}

// Loads the list from its table (connects to SPI itself; nesting is fine).
void Load(ValueList &list) {
	if (list.valid)
		return;
	Clear(list);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	SPIPlanPtr plan = CachedPlan(list.plan, list.sql, 0, nullptr);
	if (SPI_execute_plan(plan, nullptr, nullptr, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "event: loading %s failed", list.table);
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	StringInfoData allowed;
	initStringInfo(&allowed);
	list.allowed = allowed.data;
	list.names = static_cast<char **>(palloc0((SPI_processed + 1) * sizeof(char *)));
	for (uint64 i = 0; i < SPI_processed; i++) {
		char *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		list.names[i] = pstrdup(name);
		appendStringInfo(&allowed, "%s%s", i > 0 ? ", " : "", name);
		list.allowed = allowed.data; // always the live buffer, so Clear frees it after a failure
	}
	list.count = static_cast<int>(SPI_processed);
	MemoryContextSwitchTo(old);
	SPI_finish();
	list.valid = true;
}

void Check(ValueList &list, const char *value) {
	Load(list);
	for (int i = 0; i < list.count; i++)
		if (strcmp(list.names[i], value) == 0)
			return;
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid %s \"%s\"", list.field, value),
	                errhint("Allowed values: %s. Add one with %s.", list.allowed, list.add_call)));
}

// Inserts a new allowed value; a value that already exists is a notice, not an error.
void AddValue(ValueList &list, const char *name, const char *group) {
	core::ValidateName(list.field, name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	char sql[256];
	Datum values[2] = {CStringGetTextDatum(name), group ? CStringGetTextDatum(group) : (Datum)0};
	Oid types[2] = {TEXTOID, TEXTOID};
	snprintf(sql, sizeof(sql), "INSERT INTO event.%s (name%s) VALUES ($1%s) ON CONFLICT (name) DO NOTHING", list.table,
	         group ? ", group_name" : "", group ? ", $2" : "");
	int rc = SPI_execute_with_args(sql, group ? 2 : 1, types, values, nullptr, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "event: adding to %s failed", list.table);
	if (SPI_processed == 0)
		ereport(NOTICE, (errmsg("%s \"%s\" already exists, skipping", list.field, name)));
	SPI_finish();
}

// add_source/add_category are not STRICT (a NULL argument would silently do nothing): 22004.
void RequireArgument(FunctionCallInfo fcinfo, int arg, const char *name) {
	if (PG_ARGISNULL(arg))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name),
		                errhint(arg == 0 ? "Pass the new value, for example 'billing'."
		                                 : "Omit group_name to use \"custom\".")));
}

} // namespace

void CheckSource(const char *value) {
	Check(sources, value);
}

void CheckCategory(const char *value) {
	Check(categories, value);
}

void CheckStatus(const char *value) {
	for (const char *status : kStatuses)
		if (strcmp(status, value) == 0)
			return;
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid status \"%s\"", value),
	                errhint("Allowed values: pending, processing, processed, failed, archived.")));
}

void ResetValueCache() {
	sources.valid = false;
	categories.valid = false;
}

void OnRelationInvalidated(Oid relid) {
	OnSchemaRelationInvalidated(relid); // schemas.cpp
	// InvalidOid means "everything"; otherwise only our two tables matter. EventRelation is not
	// called here (no catalog access inside an invalidation callback).
	if (relid == InvalidOid) {
		ForgetCatalogOids();
		return;
	}
	ResetValueCache();
	ResetProjectionCache();
}

} // namespace event::pg

// event.add_source(name): allow a new event_source value.
EVENT_FUNCTION(event_add_source) {
	event::pg::RequireArgument(fcinfo, 0, "name");
	char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	event::pg::AddValue(event::pg::sources, name, nullptr);
	PG_RETURN_VOID();
}

// event.add_category(name, group_name): allow a new event_category value.
EVENT_FUNCTION(event_add_category) {
	event::pg::RequireArgument(fcinfo, 0, "name");
	event::pg::RequireArgument(fcinfo, 1, "group_name");
	char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char *group = text_to_cstring(PG_GETARG_TEXT_PP(1));
	event::pg::AddValue(event::pg::categories, name, group);
	PG_RETURN_VOID();
}

// Trigger on the two value tables: every backend drops its cached lists at commit.
EVENT_FUNCTION(event_invalidate_value_cache) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("event.invalidate_value_cache() must be called as a trigger")));
	auto *trigdata = reinterpret_cast<TriggerData *>(fcinfo->context);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(nullptr);
}
