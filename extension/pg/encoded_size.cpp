// encoded_size.cpp — the append-time check that an event's relay message fits the publish limit.
//
// The relay publishes the output plugin's JSON text of the event (extension/decoder/message.cpp):
// text fields escaped as in core/json.hpp (a control character becomes \u00XX, six bytes) and
// data/metadata/context as JsonbToCString writes them. That text can be several times the stored
// jsonb (defect 2: 200 KB of control characters became 1.2 MB, above NATS's 1 MiB max_payload,
// and stalled the relay for ever). So the append refuses (54000) an event whose message would
// exceed event.max_message_size. Cheap for ordinary events: the text is at most six times the
// stored bytes, so the exact length is computed only when that bound exceeds the limit.
#include "pg/compat.hpp"

#include "core/errors.hpp"
#include "core/json.hpp"
#include "pg/encoded_size.hpp"
#include "pg/extension_state.hpp"

namespace event::pg {
namespace {

// Keys, separators, event_id, position, stream_version, timestamps, xid, lsn and commit_time of
// the message: an upper bound of everything that is not a field value counted below.
constexpr int64 kMessageOverhead = 1024;
// Worst case bytes of JSON text per stored byte (a control character: 1 byte -> \u00XX).
constexpr int64 kWorstExpansion = 6;

int64 JsonbTextLength(Jsonb *value) {
	StringInfoData text;
	initStringInfo(&text);
	(void)JsonbToCString(&text, &value->root, static_cast<int>(VARSIZE(value)));
	int64 n = text.len;
	pfree(text.data);
	return n;
}

} // namespace

void CheckEncodedSize(const char *const *texts, int ntexts, Jsonb *const *jsons, int njsons) {
	int64 bound = kMessageOverhead;
	for (int i = 0; i < ntexts; i++)
		if (texts[i] != nullptr)
			bound += kWorstExpansion * static_cast<int64>(strlen(texts[i]));
	for (int i = 0; i < njsons; i++)
		bound += kWorstExpansion * static_cast<int64>(VARSIZE(jsons[i]));
	if (bound <= max_message_size)
		return;
	int64 exact = kMessageOverhead;
	for (int i = 0; i < ntexts; i++)
		if (texts[i] != nullptr)
			exact += static_cast<int64>(core::JsonEscapedLength(texts[i]));
	for (int i = 0; i < njsons; i++)
		exact += JsonbTextLength(jsons[i]);
	if (exact > max_message_size)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("event is too large to publish"),
		                errdetail("Its relay message would take about %lld bytes of JSON text; the limit is %d bytes.",
		                          static_cast<long long>(exact), max_message_size),
		                errhint("Control characters and quotes take up to six bytes each once escaped; store large "
		                        "content elsewhere and reference it, or raise event.max_message_size together with "
		                        "the NATS server's max_payload.")));
}

} // namespace event::pg
