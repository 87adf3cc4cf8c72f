// counters.cpp — write-path statistics counters (see counters.hpp and docs/architecture.md).
#include "pg/compat.hpp"

extern "C" {
#include "storage/backendid.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/hsearch.h"
}

#include "pg/counters.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

constexpr int kDimensionBytes = 16;
constexpr int kKeyBytes = 256; // event_type, user_id and names are at most 255 bytes

struct CounterKey {
	char dimension[kDimensionBytes];
	char key[kKeyBytes];
	SubTransactionId subid;
};

struct CounterEntry {
	CounterKey tag; // hash key, must be first
	int64 delta;
};

// Pending deltas of the current transaction, in TopTransactionContext (gone at transaction end).
HTAB *pending = nullptr;
LocalTransactionId pending_lxid = InvalidLocalTransactionId;
// The role the appends that produced the pending deltas ran as (the owner of the SECURITY
// DEFINER write functions). The flush at PRE_COMMIT runs as the session user, who has no right
// on event.stat_counters (defect 7): it switches to this role for the upsert.
Oid pending_role = InvalidOid;

const char kUpsertSql[] =
	"INSERT INTO event.stat_counters AS c (dimension, key, shard, n) "
	"SELECT d, k, $3, v FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
	"pg_catalog.unnest($4::bigint[])) AS u(d, k, v) "
	"ON CONFLICT (dimension, key, shard) DO UPDATE SET n = c.n OPERATOR(pg_catalog.+) excluded.n";

HTAB *Pending(bool create) {
	if (pending != nullptr && pending_lxid == MyProc->lxid)
		return pending;
	pending = nullptr;
	if (!create)
		return nullptr;
	HASHCTL ctl;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CounterKey);
	ctl.entrysize = sizeof(CounterEntry);
	ctl.hcxt = TopTransactionContext;
	pending = hash_create("event pending counters", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	pending_lxid = MyProc->lxid;
	return pending;
}

// Orders entries by (dimension, key) so that two backends that share a shard lock rows in the
// same order and cannot deadlock.
int CompareEntries(const void *a, const void *b) {
	const auto *x = *static_cast<CounterEntry *const *>(a);
	const auto *y = *static_cast<CounterEntry *const *>(b);
	int c = strcmp(x->tag.dimension, y->tag.dimension);
	return c != 0 ? c : strcmp(x->tag.key, y->tag.key);
}

} // namespace

void CounterAdd(const char *dimension, const char *key, int64 delta) {
	CounterKey tag;
	memset(&tag, 0, sizeof(tag));
	strlcpy(tag.dimension, dimension, sizeof(tag.dimension));
	strlcpy(tag.key, key, sizeof(tag.key));
	tag.subid = GetCurrentSubTransactionId();
	pending_role = GetUserId();
	bool found;
	auto *entry = static_cast<CounterEntry *>(hash_search(Pending(true), &tag, HASH_ENTER, &found));
	entry->delta = found ? entry->delta + delta : delta;
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

void CountersAbortSubtransaction(SubTransactionId subid) {
	HTAB *table = Pending(false);
	if (table == nullptr)
		return;
	// Subtransaction ids grow; every delta made after subid started belongs to it or its children.
	HASH_SEQ_STATUS scan;
	hash_seq_init(&scan, table);
	CounterEntry *entry;
	while ((entry = static_cast<CounterEntry *>(hash_seq_search(&scan))) != nullptr)
		if (entry->tag.subid >= subid)
			hash_search(table, &entry->tag, HASH_REMOVE, nullptr);
}

void CountersDiscard() {
	pending = nullptr; // its memory goes with TopTransactionContext
}

void CountersFlush() {
	HTAB *table = Pending(false);
	if (table == nullptr)
		return;
	long count = hash_get_num_entries(table);
	if (count == 0)
		return;

	auto **entries = static_cast<CounterEntry **>(palloc(count * sizeof(CounterEntry *)));
	HASH_SEQ_STATUS scan;
	hash_seq_init(&scan, table);
	long m = 0;
	CounterEntry *entry;
	while ((entry = static_cast<CounterEntry *>(hash_seq_search(&scan))) != nullptr)
		entries[m++] = entry;
	qsort(entries, m, sizeof(CounterEntry *), CompareEntries);

	Datum *dims = static_cast<Datum *>(palloc(m * sizeof(Datum)));
	Datum *keys = static_cast<Datum *>(palloc(m * sizeof(Datum)));
	Datum *deltas = static_cast<Datum *>(palloc(m * sizeof(Datum)));
	int n = 0;
	for (long i = 0; i < m;) {
		int64 sum = 0;
		long j = i;
		while (j < m && CompareEntries(&entries[i], &entries[j]) == 0)
			sum += entries[j++]->delta;
		if (sum != 0) {
			dims[n] = CStringGetTextDatum(entries[i]->tag.dimension);
			keys[n] = CStringGetTextDatum(entries[i]->tag.key);
			deltas[n] = Int64GetDatum(sum);
			n++;
		}
		i = j;
	}
	hash_destroy(table);
	pending = nullptr;
	if (n == 0)
		return;

	// Before commit there is no active snapshot; SPI needs one to run the upsert.
	bool pushed = !ActiveSnapshotSet();
	if (pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
	// As the append's role and, since at PRE_COMMIT we are outside the SECURITY DEFINER function,
	// with its fixed search_path too: the session's search_path must not resolve names in the
	// upsert that now runs with the owner's rights.
	Oid save_user;
	int save_sec;
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(OidIsValid(pending_role) ? pending_role : save_user,
	                       save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	const int guc_level = NewGUCNestLevel();
	(void)set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
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
	SPI_finish();
	AtEOXact_GUC(true, guc_level);
	SetUserIdAndSecContext(save_user, save_sec);
	if (pushed)
		PopActiveSnapshot();
}

} // namespace event::pg
