// merge_tree.hpp — the state of a `merge` projection while it folds many events: an in-memory
// tree of objects, so that one event costs a merge of its data and not a rebuild of the whole
// jsonb state (docs/architecture.md "Inline projections").
//
// The fold loads the stored jsonb state once, merges each event's data into the tree and
// serialises it once at the end (or at a snapshot). The result is byte-for-byte the jsonb that
// merging event by event gives: RFC 7386 merge patch (a JSON null removes the key, objects merge
// recursively, the nulls of a new object are dropped, arrays and scalars replace), then the
// jsonb serialiser's own key order.
//
// Plain palloc'd C structs, all in the memory context current when they are made (nothing has a
// destructor: an ereport may longjmp over them). Scalars and arrays are not copied: they point
// into the jsonb they came from, which must live as long as the tree (the caller copies each
// event's data into the tree's context).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

struct MergeObject;

// state as a tree (an object; anything else is taken as {}).
MergeObject *MergeTreeLoad(Jsonb *state);

// Merges patch (the event's data, an object; anything else changes nothing) into tree.
void MergeTreeApply(MergeObject *tree, JsonbContainer *patch);

// The tree as jsonb, in the current memory context.
Jsonb *MergeTreeToJsonb(const MergeObject *tree);

} // namespace event::pg
