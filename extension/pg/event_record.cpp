// event_record.cpp — EventResponse JSON built with the jsonb API (no text round trip).
#include "pg/compat.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/rel.h"
}

#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/event_record.hpp"

namespace event::pg {
namespace {

void PushKey(JsonbParseState **state, const char *key) {
	JsonbValue v;
	v.type = jbvString;
	v.val.string.val = const_cast<char *>(key);
	v.val.string.len = static_cast<int>(strlen(key));
	pushJsonbValue(state, WJB_KEY, &v);
}

void PushString(JsonbParseState **state, const char *key, const char *value, int len = -1) {
	PushKey(state, key);
	JsonbValue v;
	if (value == nullptr) {
		v.type = jbvNull;
	} else {
		v.type = jbvString;
		v.val.string.val = const_cast<char *>(value);
		v.val.string.len = len >= 0 ? len : static_cast<int>(strlen(value));
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

void PushText(JsonbParseState **state, const char *key, const EventRecord &r, EventColumn col) {
	if (r.nulls[col]) {
		PushString(state, key, nullptr);
		return;
	}
	text *t = DatumGetTextPP(r.values[col]);
	PushString(state, key, VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
}

void PushInt(JsonbParseState **state, const char *key, bool isnull, int64 value) {
	PushKey(state, key);
	JsonbValue v;
	if (isnull) {
		v.type = jbvNull;
	} else {
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(value);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

void PushJsonb(JsonbParseState **state, const char *key, Datum value) {
	PushKey(state, key);
	Jsonb *jb = DatumGetJsonbP(value);
	JsonbValue v;
	v.type = jbvBinary;
	v.val.binary.data = &jb->root;
	v.val.binary.len = static_cast<int>(VARSIZE(jb) - VARHDRSZ);
	pushJsonbValue(state, WJB_VALUE, &v);
}

void PushTimestamp(JsonbParseState **state, const char *key, bool isnull, TimestampTz ts) {
	if (isnull) {
		PushString(state, key, nullptr);
		return;
	}
	// pushJsonbValue keeps the pointer, so the text must outlive this frame.
	char *buf = static_cast<char *>(palloc(40));
	FormatTimestampUtc(ts, buf);
	PushString(state, key, buf);
}

} // namespace

void FormatTimestampUtc(TimestampTz ts, char out[40]) {
	struct pg_tm tm;
	fsec_t fsec;
	if (TIMESTAMP_NOT_FINITE(ts) || timestamp2tm(ts, nullptr, &tm, &fsec, nullptr, nullptr) != 0) {
		snprintf(out, 40, "%s", TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
		return;
	}
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min,
	         tm.tm_sec, static_cast<int>(fsec));
}

JsonbValue *PushEventRecord(JsonbParseState **state_ptr, const EventRecord &r) {
	JsonbParseState *&state = *state_ptr;
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);

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
	PushJsonb(&state, "data", r.values[kColData]);
	PushString(&state, "error", r.error);
	PushString(&state, "status", r.status);
	PushJsonb(&state, "context", r.values[kColContext]);
	PushText(&state, "user_id", r, kColUserId);
	PushInt(&state, "attempts", false, r.attempts);
	PushString(&state, "event_id", id);
	PushJsonb(&state, "metadata", r.values[kColMetadata]);
	PushInt(&state, "position", false, DatumGetInt64(r.values[kColPosition]));
	PushText(&state, "stream_id", r, kColStreamId);
	PushTimestamp(&state, "timestamp", false, DatumGetTimestampTz(r.values[kColTimestamp]));
	PushTimestamp(&state, "created_at", false, DatumGetTimestampTz(r.values[kColCreatedAt]));
	PushText(&state, "event_type", r, kColEventType);
	PushText(&state, "event_source", r, kColEventSource);
	PushTimestamp(&state, "processed_at", !r.has_processed_at, r.processed_at);
	PushText(&state, "event_category", r, kColEventCategory);
	PushInt(&state, "stream_version", r.nulls[kColStreamVersion],
	        r.nulls[kColStreamVersion] ? 0 : DatumGetInt64(r.values[kColStreamVersion]));
	PushText(&state, "idempotency_key", r, kColIdempotencyKey);

	return pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
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

} // namespace event::pg
