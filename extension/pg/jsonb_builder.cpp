// jsonb_builder.cpp — JsonbBuilder (jsonb_builder.hpp): the JsonbValues of keys and scalars.
#include "pg/compat.hpp"

#include "pg/jsonb_builder.hpp"

#include <cstring>

#include "core/json.hpp"

namespace event::pg {

void JsonbBuilder::Push(JsonbIteratorToken token, const JsonbValue *value) {
	last_ = pushJsonbValue(state_, token, const_cast<JsonbValue *>(value));
}

void JsonbBuilder::BeginObject() {
	Push(WJB_BEGIN_OBJECT, nullptr);
}

void JsonbBuilder::EndObject() {
	Push(WJB_END_OBJECT, nullptr);
}

void JsonbBuilder::BeginArray() {
	Push(WJB_BEGIN_ARRAY, nullptr);
}

void JsonbBuilder::EndArray() {
	Push(WJB_END_ARRAY, nullptr);
}

void JsonbBuilder::Key(const char *key) {
	Key(key, static_cast<int>(strlen(key)));
}

void JsonbBuilder::Key(const char *key, int len) {
	JsonbValue v = String(key, len);
	Push(WJB_KEY, &v);
}

void JsonbBuilder::Value(const JsonbValue &value) {
	Push(WJB_VALUE, &value);
}

void JsonbBuilder::Element(const JsonbValue &value) {
	Push(WJB_ELEM, &value);
}

void JsonbBuilder::Element(Jsonb *value) {
	JsonbValue v = Binary(value);
	Push(WJB_ELEM, &v);
}

void JsonbBuilder::AddString(const char *key, const char *value) {
	if (value == nullptr)
		AddNull(key);
	else
		AddString(key, value, static_cast<int>(strlen(value)));
}

void JsonbBuilder::AddString(const char *key, const char *value, int len) {
	Key(key);
	Value(String(value, len));
}

void JsonbBuilder::AddInt(const char *key, int64 value) {
	AddNumeric(key, int64_to_numeric(value));
}

void JsonbBuilder::AddNumeric(const char *key, Numeric value) {
	Key(key);
	JsonbValue v;
	v.type = jbvNumeric;
	v.val.numeric = value;
	Value(v);
}

void JsonbBuilder::AddBool(const char *key, bool value) {
	Key(key);
	JsonbValue v;
	v.type = jbvBool;
	v.val.boolean = value;
	Value(v);
}

void JsonbBuilder::AddNull(const char *key) {
	Key(key);
	JsonbValue v;
	v.type = jbvNull;
	Value(v);
}

void JsonbBuilder::AddJsonb(const char *key, Jsonb *value) {
	Key(key);
	Value(Binary(value));
}

void JsonbBuilder::AddTimestamp(const char *key, TimestampTz value) {
	// Kept by pushJsonbValue: not on the stack.
	auto *text = static_cast<char(*)[core::kTimestampBufferSize]>(palloc(core::kTimestampBufferSize));
	FormatTimestampUtc(value, *text);
	AddString(key, *text);
}

Jsonb *JsonbBuilder::Finish() const {
	return JsonbValueToJsonb(last_);
}

JsonbValue JsonbBuilder::String(const char *value, int len) {
	JsonbValue v;
	v.type = jbvString;
	v.val.string.val = const_cast<char *>(value);
	v.val.string.len = len;
	return v;
}

JsonbValue JsonbBuilder::Binary(Jsonb *value) {
	JsonbValue v;
	v.type = jbvBinary;
	v.val.binary.data = &value->root;
	v.val.binary.len = static_cast<int>(VARSIZE(value) - VARHDRSZ);
	return v;
}

Jsonb *JsonbBuilder::EmptyObject() {
	JsonbBuilder b;
	b.BeginObject();
	b.EndObject();
	return b.Finish();
}

void JsonTextBuilder::Separate() {
	if (after_key_) {
		after_key_ = false;
		return;
	}
	if (!first_[depth_])
		appendStringInfoCharMacro(out_, ',');
	first_[depth_] = false;
}

void JsonTextBuilder::Begin(char bracket) {
	Separate();
	if (depth_ == kMaxDepth)
		elog(ERROR, "event: JSON text nested deeper than %d levels", kMaxDepth);
	appendStringInfoCharMacro(out_, bracket);
	first_[++depth_] = true;
}

void JsonTextBuilder::End(char bracket) {
	appendStringInfoCharMacro(out_, bracket);
	depth_--;
}

void JsonTextBuilder::BeginObject() {
	Begin('{');
}

void JsonTextBuilder::EndObject() {
	End('}');
}

void JsonTextBuilder::BeginArray() {
	Begin('[');
}

void JsonTextBuilder::EndArray() {
	End(']');
}

// The same text as PostgreSQL 15's escape_json (the output plugin's rules too, core/json.hpp),
// written by runs: escape_json appends byte by byte, and in a page of 1,000 events it was a fifth
// of query_events_text's time (perf, 2026-12-04). In chunks, so that the worst case (6 bytes per
// byte) never asks for more than a chunk's room at once.
void JsonTextBuilder::String(const char *value, int len) {
	constexpr int kChunk = 8192;
	appendStringInfoCharMacro(out_, '"');
	for (int done = 0; done < len;) {
		const int n = len - done < kChunk ? len - done : kChunk;
		enlargeStringInfo(out_, 6 * n);
		char *end = core::WriteJsonEscaped(out_->data + out_->len, std::string_view(value + done, n));
		out_->len = static_cast<int>(end - out_->data);
		done += n;
	}
	appendStringInfoCharMacro(out_, '"'); // also terminates the data
}

void JsonTextBuilder::Key(const char *key) {
	Separate();
	// Keys are the code's field names (jsonb_builder.hpp): "key": in one append, unescaped.
	const int len = static_cast<int>(strlen(key));
	Assert(core::JsonEscapedLength(std::string_view(key, len)) == static_cast<size_t>(len));
	enlargeStringInfo(out_, len + 3);
	char *p = out_->data + out_->len;
	p[0] = '"';
	memcpy(p + 1, key, len);
	p[len + 1] = '"';
	p[len + 2] = ':';
	p[len + 3] = '\0';
	out_->len += len + 3;
	after_key_ = true;
}

void JsonTextBuilder::AddString(const char *key, const char *value) {
	if (value == nullptr)
		return AddNull(key);
	Key(key);
	Separate();
	String(value, static_cast<int>(strlen(value)));
}

void JsonTextBuilder::AddString(const char *key, const char *value, int len) {
	Key(key);
	Separate();
	String(value, len);
}

void JsonTextBuilder::AddInt(const char *key, int64 value) {
	Key(key);
	Separate();
	appendStringInfo(out_, INT64_FORMAT, value);
}

void JsonTextBuilder::AddBool(const char *key, bool value) {
	Key(key);
	Separate();
	appendStringInfoString(out_, value ? "true" : "false");
}

void JsonTextBuilder::AddNull(const char *key) {
	Key(key);
	Separate();
	appendStringInfoString(out_, "null");
}

void JsonTextBuilder::AddJsonb(const char *key, Jsonb *value) {
	Key(key);
	Separate();
	(void)JsonbToCString(out_, &value->root, static_cast<int>(VARSIZE(value)));
}

void JsonTextBuilder::AddTimestamp(const char *key, TimestampTz value) {
	char text[core::kTimestampBufferSize];
	FormatTimestampUtc(value, text);
	Key(key);
	Separate();
	appendStringInfoChar(out_, '"');
	appendStringInfoString(out_, text);
	appendStringInfoChar(out_, '"');
}

void FormatTimestampUtc(TimestampTz ts, char (&out)[core::kTimestampBufferSize]) {
	core::FormatTimestamp(ts, out);
}

} // namespace event::pg
