// jsonb_builder.hpp — the one way extension/pg builds jsonb values member by member.
//
// A thin front for pushJsonbValue: it fills the JsonbValue of each key and scalar (string,
// integer, numeric, bool, null, timestamp text) and of nested jsonb, so no caller writes
// val.string.len or val.binary.data by hand. pushJsonbValue keeps the pointers it is given until
// the outermost value is serialised: keys and strings must outlive Finish (literals, palloc'd
// text, datums of live tuples), never a stack buffer.
//
// Plain data without a destructor: an ereport (palloc failure, a reducer's error) may longjmp
// over a frame that holds one (guard.hpp).
#pragma once

#include "pg/compat.hpp"

#include "core/timestamp.hpp"

namespace event::pg {

class JsonbBuilder {
public:
	// Builds a new outermost value.
	JsonbBuilder() : state_(&own_) {
	}
	// Pushes into a value being built elsewhere (for example an element of its array).
	explicit JsonbBuilder(JsonbParseState **state) : state_(state) {
	}
	JsonbBuilder(const JsonbBuilder &) = delete;
	JsonbBuilder &operator=(const JsonbBuilder &) = delete;

	void BeginObject();
	void EndObject();
	void BeginArray();
	void EndArray();

	// A key, followed by BeginObject, BeginArray or Value.
	void Key(const char *key);
	void Key(const char *key, int len);
	// The value after Key (a jbvBinary container is pushed member by member).
	void Value(const JsonbValue &value);
	// An element of the array being built.
	void Element(const JsonbValue &value);
	void Element(Jsonb *value);

	// Members of the object being built: key and value.
	void AddString(const char *key, const char *value); // NULL value: JSON null
	void AddString(const char *key, const char *value, int len);
	void AddInt(const char *key, int64 value);
	void AddNumeric(const char *key, Numeric value);
	void AddBool(const char *key, bool value);
	void AddNull(const char *key);
	void AddJsonb(const char *key, Jsonb *value); // nested as it is
	void AddTimestamp(const char *key, TimestampTz value); // FormatTimestampUtc text

	// pushJsonbValue's result of the last push: after the outermost End*, the whole value.
	JsonbValue *Result() const {
		return last_;
	}
	// The finished outermost value, serialised in the current memory context.
	Jsonb *Finish() const;

	// JsonbValues for Value and Element.
	static JsonbValue String(const char *value, int len);
	static JsonbValue Binary(Jsonb *value);
	// {} (a new copy in the current memory context).
	static Jsonb *EmptyObject();

private:
	void Push(JsonbIteratorToken token, const JsonbValue *value);

	JsonbParseState *own_ = nullptr;
	JsonbParseState **state_;
	JsonbValue *last_ = nullptr;
};
static_assert(std::is_trivially_destructible_v<JsonbBuilder>, "an ereport may longjmp over a JsonbBuilder");

// The same members written as JSON text into a StringInfo, for results that leave the server as
// text anyway (the HTTP API's query page): no jsonb tree to build, serialise and print again.
// Code that builds a value for both writes it once as a template over the builder
// (event_record.cpp). Separators are tracked per nesting level, up to kMaxDepth.
class JsonTextBuilder {
public:
	static constexpr int kMaxDepth = 8;

	explicit JsonTextBuilder(StringInfo out) : out_(out) {
	}
	JsonTextBuilder(const JsonTextBuilder &) = delete;
	JsonTextBuilder &operator=(const JsonTextBuilder &) = delete;

	void BeginObject();
	void EndObject();
	void BeginArray();
	void EndArray();
	// key (here and in the Add* below) is one of the code's field names, written as it is: nothing
	// in it may need escaping.
	void Key(const char *key);

	void AddString(const char *key, const char *value); // NULL value: JSON null
	void AddString(const char *key, const char *value, int len);
	void AddInt(const char *key, int64 value);
	void AddBool(const char *key, bool value);
	void AddNull(const char *key);
	void AddJsonb(const char *key, Jsonb *value); // printed as jsonb_out prints it
	void AddTimestamp(const char *key, TimestampTz value);

private:
	void Begin(char bracket);
	void End(char bracket);
	void Separate(); // the comma before a member or element that is not the first
	void String(const char *value, int len);

	StringInfo out_;
	int depth_ = 0;
	bool after_key_ = false;
	bool first_[kMaxDepth + 1] = {true};
};
static_assert(std::is_trivially_destructible_v<JsonTextBuilder>, "an ereport may longjmp over a JsonTextBuilder");

// Writes "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) of ts, "infinity" / "-infinity" if not finite:
// core::FormatTimestamp, the output plugin's form too.
void FormatTimestampUtc(TimestampTz ts, char (&out)[core::kTimestampBufferSize]);

} // namespace event::pg
