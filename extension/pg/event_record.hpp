// event_record.hpp — one event as plain data in the column order of event.events, and its
// EventResponse JSON (the shape every read and write returns; see docs/sql-api.md).
#pragma once

#include "pg/compat.hpp"

#include "pg/column_types.hpp"
#include "pg/jsonb_builder.hpp"

namespace event::pg {

// Column indexes of event.events, from the one definition in core/event_columns.hpp.
#define EVENT_RECORD_COLUMN(id, name, type) kCol##id,
enum EventColumn { EVENT_COLUMNS(EVENT_RECORD_COLUMN) kEventColumns };
#undef EVENT_RECORD_COLUMN
static_assert(kEventColumns == core::kEventColumnCount);

// Raises a clear error if event.events (rel) does not have exactly the columns of
// core/event_columns.hpp, in that order and of those types (a library newer or older than the
// installed extension). Checked once per backend, before the write path first prepares its SQL.
void CheckEventColumns();

// "name1, name2, ..." of the event.events columns, each prefixed with prefix (e.g. "e."), quoted
// where needed; palloc'd in the current context.
char *EventColumnList(const char *prefix);

// A stored event plus its processing status, as datums of the event.events row type.
struct EventRecord {
	Datum values[kEventColumns];
	bool nulls[kEventColumns];
	const char *status;     // "pending" when there is no status row
	int32 attempts;
	const char *error;      // nullable
	bool has_processed_at;
	TimestampTz processed_at;
};

// The EventResponse object of record.
Jsonb *EventRecordToJsonb(const EventRecord &record);

// Pushes the EventResponse object of record into state (for example as an element of an array
// being built, without serialising each object on its own); returns pushJsonbValue's result.
JsonbValue *PushEventRecord(JsonbParseState **state, const EventRecord &record);

// Writes the same object with b (as the element of the array or the value of the key b is at):
// into b's jsonb, or as JSON text.
void WriteEventRecord(JsonbBuilder &b, const EventRecord &record);
void WriteEventRecord(JsonTextBuilder &b, const EventRecord &record);

// A row of event.events' columns (EventColumn order) followed by its status row's status,
// attempts, last_error and processed_at (NULL without a status row): what query_events' page and
// the processing batches read.
enum EventStatusColumn {
	kColStatus = kEventColumns,
	kColAttempts,
	kColError,
	kColProcessedAt,
	kEventStatusColumns
};

// Fills record from such a row (datums point into tuple; the status strings are palloc'd).
void EventRecordFromStatusRow(HeapTuple tuple, TupleDesc desc, EventRecord *record);

// Fills record from a row of event.events (deformed; datums point into tuple).
void EventRecordFromTuple(HeapTuple tuple, TupleDesc desc, EventRecord *record);

} // namespace event::pg
