// module.cpp — library entry point: GUCs, transaction and cache-invalidation callbacks, and
// the OID lookups every other file shares (extension_state.hpp).
#include "pg/compat.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/syscache.h"
}

#include <malloc.h>

#include "guard.hpp"
#include "pg/extension_state.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace event::pg {

int max_payload_size = 1024 * 1024;
// 960 KiB: under NATS's default max_payload of 1 MiB, with room for the headers.
int max_message_size = 960 * 1024;
int max_batch_size = 1000;
bool allow_event_mutation = false;

namespace {

int malloc_retain_mb = 16;

Oid namespace_oid = InvalidOid;

struct CachedRelation {
	const char *name;
	Oid oid;
};
CachedRelation relations[] = {
	{"events", InvalidOid},        {"event_status", InvalidOid},     {"event_streams", InvalidOid},
	{"idempotency_keys", InvalidOid}, {"stat_rollup", InvalidOid},    {"stat_watermark", InvalidOid},
	{"stat_deltas", InvalidOid},  {"event_sources", InvalidOid},
	{"event_categories", InvalidOid}, {"events_position_seq", InvalidOid},
};

// Abort: forget what the failed transaction left in backend memory. No work is deferred to
// commit: statistics are derived from the committed log (counters.hpp).
void OnXactEvent(XactEvent event) {
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
		ResetPartitionCache();
		write_path_inserting = 0;
	}
}

// A partition created in a rolled-back savepoint is gone; an insert that failed inside it never
// restored the write-path flag.
void OnSubXactEvent(SubXactEvent event, SubTransactionId) {
	if (event == SUBXACT_EVENT_ABORT_SUB) {
		ResetPartitionCache();
		write_path_inserting = 0;
	}
}

} // namespace

Oid EventNamespace() {
	if (!OidIsValid(namespace_oid)) {
		namespace_oid = get_namespace_oid("event", true);
		if (!OidIsValid(namespace_oid))
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_SCHEMA), errmsg("schema \"event\" does not exist"),
			                errhint("Run CREATE EXTENSION event in this database.")));
	}
	return namespace_oid;
}

Oid EventRelation(const char *name) {
	for (auto &rel : relations) {
		if (strcmp(rel.name, name) != 0)
			continue;
		if (!OidIsValid(rel.oid)) {
			rel.oid = get_relname_relid(name, EventNamespace());
			if (!OidIsValid(rel.oid))
				ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation \"event.%s\" does not exist", name),
				                errhint("Reinstall the extension with DROP EXTENSION event; CREATE EXTENSION event.")));
		}
		return rel.oid;
	}
	elog(ERROR, "event: unknown relation \"%s\"", name);
	return InvalidOid;
}

void ForgetCatalogOids() {
	namespace_oid = InvalidOid;
	for (auto &rel : relations)
		rel.oid = InvalidOid;
	ResetValueCache();
	ResetPartitionCache();
	ResetProjectionCache();
}

} // namespace event::pg

extern "C" {

// event.malloc_retain (MB): glibc's malloc returns freed memory at the top of the heap to the
// kernel once more than 128 KB is free there, and serves every block above a (dynamic) threshold
// with its own mmap. A read of 1000 events builds a few hundred KB (a tuplestore, a jsonb page)
// in memory contexts that are freed at the end of each statement, so every call faulted its
// pages in again: on the 2-core VM of docs/benchmarks.md that was up to 80 % of a read_stream
// call (perf: exc_page_fault under the tuplestore copy, brk shrinking and growing). Keeping up
// to N MB (blocks up to N MB from the heap, no trim below N MB free) makes the second call reuse
// the pages of the first. 0 leaves glibc's defaults (set when the value changes to 0). It applies
// to the whole backend process, which loads this library at its first event.* call.
static void event_malloc_retain_assign(int mb, void *) {
#ifdef __GLIBC__
	const int bytes = mb > 0 ? mb * 1024 * 1024 : 0;
	(void)mallopt(M_MMAP_THRESHOLD, bytes > 0 ? bytes : 128 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, bytes > 0 ? bytes : 128 * 1024);
	(void)mallopt(M_TOP_PAD, bytes > 0 ? 1024 * 1024 : 0);
#else
	(void)mb;
#endif
}

static void event_xact_callback(XactEvent event, void *) {
	event::pg::Guard([event] { event::pg::OnXactEvent(event); });
}

static void event_subxact_callback(SubXactEvent event, SubTransactionId subid, SubTransactionId, void *) {
	event::pg::Guard([event, subid] { event::pg::OnSubXactEvent(event, subid); });
}

static void event_relcache_callback(Datum, Oid relid) {
	event::pg::Guard([relid] { event::pg::OnRelationInvalidated(relid); });
}

static void event_namespace_callback(Datum, int, uint32) {
	event::pg::Guard([] { event::pg::ForgetCatalogOids(); });
}

void _PG_init(void) {
	DefineCustomIntVariable("event.max_payload_size", "Largest data + metadata + context of one event, in bytes.",
	                        nullptr, &event::pg::max_payload_size, 1024 * 1024, 1024, MaxAllocSize / 2, PGC_SUSET,
	                        GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("event.max_message_size",
	                        "Largest JSON message of one event as the relay publishes it, in bytes (keep it under "
	                        "the NATS server's max_payload).",
	                        nullptr, &event::pg::max_message_size, 960 * 1024, 4096, MaxAllocSize / 2, PGC_SUSET,
	                        GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("event.max_batch_size", "Most events accepted by one batch call.", nullptr,
	                        &event::pg::max_batch_size, 1000, 1, 100000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
	DefineCustomBoolVariable("event.allow_event_mutation",
	                         "Lets a superuser UPDATE or DELETE stored events (data-privacy erasure only).", nullptr,
	                         &event::pg::allow_event_mutation, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("event.malloc_retain",
	                        "Freed memory a backend keeps for reuse instead of returning it to the kernel, in MB "
	                        "(glibc malloc; 0 = glibc's defaults).",
	                        nullptr, &event::pg::malloc_retain_mb, 16, 0, 1024, PGC_SUSET, GUC_UNIT_MB, nullptr,
	                        event_malloc_retain_assign, nullptr);
	MarkGUCPrefixReserved("event");

	RegisterXactCallback(event_xact_callback, nullptr);
	RegisterSubXactCallback(event_subxact_callback, nullptr);
	CacheRegisterRelcacheCallback(event_relcache_callback, (Datum)0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, event_namespace_callback, (Datum)0);
}

} // extern "C"
