// json_schema_test.cpp — core/json_schema (the schema registry's validator) against the official
// JSON-Schema-Test-Suite (Debian package json-schema-test-suite, draft 7, required and optional
// files), plus the violation reporting (JSON Pointer, rule) and the backward-compatibility rules.
//
// Every case of every draft-7 file runs. The cases the integration does not support are listed
// in kUnsupported with the reason, and each listed case must really fail (so the list cannot go
// stale or hide a case silently).
#include "core/errors.hpp"
#include "core/json_schema.hpp"

#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/rapidjson.hpp"
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace event::core {
namespace {

const char kSuiteDir[] = "/usr/share/json-schema-test-suite/tests/draft7";

// "file/group description" (every case of the group) or "file/group description/case description".
struct Unsupported {
	const char *key;
	const char *reason;
};
const Unsupported kUnsupported[] = {
#include "json_schema_unsupported.inc"
};

std::string ToJson(const rapidjson::Value &v) {
	rapidjson::StringBuffer buf;
	rapidjson::Writer<rapidjson::StringBuffer> w(buf);
	v.Accept(w);
	return std::string(buf.GetString(), buf.GetSize());
}

std::string ReadFile(const std::string &path) {
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

std::vector<std::string> SuiteFiles() {
	std::vector<std::string> out;
	for (const std::string sub : {"", "/optional", "/optional/format"}) {
		DIR *d = opendir((std::string(kSuiteDir) + sub).c_str());
		if (d == nullptr)
			continue;
		while (dirent *e = readdir(d)) {
			std::string name = e->d_name;
			if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
				out.push_back((sub.empty() ? "" : sub.substr(1) + "/") + name);
		}
		closedir(d);
	}
	std::sort(out.begin(), out.end());
	return out;
}

const Unsupported *Listed(const std::string &group_key, const std::string &case_key) {
	for (const auto &u : kUnsupported)
		if (group_key == u.key || case_key == u.key)
			return &u;
	return nullptr;
}

TEST(JsonSchemaSuite, Draft7) {
	std::vector<std::string> files = SuiteFiles();
	ASSERT_GT(files.size(), 30u) << "json-schema-test-suite is not installed (make deps)";
	int passed = 0, known = 0;
	std::set<std::string> listed_seen;
	for (const std::string &file : files) {
		rapidjson::Document doc;
		doc.Parse(ReadFile(std::string(kSuiteDir) + "/" + file).c_str());
		ASSERT_FALSE(doc.HasParseError()) << file;
		ASSERT_TRUE(doc.IsArray()) << file;
		const std::string stem = file.substr(0, file.size() - 5);
		for (const auto &group : doc.GetArray()) {
			const std::string group_key = stem + "/" + group["description"].GetString();
			std::unique_ptr<JsonSchema> schema;
			std::string compile_error;
			try {
				schema = JsonSchema::Compile(ToJson(group["schema"]));
			} catch (const SqlError &e) {
				compile_error = e.message() + ": " + e.detail();
			}
			for (const auto &c : group["tests"].GetArray()) {
				const std::string case_key = group_key + "/" + c["description"].GetString();
				const bool expected = c["valid"].GetBool();
				bool ok;
				if (schema == nullptr) {
					ok = false;
				} else {
					SchemaViolation v;
					bool valid = schema->Validate(ToJson(c["data"]), &v);
					ok = valid == expected;
					if (!valid) {
						EXPECT_FALSE(v.rule.empty()) << case_key;
						EXPECT_FALSE(v.message.empty()) << case_key;
					}
				}
				if (const Unsupported *listed = Listed(group_key, case_key)) {
					listed_seen.insert(listed->key);
					EXPECT_FALSE(ok) << "listed as unsupported (" << listed->reason << ") but passes now; remove it from "
					                 << "json_schema_unsupported.inc: " << case_key;
					known++;
					continue;
				}
				EXPECT_TRUE(ok) << case_key << (compile_error.empty() ? "" : " [compile: " + compile_error + "]")
				                << " expected " << (expected ? "valid" : "invalid");
				passed += ok;
			}
		}
	}
	for (const auto &u : kUnsupported)
		EXPECT_TRUE(listed_seen.count(u.key)) << "listed case not found in the suite: " << u.key;
	std::cout << "[ suite    ] draft7: " << passed << " cases pass, " << known << " listed as unsupported\n";
	EXPECT_GT(passed, 400);
}

// ---- violation reporting ----

SchemaViolation Violation(const std::string &schema, const std::string &doc) {
	SchemaViolation v;
	EXPECT_FALSE(JsonSchema::Compile(schema)->Validate(doc, &v)) << doc;
	return v;
}

const char kOrder[] = R"({"type": "object", "required": ["id", "items"],
	"properties": {"id": {"type": "string", "pattern": "^o_[0-9]+$"},
	               "items": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["sku"],
	                         "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}},
	               "a/b~c": {"enum": ["x", "y"]},
	               "kind": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
	"additionalProperties": false})";

TEST(JsonSchema, ViolationPointerAndRule) {
	SchemaViolation v = Violation(kOrder, R"({"items": [{"sku": "A"}]})");
	EXPECT_EQ(v.pointer, "");
	EXPECT_EQ(v.rule, "required");
	EXPECT_NE(v.message.find("'id'"), std::string::npos) << v.message;

	v = Violation(kOrder, R"({"id": "o_1", "items": [{"sku": "A"}, {"sku": "B", "qty": 0}]})");
	EXPECT_EQ(v.pointer, "/items/1/qty");
	EXPECT_EQ(v.rule, "minimum");

	v = Violation(kOrder, R"({"id": "o_1", "items": [{"sku": 5}]})");
	EXPECT_EQ(v.pointer, "/items/0/sku");
	EXPECT_EQ(v.rule, "type");

	v = Violation(kOrder, R"({"id": "x1", "items": [{"sku": "A"}]})");
	EXPECT_EQ(v.pointer, "/id");
	EXPECT_EQ(v.rule, "pattern");

	v = Violation(kOrder, R"({"id": "o_1", "items": []})");
	EXPECT_EQ(v.pointer, "/items");
	EXPECT_EQ(v.rule, "minItems");

	v = Violation(kOrder, R"({"id": "o_1", "items": [{"sku": "A"}], "a/b~c": "z"})");
	EXPECT_EQ(v.pointer, "/a~1b~0c");
	EXPECT_EQ(v.rule, "enum");

	v = Violation(kOrder, R"({"id": "o_1", "items": [{"sku": "A"}], "kind": 1.5})");
	EXPECT_EQ(v.pointer, "/kind");
	EXPECT_EQ(v.rule, "anyOf");

	v = Violation(kOrder, R"({"id": "o_1", "items": [{"sku": "A"}], "extra": 1})");
	EXPECT_EQ(v.pointer, "");
	EXPECT_EQ(v.rule, "additionalProperties");

	// A property named like an index is a property.
	v = Violation(R"({"properties": {"0": {"type": "string"}}})", R"({"0": 1})");
	EXPECT_EQ(v.pointer, "/0");
	EXPECT_TRUE(JsonSchema::Compile(kOrder)->Validate(R"({"id": "o_12", "items": [{"sku": "A", "qty": 2}]})", nullptr));
}

TEST(JsonSchema, LongStringsAgainstPatternsDoNotExhaustTheStack) {
	// The default std::regex executor recursed per character and crashed at ~50 kB.
	auto s = JsonSchema::Compile(R"({"properties": {"t": {"type": "string", "pattern": "^(a|b)*$"}}})");
	std::string doc = "{\"t\": \"" + std::string(2000000, 'a') + "\"}";
	EXPECT_TRUE(s->Validate(doc, nullptr));
	doc = "{\"t\": \"" + std::string(2000000, 'a') + "c\"}";
	SchemaViolation v;
	EXPECT_FALSE(s->Validate(doc, &v));
	EXPECT_EQ(v.rule, "pattern");
}

TEST(JsonSchema, DeepDocumentsAreRefusedNotRecursedInto) {
	auto s = JsonSchema::Compile(R"({"$ref": "#/definitions/n", "definitions": {"n": {"type": "array", "items": {"$ref": "#/definitions/n"}}}})");
	std::string ok = std::string(kMaxSchemaDocumentDepth, '[') + std::string(kMaxSchemaDocumentDepth, ']');
	EXPECT_TRUE(s->Validate(ok, nullptr));
	std::string deep = std::string(kMaxSchemaDocumentDepth + 1, '[') + std::string(kMaxSchemaDocumentDepth + 1, ']');
	SchemaViolation v;
	EXPECT_FALSE(s->Validate(deep, &v));
	EXPECT_EQ(v.rule, "maxDepth");
}

SqlError CompileError(const std::string &schema) {
	try {
		JsonSchema::Compile(schema);
	} catch (const SqlError &e) {
		return e;
	}
	ADD_FAILURE() << "compiled: " << schema;
	return SqlError("", "");
}

TEST(JsonSchema, BadSchemasAreClearErrors) {
	for (const char *bad : {"", "{", "[1]", "\"x\"", "1", R"({"type": "strnig"})", R"({"$ref": "http://example.com/s"})",
	                        R"({"pattern": "(a)\\1"})", R"({"pattern": "["})",
	                        R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})",
	                        R"({"patternProperties": {"(": {}}})"}) {
		SqlError e = CompileError(bad);
		EXPECT_EQ(e.sqlstate(), "22023") << bad;
		EXPECT_EQ(e.message(), "invalid JSON schema") << bad;
		EXPECT_FALSE(e.detail().empty()) << bad;
		EXPECT_FALSE(e.hint().empty()) << bad;
	}
	std::string deep = "{\"pattern\": \"" + std::string(100, '(') + "a" + std::string(100, ')') + "\"}";
	EXPECT_EQ(CompileError(deep).sqlstate(), "22023");
	std::string nested;
	for (int i = 0; i < kMaxSchemaDepth + 1; i++)
		nested += "{\"not\": ";
	nested += "{}" + std::string(kMaxSchemaDepth + 1, '}');
	EXPECT_EQ(CompileError(nested).sqlstate(), "22023");
	EXPECT_NE(JsonSchema::Compile("true"), nullptr);
	EXPECT_NE(JsonSchema::Compile(R"({"$schema": "http://json-schema.org/draft-07/schema#"})"), nullptr);
}

// ---- backward compatibility ----

void ExpectCompatible(const std::string &prev, const std::string &next) {
	EXPECT_EQ(BackwardIncompatibility(prev, next), "") << prev << " -> " << next;
}

void ExpectIncompatible(const std::string &prev, const std::string &next, const std::string &reason_part) {
	std::string why = BackwardIncompatibility(prev, next);
	EXPECT_NE(why.find(reason_part), std::string::npos) << prev << " -> " << next << ": \"" << why << "\"";
}

TEST(SchemaCompat, WideningIsAccepted) {
	ExpectCompatible(kOrder, kOrder);
	ExpectCompatible(R"({"required": ["a", "b"]})", R"({"required": ["a"]})");
	ExpectCompatible(R"({"type": "integer"})", R"({"type": "number"})");
	ExpectCompatible(R"({"type": "string"})", R"({"type": ["string", "null"]})");
	ExpectCompatible(R"({"enum": [1, 2]})", R"({"enum": [1, 2, 3]})");
	ExpectCompatible(R"({"minimum": 5, "maxLength": 3})", R"({"minimum": 1, "maxLength": 10})");
	ExpectCompatible(R"({"properties": {"a": {"type": "string"}}, "additionalProperties": false})",
	                 R"({"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "additionalProperties": false})");
	ExpectCompatible(R"({"properties": {"a": {"type": "string"}}})", R"({"properties": {"a": {"title": "A"}}})");
	ExpectCompatible(R"({"multipleOf": 4})", R"({"multipleOf": 2})");
	ExpectCompatible(R"({"type": "string", "description": "x"})", R"({"type": "string", "description": "y"})");
	ExpectCompatible(R"({"type": "string"})", "true");
	ExpectCompatible(R"({"uniqueItems": true})", "{}");
	ExpectCompatible(R"({"items": {"type": "integer"}})", R"({"items": {"type": "number"}})");
}

TEST(SchemaCompat, NarrowingIsRefused) {
	ExpectIncompatible(R"({"required": ["a"]})", R"({"required": ["a", "b"]})", "new required property \"b\"");
	ExpectIncompatible(R"({"type": "number"})", R"({"type": "integer"})", "type narrowed");
	ExpectIncompatible(R"({"type": ["string", "null"]})", R"({"type": "string"})", "\"null\" is no longer allowed");
	ExpectIncompatible("{}", R"({"type": "object"})", "type added");
	ExpectIncompatible(R"({"enum": [1, 2, 3]})", R"({"enum": [1, 2]})", "enum value removed");
	ExpectIncompatible(R"({"minimum": 1})", R"({"minimum": 2})", "lower bound raised");
	ExpectIncompatible(R"({"maxLength": 10})", R"({"maxLength": 3})", "upper bound lowered");
	ExpectIncompatible(R"({"type": "string"})", R"({"type": "string", "maxLength": 3})", "upper bound added");
	ExpectIncompatible(R"({"properties": {"a": {"type": "string"}}})", R"({"properties": {"a": {"type": "integer"}}})",
	                   "/properties/a/type: type narrowed");
	ExpectIncompatible(R"({"properties": {"a": {}}})", R"({"properties": {"a": {}}, "additionalProperties": false})",
	                   "additionalProperties added");
	ExpectIncompatible(R"({"properties": {"a": {"type": "string"}}, "additionalProperties": false})",
	                   R"({"additionalProperties": false})", "/properties/a: the schema became false");
	ExpectIncompatible(R"({"type": "object"})", R"({"type": "object", "properties": {"b": {"type": "string"}}})",
	                   "/properties/b/type: type added");
	ExpectIncompatible(R"({"pattern": "^a"})", R"({"pattern": "^ab"})", "\"pattern\" changed");
	ExpectIncompatible(R"({"type": "string"})", R"({"type": "string", "format": "date"})", "\"format\" added");
	ExpectIncompatible(R"({"multipleOf": 2})", R"({"multipleOf": 4})", "does not divide");
	ExpectIncompatible(R"({"type": "string"})", "false", "became false");
	ExpectIncompatible(R"({"anyOf": [{"type": "string"}]})", R"({"anyOf": [{"type": "string", "minLength": 1}]})",
	                   "\"anyOf\" changed");
}

} // namespace
} // namespace event::core
