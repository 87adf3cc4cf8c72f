// event_record.cpp — EventResponse JSON built with the jsonb API (no text round trip), or as text.
#include "pg/compat.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/rel.h"
}

#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/event_record.hpp"
#include "pg/jsonb_builder.hpp"

namespace event::pg {
namespace {

template <class Builder>
void AddText(Builder &b, const char *key, const EventRecord &r, EventColumn col) {
	if (r.nulls[col]) {
		b.AddNull(key);
		return;
	}
	text *t = DatumGetTextPP(r.values[col]);
	b.AddString(key, VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
}

template <class Builder>
void AddJsonbColumn(Builder &b, const char *key, const EventRecord &r, EventColumn col) {
	b.AddJsonb(key, DatumGetJsonbP(r.values[col]));
}

// The EventResponse object, written once for both builders (JsonbBuilder, JsonTextBuilder).
template <class Builder>
void WriteEventRecordWith(Builder &b, const EventRecord &r) {
	b.BeginObject();

	// pushJsonbValue keeps the pointer until the outermost value is serialised: not on the stack.
	char *id = static_cast<char *>(palloc(UUID_LEN * 2 + 5));
	const pg_uuid_t *uuid = DatumGetUUIDP(r.values[kColEventId]);
	static const char hex[] = "0123456789abcdef";
	int j = 0;
	for (int i = 0; i < UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			id[j++] = '-';
		id[j++] = hex[uuid->data[i] >> 4];
		id[j++] = hex[uuid->data[i] & 0x0f];
	}
	id[j] = '\0';
	// Keys in jsonb's own order (shorter first, then bytewise): the object's key sort
	// (uniqueifyJsonbObject) then finds them presorted, which matters for 1000-event pages.
	AddJsonbColumn(b, "data", r, kColData);
	b.AddString("error", r.error);
	b.AddString("status", r.status);
	AddJsonbColumn(b, "context", r, kColContext);
	AddText(b, "user_id", r, kColUserId);
	b.AddInt("attempts", r.attempts);
	b.AddString("event_id", id);
	AddJsonbColumn(b, "metadata", r, kColMetadata);
	b.AddInt("position", DatumGetInt64(r.values[kColPosition]));
	AddText(b, "stream_id", r, kColStreamId);
	b.AddTimestamp("timestamp", DatumGetTimestampTz(r.values[kColTimestamp]));
	b.AddTimestamp("created_at", DatumGetTimestampTz(r.values[kColCreatedAt]));
	AddText(b, "event_type", r, kColEventType);
	AddText(b, "event_source", r, kColEventSource);
	if (r.has_processed_at)
		b.AddTimestamp("processed_at", r.processed_at);
	else
		b.AddNull("processed_at");
	AddText(b, "event_category", r, kColEventCategory);
	if (r.nulls[kColStreamVersion])
		b.AddNull("stream_version");
	else
		b.AddInt("stream_version", DatumGetInt64(r.values[kColStreamVersion]));
	AddText(b, "idempotency_key", r, kColIdempotencyKey);
	b.EndObject();
}

} // namespace

JsonbValue *PushEventRecord(JsonbParseState **state, const EventRecord &r) {
	JsonbBuilder b(state);
	WriteEventRecordWith(b, r);
	return b.Result();
}

void WriteEventRecord(JsonbBuilder &b, const EventRecord &r) {
	WriteEventRecordWith(b, r);
}

void WriteEventRecord(JsonTextBuilder &b, const EventRecord &r) {
	WriteEventRecordWith(b, r);
}

Jsonb *EventRecordToJsonb(const EventRecord &r) {
	JsonbParseState *state = nullptr;
	return JsonbValueToJsonb(PushEventRecord(&state, r));
}

void CheckEventColumns() {
	static bool checked = false;
	if (checked)
		return;
	Relation rel = RelationIdGetRelation(EventRelation("events"));
	if (!RelationIsValid(rel))
		elog(ERROR, "event: could not open event.events");
	TupleDesc desc = RelationGetDescr(rel);
	int c = 0;
	char problem[256] = "";
	for (int i = 0; i < desc->natts && problem[0] == '\0'; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attisdropped)
			continue;
		if (c == kEventColumns)
			snprintf(problem, sizeof(problem), "unexpected column \"%s\"", NameStr(att->attname));
		else if (strcmp(NameStr(att->attname), core::kEventColumnDefs[c].name) != 0 ||
		         att->atttypid != EventColumnType(c).type)
			snprintf(problem, sizeof(problem), "column %d is \"%s\" of type %u, expected \"%s\" of type %u", c + 1,
			         NameStr(att->attname), att->atttypid, core::kEventColumnDefs[c].name, EventColumnType(c).type);
		c++;
	}
	if (problem[0] == '\0' && c != kEventColumns)
		snprintf(problem, sizeof(problem), "%d columns, expected %d", c, static_cast<int>(kEventColumns));
	RelationClose(rel);
	if (problem[0] != '\0')
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
		                errmsg("event.events does not have the layout this library writes"), errdetail("%s.", problem),
		                errhint("Update the extension with ALTER EXTENSION event UPDATE.")));
	checked = true;
}

char *EventColumnList(const char *prefix) {
	StringInfoData out;
	initStringInfo(&out);
	for (int c = 0; c < kEventColumns; c++)
		appendStringInfo(&out, "%s%s%s", c == 0 ? "" : ", ", prefix, quote_identifier(core::kEventColumnDefs[c].name));
	return out.data;
}

void EventRecordFromTuple(HeapTuple tuple, TupleDesc desc, EventRecord *record) {
	heap_deform_tuple(tuple, desc, record->values, record->nulls);
	record->status = "pending";
	record->attempts = 0;
	record->error = nullptr;
	record->has_processed_at = false;
	record->processed_at = 0;
}

void EventRecordFromStatusRow(HeapTuple tuple, TupleDesc desc, EventRecord *record) {
	if (desc->natts != kEventStatusColumns)
		elog(ERROR, "event: an event row with its status has %d columns, expected %d", desc->natts,
		     static_cast<int>(kEventStatusColumns));
	Datum values[kEventStatusColumns];
	bool nulls[kEventStatusColumns];
	heap_deform_tuple(tuple, desc, values, nulls);
	memcpy(record->values, values, sizeof(record->values));
	memcpy(record->nulls, nulls, sizeof(record->nulls));
	record->status = nulls[kColStatus] ? "pending" : TextDatumGetCString(values[kColStatus]);
	record->attempts = nulls[kColAttempts] ? 0 : DatumGetInt32(values[kColAttempts]);
	record->error = nulls[kColError] ? nullptr : TextDatumGetCString(values[kColError]);
	record->has_processed_at = !nulls[kColProcessedAt];
	record->processed_at = nulls[kColProcessedAt] ? 0 : DatumGetTimestampTz(values[kColProcessedAt]);
}

} // namespace event::pg
