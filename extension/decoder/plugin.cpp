// plugin.cpp — the event_decoder logical decoding output plugin (PostgreSQL side).
//
// Emits one JSON message per committed row inserted into event.events (any partition, at any
// depth), in commit order, plus heartbeats from pg_logical_emit_message('event.heartbeat').
// The filter options and skip_ingested (the rows the frontend ingester stored, core/ingested.hpp)
// leave rows out before anything is formatted.
// Everything else (other tables, UPDATE/DELETE/TRUNCATE, begin/commit) writes nothing.
// Message format and options: docs/logical-decoding.md. Model: contrib/test_decoding.
//
// Boundary and memory (style.md §4):
//  * Every callback is a one-line extern "C" entry that runs its body in pg::Guard.
//  * The bodies call PostgreSQL functions that may ereport(ERROR) (catalog lookups, detoasting,
//    OutputPluginWrite). Their frames hold only plain data — the C++ objects (options, the
//    message buffer) live in DecoderState — so a longjmp out of them skips no destructor.
//  * DecoderState is constructed in our own context, a child of ctx->context, and destroyed by a
//    reset callback of that context: on shutdown (MemoryContextDelete) and equally when decoding
//    ends in an error and PostgreSQL frees ctx->context without calling shutdown.
//  * Per-change allocations go to change_context, reset after every change.
//  * No stream_* (in-progress) or prepare callbacks are registered: PostgreSQL then decodes a
//    transaction only at its commit (spilling large ones to disk), which gives commit order.
#include "pg/compat.hpp"

#include "pg/column_types.hpp"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "access/htup_details.h"
#include "catalog/partition.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/hsearch.h"
#include "utils/rel.h"
#pragma GCC diagnostic pop

PG_MODULE_MAGIC;
}

#include "core/errors.hpp"
#include "core/ingested.hpp"
#include "core/uuid7.hpp"
#include "decoder/message.hpp"
#include "decoder/options.hpp"
#include "guard.hpp"

#include <charconv>
#include <new>
#include <optional>

namespace event::decoder {
namespace {

// Per-relation answer to "is this a partition of event.events, and where are its columns".
// Plain data in a dynahash keyed by relation OID; invalidated by the relcache callback.
struct RelationEntry {
	Oid relid; // hash key
	bool valid;
	bool is_event;
	AttrNumber attnum[kEventFieldCount]; // 0 = column absent (emitted as null)
};

// The private state of one decoding session (ctx->output_plugin_private).
struct DecoderState {
	MemoryContext context = nullptr;        // ours; child of ctx->context
	MemoryContext change_context = nullptr; // reset after every change
	HTAB *relations = nullptr;              // RelationEntry by OID
	MemoryContextCallback destroy_callback{};
	const RelationEntry *last_relation = nullptr; // the entry found by the previous change
	Options options;
	std::optional<EventMessageWriter> writer; // set once the options are parsed
	std::string message;                      // heartbeat text (keeps its capacity)
};

// The relation cache of the live decoding session, for the relcache callback (which is
// registered once per process and cannot be unregistered). Null when no session is live.
HTAB *g_relations = nullptr;
bool g_relcache_callback_registered = false;

// Expected type of event.events column f (core/event_columns.hpp; a mismatch is an error, not
// garbage output).
constexpr Oid FieldType(int f) {
	return event::pg::EventColumnType(f).type;
}

DecoderState *StateOf(LogicalDecodingContext *ctx) {
	return static_cast<DecoderState *>(ctx->output_plugin_private);
}

// Reset callback of DecoderState::context: runs the C++ destructors (no PostgreSQL call).
void DestroyState(DecoderState *state) noexcept {
	if (g_relations == state->relations)
		g_relations = nullptr;
	state->~DecoderState();
}

// Relcache invalidation: forget the answer for that relation; for an OID we have not cached
// (possibly an ancestor such as event.events itself, or InvalidOid = everything) forget all.
void InvalidateRelation(Oid relid) {
	if (g_relations == nullptr)
		return;
	if (relid != InvalidOid) {
		auto *entry = static_cast<RelationEntry *>(hash_search(g_relations, &relid, HASH_FIND, nullptr));
		if (entry != nullptr) {
			entry->valid = false;
			return;
		}
	}
	HASH_SEQ_STATUS status;
	hash_seq_init(&status, g_relations);
	while (auto *entry = static_cast<RelationEntry *>(hash_seq_search(&status)))
		entry->valid = false;
}

// True if relid is the table event.events.
bool IsEventsTable(Oid relid) {
	const char *name = get_rel_name(relid);
	if (name == nullptr || strcmp(name, "events") != 0)
		return false;
	const char *schema = get_namespace_name(get_rel_namespace(relid));
	return schema != nullptr && strcmp(schema, "event") == 0;
}

// True if rel is event.events or one of its partitions at any depth (pg_inherits, looked up
// with the historic catalog snapshot of the decoded transaction).
bool IsEventsRelation(Relation rel) {
	if (IsEventsTable(RelationGetRelid(rel)))
		return true;
	if (!rel->rd_rel->relispartition)
		return false;
	List *ancestors = get_partition_ancestors(RelationGetRelid(rel));
	ListCell *cell;
	foreach (cell, ancestors) {
		if (IsEventsTable(lfirst_oid(cell)))
			return true;
	}
	return false;
}

// Resolves the event.events columns of rel by name: partitions may have other attribute
// numbers (dropped columns, ATTACH of a table built differently).
void ResolveColumns(Relation rel, RelationEntry *entry) {
	const TupleDesc desc = RelationGetDescr(rel);
	for (int f = 0; f < kEventFieldCount; f++)
		entry->attnum[f] = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++) {
		const Form_pg_attribute attr = TupleDescAttr(desc, i);
		if (attr->attisdropped)
			continue;
		for (int f = 0; f < kEventFieldCount; f++) {
			if (strcmp(NameStr(attr->attname), kEventFieldNames[f]) != 0)
				continue;
			if (attr->atttypid != FieldType(f))
				ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
				                errmsg("column \"%s\" of relation \"%s\" has type %s, expected %s", kEventFieldNames[f],
				                       RelationGetRelationName(rel), format_type_be(attr->atttypid),
				                       format_type_be(FieldType(f))),
				                errhint("The event_decoder plugin supports the event.events layout of the installed "
				                        "event extension.")));
			entry->attnum[f] = static_cast<AttrNumber>(i + 1);
			break;
		}
	}
}

