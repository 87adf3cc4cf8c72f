// extension_state.hpp — per-backend state shared by the extension's C++ files: catalog OIDs
// looked up once, GUC values, and the resets run at transaction abort and on invalidation.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// GUCs (module.cpp).
extern int max_payload_size;     // event.max_payload_size, bytes of data + metadata + context
extern int max_message_size;     // event.max_message_size, bytes of the relay's JSON message of one event
extern int max_batch_size;       // event.max_batch_size, items in one batch call
extern bool allow_event_mutation; // event.allow_event_mutation (superuser escape hatch)

// > 0 while the write path runs its own INSERT into event.events (immutability.cpp: the
// statement trigger that refuses other inserts lets it pass). Reset at abort (module.cpp).
extern int write_path_inserting;

// OIDs of the extension's objects, looked up on first use and forgotten when the schema or a
// relation changes (relcache/syscache callbacks in module.cpp).
Oid EventNamespace();
Oid EventRelation(const char *name); // a relation in schema event, error if missing

// Called from the callbacks in module.cpp.
void ForgetCatalogOids();
void ResetValueCache();      // catalog.cpp
void ResetPartitionCache();  // partitions.cpp
void ResetProjectionCache(); // projections.cpp
void OnRelationInvalidated(Oid relid); // catalog.cpp

} // namespace event::pg
