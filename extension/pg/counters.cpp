// counters.cpp — write-path statistics counters (see counters.hpp and docs/architecture.md).
#include "pg/compat.hpp"

#include "pg/counters.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

struct PendingCounter {
	char *dimension;
	char *key;
	int64 delta;
};

// Pending deltas live in TopMemoryContext between CounterAdd and CountersFlush; a call that
// fails leaves them behind, so every entry point clears them on abort (module.cpp xact callback).
PendingCounter *pending = nullptr;
int pending_count = 0;
int pending_capacity = 0;

const char kUpsertSql[] =
	"INSERT INTO event.stat_counters AS c (dimension, key, shard, n) "
	"SELECT d, k, $3, v FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
	"pg_catalog.unnest($4::bigint[])) AS u(d, k, v) "
	"ON CONFLICT (dimension, key, shard) DO UPDATE SET n = c.n OPERATOR(pg_catalog.+) excluded.n";

// Orders entries by (dimension, key) so that two backends that share a shard lock rows in the
// same order and cannot deadlock.
int CompareCounters(const void *a, const void *b) {
	const auto *x = static_cast<const PendingCounter *>(a);
	const auto *y = static_cast<const PendingCounter *>(b);
	int c = strcmp(x->dimension, y->dimension);
	return c != 0 ? c : strcmp(x->key, y->key);
}

} // namespace

void CounterAdd(const char *dimension, const char *key, int64 delta) {
	for (int i = 0; i < pending_count; i++) {
		if (strcmp(pending[i].dimension, dimension) == 0 && strcmp(pending[i].key, key) == 0) {
			pending[i].delta += delta;
			return;
		}
	}
	if (pending_count == pending_capacity) {
		int capacity = pending_capacity == 0 ? 32 : pending_capacity * 2;
		if (pending == nullptr)
			pending = static_cast<PendingCounter *>(MemoryContextAlloc(TopMemoryContext, capacity * sizeof(PendingCounter)));
		else
			pending = static_cast<PendingCounter *>(repalloc(pending, capacity * sizeof(PendingCounter)));
		pending_capacity = capacity;
	}
	pending[pending_count].dimension = MemoryContextStrdup(TopMemoryContext, dimension);
	pending[pending_count].key = MemoryContextStrdup(TopMemoryContext, key);
	pending[pending_count].delta = delta;
	pending_count++;
}

void CountStoredEvent(const char *source, const char *category, const char *type, const char *user_id,
                      TimestampTz created_at) {
	char day[16];
	pg_time_t t = timestamptz_to_time_t(created_at);
	struct pg_tm *tm = pg_gmtime(&t);
	snprintf(day, sizeof(day), "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);

	CounterAdd("total", "", 1);
	CounterAdd("status", "pending", 1);
	CounterAdd("source", source, 1);
	CounterAdd("category", category, 1);
	CounterAdd("type", type, 1);
	if (user_id != nullptr)
		CounterAdd("user", user_id, 1);
	CounterAdd("day", day, 1);
}

void CountersDiscard() {
	for (int i = 0; i < pending_count; i++) {
		pfree(pending[i].dimension);
		pfree(pending[i].key);
	}
	pending_count = 0;
}

int CountersPending() {
	return pending_count;
}

void CountersFlush() {
	if (pending_count == 0)
		return;
	qsort(pending, pending_count, sizeof(PendingCounter), CompareCounters);

	Datum *dims = static_cast<Datum *>(palloc(pending_count * sizeof(Datum)));
	Datum *keys = static_cast<Datum *>(palloc(pending_count * sizeof(Datum)));
	Datum *deltas = static_cast<Datum *>(palloc(pending_count * sizeof(Datum)));
	int n = 0;
	for (int i = 0; i < pending_count; i++) {
		if (pending[i].delta == 0)
			continue;
		dims[n] = CStringGetTextDatum(pending[i].dimension);
		keys[n] = CStringGetTextDatum(pending[i].key);
		deltas[n] = Int64GetDatum(pending[i].delta);
		n++;
	}
	CountersDiscard();
	if (n == 0)
		return;

	static const Oid kTypes[] = {TEXTARRAYOID, TEXTARRAYOID, INT4OID, INT8ARRAYOID};
	SPIPlanPtr plan = CachedPlan(PlanId::kCounterUpsert, kUpsertSql, 4, kTypes);
	Datum values[4];
	values[0] = PointerGetDatum(construct_array(dims, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = Int32GetDatum(MyBackendId);
	values[3] = PointerGetDatum(construct_array(deltas, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	int rc = SPI_execute_plan(plan, values, nullptr, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "event: counter upsert failed: %s", SPI_result_code_string(rc));
}

} // namespace event::pg