// The cache entry of rel, computed on first use and after an invalidation.
const RelationEntry *LookupRelation(DecoderState *state, Relation rel) {
	const Oid relid = RelationGetRelid(rel);
	// Dynahash entries never move and are never removed, so the previous answer can be reused
	// while it is valid: the changes of a transaction come in runs on the same relation.
	const RelationEntry *last = state->last_relation;
	if (last != nullptr && last->relid == relid && last->valid)
		return last;
	bool found = false;
	auto *entry = static_cast<RelationEntry *>(hash_search(state->relations, &relid, HASH_ENTER, &found));
	if (found && entry->valid)
		return entry;
	entry->valid = false;
	entry->is_event = IsEventsRelation(rel);
	if (entry->is_event)
		ResolveColumns(rel, entry);
	entry->valid = true;
	state->last_relation = entry;
	return entry;
}

// Text buffers for the values that are formatted rather than pointed to.
struct FormatBuffers {
	char uuid[37];
	char numbers[2][24];
	char times[2][kTimestampBufferSize];
};

// The columns of one decoded tuple, deformed in the current (per-change) memory context.
struct DeformedTuple {
	Datum *datums;
	bool *nulls;
};

DeformedTuple Deform(TupleDesc desc, HeapTuple tuple) {
	DeformedTuple row{static_cast<Datum *>(palloc(desc->natts * sizeof(Datum))),
	                  static_cast<bool *>(palloc(desc->natts * sizeof(bool)))};
	heap_deform_tuple(tuple, desc, row.datums, row.nulls);
	return row;
}

