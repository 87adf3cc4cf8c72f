// jsonb_builder.cpp — JsonbBuilder (jsonb_builder.hpp): the JsonbValues of keys and scalars.
#include "pg/compat.hpp"

extern "C" {
#include "utils/json.h"
}

#include "pg/jsonb_builder.hpp"

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
		appendStringInfoChar(out_, ',');
	first_[depth_] = false;
}

void JsonTextBuilder::Begin(char bracket) {
	Separate();
	if (depth_ == kMaxDepth)
		elog(ERROR, "event: JSON text nested deeper than %d levels", kMaxDepth);
	appendStringInfoChar(out_, bracket);
	first_[++depth_] = true;
}

void JsonTextBuilder::End(char bracket) {
	appendStringInfoChar(out_, bracket);
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

void JsonTextBuilder::String(const char *value, int len) {
	// PostgreSQL 15's escape_json takes a NUL-terminated string only; text datums are not.
	char *copy = pnstrdup(value, len);
	escape_json(out_, copy);
	pfree(copy);
}

void JsonTextBuilder::Key(const char *key) {
	Separate();
	escape_json(out_, key);
	appendStringInfoChar(out_, ':');
	after_key_ = true;
}

void JsonTextBuilder::AddString(const char *key, const char *value) {
	if (value == nullptr)
		return AddNull(key);
	Key(key);
	Separate();
	escape_json(out_, value);
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
