// module.cpp — library entry point: GUCs, transaction and cache-invalidation callbacks, and
// the OID lookups every other file shares (extension_state.hpp).
#include "pg/compat.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/syscache.h"
}

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
	MarkGUCPrefixReserved("event");

	RegisterXactCallback(event_xact_callback, nullptr);
	RegisterSubXactCallback(event_subxact_callback, nullptr);
	CacheRegisterRelcacheCallback(event_relcache_callback, (Datum)0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, event_namespace_callback, (Datum)0);
}

} // extern "C"