// The value of text field f (an empty view when null or absent), without formatting the rest:
// what the filters and the ingested check look at before the message is built.
std::string_view TextField(const RelationEntry *entry, const DeformedTuple &row, int f) {
	const AttrNumber attnum = entry->attnum[f];
	if (attnum == InvalidAttrNumber || row.nulls[attnum - 1])
		return {};
	text *value = DatumGetTextPP(row.datums[attnum - 1]);
	return std::string_view(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

// True if the options leave this row out (prefix filters, skip_ingested).
bool Skipped(const Options &options, const RelationEntry *entry, const DeformedTuple &row) {
	if (options.skip_ingested &&
	    core::IsIngested(TextField(entry, row, kEventSource), TextField(entry, row, kIdempotencyKey)))
		return true;
	return options.Filters() && !options.Passes(TextField(entry, row, kEventType), TextField(entry, row, kEventSource),
	                                            TextField(entry, row, kEventCategory));
}

// Fills values[f] from the deformed tuple. Works in the current (per-change) memory context.
void ExtractValues(const RelationEntry *entry, TupleDesc desc, const DeformedTuple &row, EventValues &values,
                   FormatBuffers &buffers) {
	const Datum *datums = row.datums;
	const bool *nulls = row.nulls;
	int number_slot = 0;
	int time_slot = 0;
	for (int f = 0; f < kEventFieldCount; f++) {
		const AttrNumber attnum = entry->attnum[f];
		if (attnum == InvalidAttrNumber || nulls[attnum - 1]) {
			values.is_null[f] = true;
			continue;
		}
		const Datum datum = datums[attnum - 1];
		// An insert carries all its values; an unchanged-TOAST pointer only occurs in updates.
		if (TupleDescAttr(desc, attnum - 1)->attlen == -1 && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(datum)))
			elog(ERROR, "event_decoder: unexpected external TOAST pointer in column \"%s\"", kEventFieldNames[f]);

		switch (FieldType(f)) {
		case UUIDOID: {
			core::Uuid uuid;
			memcpy(uuid.bytes.data(), DatumGetUUIDP(datum)->data, UUID_LEN);
			core::FormatUuid(uuid, buffers.uuid);
			values.text[f] = std::string_view(buffers.uuid, 36);
			break;
		}
		case INT8OID: {
			char *buffer = buffers.numbers[number_slot++];
			const auto result = std::to_chars(buffer, buffer + sizeof(buffers.numbers[0]), DatumGetInt64(datum));
			values.text[f] = std::string_view(buffer, static_cast<size_t>(result.ptr - buffer));
			break;
		}
		case TEXTOID: {
			text *value = DatumGetTextPP(datum);
			values.text[f] = std::string_view(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
			break;
		}
		case JSONBOID: {
			Jsonb *jsonb = DatumGetJsonbP(datum);
			StringInfoData json;
			initStringInfo(&json);
			JsonbToCString(&json, &jsonb->root, static_cast<int>(VARSIZE(jsonb)));
			values.text[f] = std::string_view(json.data, static_cast<size_t>(json.len));
			break;
		}
		case TIMESTAMPTZOID: {
			char(&buffer)[kTimestampBufferSize] = buffers.times[time_slot++];
			const size_t len = FormatTimestamp(DatumGetTimestampTz(datum), buffer);
			values.text[f] = std::string_view(buffer, len);
			break;
		}
		default:
			elog(ERROR, "event_decoder: no formatter for field \"%s\"", kEventFieldNames[f]);
		}
	}
}

// Writes state->message as one plugin message.
void WriteMessage(LogicalDecodingContext *ctx, DecoderState *state, bool last_write) {
	OutputPluginPrepareWrite(ctx, last_write);
	appendBinaryStringInfo(ctx->out, state->message.data(), static_cast<int>(state->message.size()));
	OutputPluginWrite(ctx, last_write);
}

// Emits the inserted row of an event.events partition, unless the options leave it out (checked
// before any value is formatted). The message is written straight into the output buffer
// (ctx->out), sized first by its upper bound.
void EmitEvent(LogicalDecodingContext *ctx, DecoderState *state, ReorderBufferTXN *txn, Relation rel,
               const RelationEntry *entry, HeapTuple tuple) {
	const DeformedTuple row = Deform(RelationGetDescr(rel), tuple);
	if (Skipped(state->options, entry, row))
		return;
	EventValues values;
	FormatBuffers buffers;
	ExtractValues(entry, RelationGetDescr(rel), row, values, buffers);

	EventMessageWriter &writer = *state->writer;
	CommitInfo commit;
	commit.xid = txn->xid;
	commit.lsn = txn->final_lsn;
	commit.commit_time = txn->xact_time.commit_time;
	if (!(commit == writer.commit()))
		writer.SetCommit(commit);
	const size_t bound = writer.Bound(values);
	OutputPluginPrepareWrite(ctx, true);
	StringInfo out = ctx->out;
	if (bound >= MaxAllocSize - static_cast<size_t>(out->len) - 1)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("event_decoder: the message of event at position %s would exceed 1 GB",
		                       values.is_null[kPosition] ? "?"
		                                                  : pnstrdup(values.text[kPosition].data(),
		                                                             values.text[kPosition].size()))));
	enlargeStringInfo(out, static_cast<int>(bound));
	out->len += static_cast<int>(writer.Write(values, out->data + out->len));
	out->data[out->len] = '\0';
	OutputPluginWrite(ctx, true);
}

// Parses the plugin options (a list of DefElem whose arg is a String node, or NULL for "no
// value") into options; throws core::SqlError 22023. Makes no PostgreSQL call that can fail, so
// the parser (which owns strings) may live in this frame.
void ParseOptions(List *elems, Options &options) {
	OptionParser parser;
	ListCell *cell;
	foreach (cell, elems) {
		const DefElem *elem = static_cast<DefElem *>(lfirst(cell));
		const char *value = nullptr;
		if (elem->arg != nullptr) {
			if (!IsA(elem->arg, String))
				throw core::SqlError(core::kInvalidParameterValue,
				                     std::string("option \"") + elem->defname + "\" must have a string value");
			value = strVal(elem->arg);
		}
		parser.Set(elem->defname, value);
	}
	options = parser.options();
}

