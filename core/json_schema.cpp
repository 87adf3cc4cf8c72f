// json_schema.cpp — draft-7 validation with valijson over RapidJSON, and the backward-compatibility
// rules (see json_schema.hpp).
#include "core/json_schema.hpp"

#include "core/errors.hpp"

#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

// valijson matches "pattern", "patternProperties" and the date/time formats with std::regex, whose
// default (depth-first) executor recurses once per input character: a 50 kB string crashes the
// process on an 8 MB stack. libstdc++'s breadth-first executor (the __polynomial flag) uses
// constant stack for any input. valijson builds its regexes itself, so inside this file only its
// "std::regex" is a basic_regex that always sets that flag (<regex> is included above, so the
// macro touches valijson's code only). Back-references are not supported in that mode; a schema
// using them is refused when it is registered (ValidatePatterns). valijson also compiles the
// format regexes on every check (milliseconds each): the constructor copies a compiled regex
// from a per-process cache (a copy shares the compiled automaton).
namespace std {
struct event_polynomial_regex : basic_regex<char> {
	static constexpr regex_constants::syntax_option_type kFlags =
		regex_constants::ECMAScript | regex_constants::__polynomial;
	event_polynomial_regex() = default;
	explicit event_polynomial_regex(const std::string &pattern) : basic_regex<char>(Compiled(pattern)) {}
	explicit event_polynomial_regex(const char *pattern) : basic_regex<char>(Compiled(pattern)) {}

	// The compiled regex of pattern, compiled once; the cache holds the patterns of registered
	// schemas and valijson's few fixed ones (emptied if it ever grows past 10000).
	static const basic_regex<char> &Compiled(const std::string &pattern) {
		static unordered_map<string, basic_regex<char>> cache;
		auto it = cache.find(pattern);
		if (it != cache.end())
			return it->second;
		basic_regex<char> compiled(pattern, kFlags);
		if (cache.size() >= 10000)
			cache.clear();
		return cache.emplace(pattern, std::move(compiled)).first->second;
	}
};
} // namespace std

// valijson throws (instead of printing and calling abort()) when VALIJSON_USE_EXCEPTIONS is set
// while its exceptions.hpp is read; it is unset again before the RapidJSON adapter, which would
// otherwise define a RAPIDJSON_ASSERT that builds a std::string per call (core/rapidjson.hpp
// defines one that throws).
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/exceptions.hpp>
#undef VALIJSON_USE_EXCEPTIONS
#include "core/rapidjson.hpp"
#define regex event_polynomial_regex
#include <valijson/adapters/rapidjson_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#undef regex

#include <rapidjson/error/en.h>

