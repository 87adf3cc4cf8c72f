// schemas.hpp — the schema registry's hook into the append path (schemas.cpp).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// If event_type has an active schema, validates data against its newest active version (raises
// EV002 naming the version, the JSON Pointer and the rule that failed) and replaces *metadata
// with a copy carrying "schema_version": <that version>. Without a schema: one hash lookup.
void ApplyEventSchema(const char *event_type, Jsonb *data, Jsonb **metadata);

// Relcache invalidation of relid (InvalidOid: all): drops the compiled schemas if it is
// event.event_schemas (called from OnRelationInvalidated; no catalog access).
void OnSchemaRelationInvalidated(Oid relid);

} // namespace event::pg