void OnStartup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool /*is_init*/) {
	MemoryContext context = AllocSetContextCreate(ctx->context, "event_decoder", ALLOCSET_DEFAULT_SIZES);
	void *memory = MemoryContextAllocZero(context, sizeof(DecoderState));
	auto *state = new (memory) DecoderState();
	state->context = context;
	state->destroy_callback.func = [](void *arg) {
		event::pg::Guard([arg] { DestroyState(static_cast<DecoderState *>(arg)); });
	};
	state->destroy_callback.arg = state;
	MemoryContextRegisterResetCallback(context, &state->destroy_callback);
	state->change_context = AllocSetContextCreate(context, "event_decoder change", ALLOCSET_DEFAULT_SIZES);

	HASHCTL hash_control;
	memset(&hash_control, 0, sizeof(hash_control));
	hash_control.keysize = sizeof(Oid);
	hash_control.entrysize = sizeof(RelationEntry);
	hash_control.hcxt = context;
	state->relations =
	    hash_create("event_decoder relations", 64, &hash_control, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	ctx->output_plugin_private = state;
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;

	ParseOptions(ctx->output_plugin_options, state->options);
	state->writer.emplace(state->options);

	if (!g_relcache_callback_registered) {
		CacheRegisterRelcacheCallback(
		    [](Datum, Oid relid) { event::pg::Guard([relid] { InvalidateRelation(relid); }); }, (Datum)0);
		g_relcache_callback_registered = true;
	}
	g_relations = state->relations;
}

void OnShutdown(LogicalDecodingContext *ctx) {
	DecoderState *state = StateOf(ctx);
	if (state == nullptr)
		return;
	ctx->output_plugin_private = nullptr;
	MemoryContextDelete(state->context); // runs DestroyState
}

void OnChange(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel, ReorderBufferChange *change) {
	// Events are immutable: only inserts are news.
	if (change->action != REORDER_BUFFER_CHANGE_INSERT || change->data.tp.newtuple == nullptr)
		return;
	DecoderState *state = StateOf(ctx);
	const MemoryContext old_context = MemoryContextSwitchTo(state->change_context);
	const RelationEntry *entry = LookupRelation(state, rel);
	if (entry->is_event)
		EmitEvent(ctx, state, txn, rel, entry, &change->data.tp.newtuple->tuple);
	MemoryContextSwitchTo(old_context);
	MemoryContextReset(state->change_context);
}

void OnMessage(LogicalDecodingContext *ctx, XLogRecPtr message_lsn, const char *prefix, Size message_size,
               const char *message) {
	DecoderState *state = StateOf(ctx);
	if (!state->options.heartbeat || strcmp(prefix, kHeartbeatPrefix) != 0)
		return;
	state->message.clear();
	AppendHeartbeatMessage(state->message, state->options.format, message_lsn, std::string_view(message, message_size));
	WriteMessage(ctx, state, true);
}

} // namespace
} // namespace event::decoder

// ---------------------------------------------------------------- entry points (extern "C")

namespace dec = event::decoder;

extern "C" {

static void event_decoder_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init) {
	event::pg::Guard([&] { dec::OnStartup(ctx, opt, is_init); });
}

static void event_decoder_shutdown(LogicalDecodingContext *ctx) {
	event::pg::Guard([&] { dec::OnShutdown(ctx); });
}

// Begin and commit write nothing, so a transaction without (matching) events produces no output.
static void event_decoder_begin(LogicalDecodingContext *, ReorderBufferTXN *) {
}

static void event_decoder_commit(LogicalDecodingContext *, ReorderBufferTXN *, XLogRecPtr) {
}

static void event_decoder_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
                                 ReorderBufferChange *change) {
	event::pg::Guard([&] { dec::OnChange(ctx, txn, rel, change); });
}

static void event_decoder_message(LogicalDecodingContext *ctx, ReorderBufferTXN *, XLogRecPtr message_lsn, bool,
                                  const char *prefix, Size message_size, const char *message) {
	event::pg::Guard([&] { dec::OnMessage(ctx, message_lsn, prefix, message_size, message); });
}

// Called by PostgreSQL when a slot with plugin "event_decoder" starts decoding.
PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb) {
	event::pg::Guard([cb] {
		AssertVariableIsOfType(&_PG_output_plugin_init, LogicalOutputPluginInit);
		cb->startup_cb = event_decoder_startup;
		cb->begin_cb = event_decoder_begin;
		cb->change_cb = event_decoder_change;
		cb->commit_cb = event_decoder_commit;
		cb->message_cb = event_decoder_message;
		cb->shutdown_cb = event_decoder_shutdown;
		// truncate_cb, stream_*_cb and the two-phase callbacks stay unset on purpose.
	});
}

} // extern "C"
