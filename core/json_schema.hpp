// json_schema.hpp — JSON Schema (draft 7) compile and validate, and the backward-compatibility
// rule set of the schema registry (docs/sql-api.md "Schema registry").
//
// A thin wrapper over valijson (Debian libvalijson-dev) with its RapidJSON adapter: the
// extension hands it the schema and the event data as JSON text and gets back the first
// violation as a JSON Pointer and the keyword that failed. Pure C++, unit-tested against the
// official JSON-Schema-Test-Suite (test/unit/json_schema_test.cpp).
#pragma once

#include "core/cpp_only.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace event::core {

// Deepest document nesting that is validated (the validator recurses per level); a deeper
// document fails with rule "maxDepth" instead of risking the backend's stack.
inline constexpr int kMaxSchemaDocumentDepth = 200;
// Deepest nesting of a schema itself, and the longest "pattern" (the regex compiler recurses).
inline constexpr int kMaxSchemaDepth = 64;
inline constexpr size_t kMaxSchemaPatternLength = 1000;

// The first rule a document breaks.
struct SchemaViolation {
	std::string pointer; // JSON Pointer (RFC 6901) of the failing value; "" is the whole document
	std::string rule;    // the schema keyword that failed, e.g. "required", "minimum", "type"
	std::string message; // the validator's description of the failure
};

// A compiled schema. Validate keeps a regex cache, so one object is used by one thread at a time.
class JsonSchema {
public:
	// Parses and compiles schema_json (draft 7: an object or a boolean). Throws SqlError 22023
	// when it is not JSON, not a usable draft-7 schema, uses a remote $ref, or has an invalid or
	// too complex pattern.
	static std::unique_ptr<JsonSchema> Compile(std::string_view schema_json);
	~JsonSchema();
	JsonSchema(const JsonSchema &) = delete;
	JsonSchema &operator=(const JsonSchema &) = delete;

	// True if document_json conforms; else false with *violation filled (if not null). Throws
	// SqlError 22P02 if document_json is not JSON.
	bool Validate(std::string_view document_json, SchemaViolation *violation) const;

private:
	struct Impl;
	explicit JsonSchema(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

// Empty if every document that previous_json accepts is also accepted by next_json according to
// the conservative rule set (docs/sql-api.md "Backward compatibility"); otherwise why not,
// naming the JSON Pointer of the schema location, e.g. "/properties/age: type narrowed".
// Both must be valid schemas (compile them first).
std::string BackwardIncompatibility(std::string_view previous_json, std::string_view next_json);

} // namespace event::core
