// event_record.hpp — one event as plain data in the column order of event.events, and its
// EventResponse JSON (the shape every read and write returns; see docs/sql-api.md).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

enum EventColumn {
	kColEventId,
	kColPosition,
	kColEventType,
	kColEventSource,
	kColEventCategory,
	kColUserId,
	kColStreamId,
	kColStreamVersion,
	kColData,
	kColMetadata,
	kColContext,
	kColIdempotencyKey,
	kColTimestamp,
	kColCreatedAt,
	kEventColumns
};

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

// Fills record from a row of event.events (deformed; datums point into tuple).
void EventRecordFromTuple(HeapTuple tuple, TupleDesc desc, EventRecord *record);

// Appends "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) of ts.
void FormatTimestampUtc(TimestampTz ts, char out[40]);

} // namespace event::pg