namespace event::core {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag;

// Nesting depth of v (1 for a scalar), without recursion; stops counting past limit.
int Depth(const rapidjson::Value &root, int limit) {
	struct Frame {
		const rapidjson::Value *v;
		int depth;
	};
	std::vector<Frame> stack{{&root, 1}};
	int deepest = 0;
	while (!stack.empty()) {
		Frame f = stack.back();
		stack.pop_back();
		deepest = std::max(deepest, f.depth);
		if (deepest > limit)
			return deepest;
		if (f.v->IsObject())
			for (const auto &m : f.v->GetObject())
				stack.push_back({&m.value, f.depth + 1});
		else if (f.v->IsArray())
			for (const auto &e : f.v->GetArray())
				stack.push_back({&e, f.depth + 1});
	}
	return deepest;
}

[[noreturn]] void InvalidSchema(const std::string &why) {
	throw SqlError(kInvalidParameterValue, "invalid JSON schema", why + (why.empty() || why.back() == '.' ? "" : "."),
	               "Pass a draft-7 JSON Schema (an object or a boolean); see docs/sql-api.md \"Schema registry\".");
}

void Parse(std::string_view json, rapidjson::Document *doc, bool is_schema) {
	doc->Parse<kParseFlags>(json.data(), json.size());
	if (!doc->HasParseError())
		return;
	std::string why = std::string("JSON parse error at offset ") + std::to_string(doc->GetErrorOffset()) + ": " +
	                  rapidjson::GetParseError_En(doc->GetParseError());
	if (is_schema)
		InvalidSchema(why);
	throw SqlError(kInvalidTextRepresentation, "invalid JSON document", why + ".", "Pass well-formed JSON.");
}

// Every "pattern" string and "patternProperties" key must compile in the validator's regex mode.
void ValidatePatterns(const rapidjson::Value &v, std::string *where) {
	auto check = [where](const std::string &pattern, const char *what) {
		if (pattern.size() > kMaxSchemaPatternLength)
			InvalidSchema(std::string(what) + " is longer than " + std::to_string(kMaxSchemaPatternLength) +
			              " characters at " + *where);
		int depth = 0;
		for (char c : pattern)
			if (c == '(' && ++depth > 32)
				InvalidSchema(std::string(what) + " nests groups deeper than 32 at " + *where);
			else if (c == ')' && depth > 0)
				depth--;
		try {
			std::event_polynomial_regex r(pattern);
		} catch (const std::regex_error &e) {
			InvalidSchema(std::string(what) + " \"" + pattern + "\" at " + *where + " is not a supported regular " +
			              "expression (" + e.what() + "; back-references are not supported)");
		}
	};
	if (v.IsObject()) {
		for (const auto &m : v.GetObject()) {
			std::string key(m.name.GetString(), m.name.GetStringLength());
			size_t len = where->size();
			*where += "/" + key;
			if (key == "pattern" && m.value.IsString())
				check(std::string(m.value.GetString(), m.value.GetStringLength()), "pattern");
			if (key == "patternProperties" && m.value.IsObject())
				for (const auto &p : m.value.GetObject())
					check(std::string(p.name.GetString(), p.name.GetStringLength()), "patternProperties key");
			ValidatePatterns(m.value, where);
			where->resize(len);
		}
	} else if (v.IsArray()) {
		for (rapidjson::SizeType i = 0; i < v.Size(); i++) {
			size_t len = where->size();
			*where += "/" + std::to_string(i);
			ValidatePatterns(v[i], where);
			where->resize(len);
		}
	}
}

// RFC 6901 escaping of one reference token.
std::string EscapeToken(const std::string &token) {
	std::string out;
	for (char c : token)
		out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
	return out;
}

// The JSON Pointer of a valijson context ("<root>", "[name]", "[0]", ...), resolved against the
// document so that an index and a property named like one are told apart.
std::string Pointer(const std::vector<std::string> &context, const rapidjson::Value &doc) {
	std::string out;
	const rapidjson::Value *at = &doc;
	for (size_t i = 1; i < context.size(); i++) {
		const std::string &part = context[i];
		std::string token = part.size() >= 2 && part.front() == '[' && part.back() == ']'
		                        ? part.substr(1, part.size() - 2)
		                        : part;
		out += "/" + EscapeToken(token);
		if (at == nullptr)
			continue;
		if (at->IsObject()) {
			auto m = at->FindMember(rapidjson::Value(token.c_str(), static_cast<rapidjson::SizeType>(token.size())));
			at = m == at->MemberEnd() ? nullptr : &m->value;
		} else if (at->IsArray() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
		           std::stoull(token) < at->Size()) {
			at = &(*at)[static_cast<rapidjson::SizeType>(std::stoull(token))];
		} else {
			at = nullptr;
		}
	}
	return out;
}

// The keyword behind one of valijson's messages (validation_visitor.hpp), most specific first.
const char *RuleOf(const std::string &message) {
	static const std::pair<const char *, const char *> kRules[] = {
		{"anyOf", "anyOf"},
		{"oneOf", "oneOf"},
		{"exactly one child schema", "oneOf"},
		{"conditional schema", "if"},
		{"'const'", "const"},
		{"'contains'", "contains"},
		{"enum values", "enum"},
		{"comparison value are not equal", "enum"},
		{"should be a valid", "format"},
		{"additional items", "additionalItems"},
		{"'additionalItems'", "additionalItems"},
		{"more items than allowed by items", "additionalItems"},
		{"less than or equal", "maximum"},
		{"Expected number less than", "exclusiveMaximum"},
		{"greater than or equal", "minimum"},
		{"Expected number greater than", "exclusiveMinimum"},
		{"Array should contain no more than", "maxItems"},
		{"String should be no more than", "maxLength"},
		{"Object should have no more than", "maxProperties"},
		{"Array should contain no fewer than", "minItems"},
		{"String should be no fewer than", "minLength"},
		{"Object should have no fewer than", "minProperties"},
		{"multiple", "multipleOf"},
		{"'not'", "not"},
		{"'pattern'", "pattern"},
		{"additionalProperties", "additionalProperties"},
		{"additional properties", "additionalProperties"},
		{"corresponding item schema", "items"},
		{"in array", "items"},
		{"'type'", "type"},
		{"uniqueness", "uniqueItems"},
		{"Missing required property", "required"},
		{"dependency", "dependencies"},
		{"dependent schema", "dependencies"},
		{"associated with pattern", "patternProperties"},
		{"property name", "properties"},
		{"child schema #", "allOf"},
	};
	for (const auto &[needle, rule] : kRules)
		if (message.find(needle) != std::string::npos)
			return rule;
	return "schema";
}

bool IsCombinator(const char *rule) {
	return strcmp(rule, "anyOf") == 0 || strcmp(rule, "oneOf") == 0;
}

bool IsPrefix(const std::vector<std::string> &a, const std::vector<std::string> &b) {
	return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

} // namespace

struct JsonSchema::Impl {
	valijson::Schema schema;
	mutable valijson::Validator validator{valijson::Validator::kStrongTypes};
};

JsonSchema::JsonSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSchema::~JsonSchema() = default;

std::unique_ptr<JsonSchema> JsonSchema::Compile(std::string_view schema_json) {
	rapidjson::Document doc;
	Parse(schema_json, &doc, true);
	if (!doc.IsObject() && !doc.IsBool())
		InvalidSchema("The schema is neither an object nor a boolean");
	if (Depth(doc, kMaxSchemaDepth) > kMaxSchemaDepth)
		InvalidSchema("The schema nests deeper than " + std::to_string(kMaxSchemaDepth) + " levels");
	if (doc.IsObject()) {
		auto s = doc.FindMember("$schema");
		if (s != doc.MemberEnd()) {
			std::string uri = s->value.IsString() ? s->value.GetString() : "";
			if (uri != "http://json-schema.org/draft-07/schema#" && uri != "http://json-schema.org/draft-07/schema")
				InvalidSchema("$schema \"" + uri + "\" is not supported; only draft 7 " +
				              "(http://json-schema.org/draft-07/schema#) is");
		}
	}
	std::string where;
	ValidatePatterns(doc, &where);
	auto impl = std::make_unique<Impl>();
	try {
		valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
		valijson::adapters::RapidJsonAdapter adapter(doc);
		parser.populateSchema(adapter, impl->schema);
	} catch (const SqlError &) {
		throw;
	} catch (const std::exception &e) {
		InvalidSchema(e.what());
	}
	return std::unique_ptr<JsonSchema>(new JsonSchema(std::move(impl)));
}

bool JsonSchema::Validate(std::string_view document_json, SchemaViolation *violation) const {
	rapidjson::Document doc;
	Parse(document_json, &doc, false);
	if (Depth(doc, kMaxSchemaDocumentDepth) > kMaxSchemaDocumentDepth) {
		if (violation != nullptr)
			*violation = {"", "maxDepth",
			              "Document nests deeper than " + std::to_string(kMaxSchemaDocumentDepth) +
			                  " levels, the most that is validated."};
		return false;
	}
	valijson::adapters::RapidJsonAdapter adapter(doc);
	if (violation == nullptr)
		return impl_->validator.validate(impl_->schema, adapter, nullptr);
	valijson::ValidationResults results;
	if (impl_->validator.validate(impl_->schema, adapter, &results))
		return true;
	// The first error is the innermost of the first failure; an enclosing anyOf/oneOf is the rule
	// that really failed (no single branch is "the" reason).
	std::vector<valijson::ValidationResults::Error> errors(results.begin(), results.end());
	const valijson::ValidationResults::Error *chosen = errors.empty() ? nullptr : &errors[0];
	for (const auto &e : errors)
		if (chosen != nullptr && IsCombinator(RuleOf(e.description)) && IsPrefix(e.context, errors[0].context)) {
			chosen = &e;
			break;
		}
	if (chosen == nullptr) {
		*violation = {"", "schema", "Document does not match the schema."};
		return false;
	}
	std::string message = chosen->description;
	if (!message.empty() && message.back() != '.')
		message += '.';
	*violation = {Pointer(chosen->context, doc), RuleOf(chosen->description), message};
	return false;
}

} // namespace event::core
