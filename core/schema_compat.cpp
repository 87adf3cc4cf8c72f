// schema_compat.cpp — the conservative backward-compatibility check of the schema registry
// (json_schema.hpp BackwardIncompatibility; the rules are listed in docs/sql-api.md).
//
// "next is backward compatible with previous" means: every document previous accepts, next
// accepts too. The check walks both schemas keyword by keyword and accepts only changes it can
// prove widen (or keep) the accepted set; anything else, including a change to a keyword it does
// not reason about, is refused with the schema location. It may refuse a compatible change
// (register it without the check then), never accept an incompatible one.
#include "core/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/rapidjson.hpp"

namespace event::core {
namespace {

using Value = rapidjson::Value;

// Keywords that never change what is accepted.
bool IsAnnotation(const std::string &k) {
	static const char *const kAnnotations[] = {"$schema", "$comment", "title", "description", "default",
	                                           "examples", "readOnly", "writeOnly", "contentMediaType",
	                                           "contentEncoding"};
	return std::any_of(std::begin(kAnnotations), std::end(kAnnotations), [&k](const char *a) { return k == a; });
}

// True if v accepts every document: true, or an object of annotations only.
bool AcceptsAll(const Value *v) {
	if (v == nullptr || (v->IsBool() && v->GetBool()))
		return true;
	if (!v->IsObject())
		return false;
	for (const auto &m : v->GetObject())
		if (!IsAnnotation(m.name.GetString()))
			return false;
	return true;
}

const Value *Member(const Value *v, const char *key) {
	if (v == nullptr || !v->IsObject())
		return nullptr;
	auto m = v->FindMember(key);
	return m == v->MemberEnd() ? nullptr : &m->value;
}

// The JSON types a "type" keyword allows ("integer" also counts as a kind of "number").
std::vector<std::string> Types(const Value *type) {
	std::vector<std::string> out;
	if (type == nullptr)
		return out;
	if (type->IsString())
		out.emplace_back(type->GetString());
	else if (type->IsArray())
		for (const auto &t : type->GetArray())
			if (t.IsString())
				out.emplace_back(t.GetString());
	return out;
}

bool Contains(const std::vector<std::string> &set, const std::string &x) {
	return std::find(set.begin(), set.end(), x) != set.end();
}

class Checker {
public:
	// Empty if next accepts all previous accepts (by the rules), else the first reason.
	std::string Check(const Value *prev, const Value *next, const std::string &at) {
		if (AcceptsAll(next))
			return "";
		if (prev != nullptr && prev->IsBool() && !prev->GetBool())
			return ""; // previous accepted nothing
		if (prev != nullptr && *prev == *next)
			return "";
		if (next->IsBool()) // false, and previous accepted something
			return Where(at) + "the schema became false (rejects everything)";
		if (AcceptsAll(prev))
			prev = nullptr; // unconstrained before: any rule in next narrows
		for (const auto &m : next->GetObject()) {
			const std::string key = m.name.GetString();
			if (IsAnnotation(key))
				continue;
			std::string why = Keyword(key, prev, Member(prev, key.c_str()), &m.value, at);
			if (!why.empty())
				return why;
		}
		// A property of previous that next no longer lists is governed by next's
		// additionalProperties (and patternProperties, compared as a whole below).
		if (const Value *pp = Member(prev, "properties"); pp != nullptr && pp->IsObject()) {
			const Value *np = Member(next, "properties");
			for (const auto &m : pp->GetObject())
				if (Member(np, m.name.GetString()) == nullptr) {
					std::string why = Check(&m.value, Member(next, "additionalProperties"),
					                        at + "/properties/" + Escape(m.name.GetString()));
					if (!why.empty())
						return why;
				}
		}
		return "";
	}

private:
	static std::string Escape(const std::string &token) {
		std::string out;
		for (char c : token)
			out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
		return out;
	}
	static std::string Where(const std::string &at) {
		return (at.empty() ? std::string("(root)") : at) + ": ";
	}

	// One keyword of next (n), with the same keyword of previous (p, may be null).
	std::string Keyword(const std::string &key, const Value *prev, const Value *p, const Value *n,
	                    const std::string &at) {
		const std::string here = at + "/" + Escape(key);
		if (key == "type") {
			std::vector<std::string> pt = Types(p), nt = Types(n);
			if (p == nullptr)
				return Where(here) + "type added (the previous version accepted any type)";
			for (const auto &t : pt)
				if (!Contains(nt, t) && !(t == "integer" && Contains(nt, "number")))
					return Where(here) + "type narrowed: \"" + t + "\" is no longer allowed";
			return "";
		}
		if (key == "required") {
			if (!n->IsArray())
				return Where(here) + "required is not an array";
			for (const auto &r : n->GetArray()) {
				bool had = p != nullptr && p->IsArray() &&
				           std::any_of(p->GetArray().begin(), p->GetArray().end(), [&r](const Value &x) { return x == r; });
				if (!had)
					return Where(here) + "new required property \"" + std::string(r.IsString() ? r.GetString() : "?") + "\"";
			}
			return "";
		}
		if (key == "enum") {
			if (p == nullptr || !p->IsArray() || !n->IsArray())
				return Where(here) + "enum added (the previous version allowed any value)";
			for (const auto &v : p->GetArray())
				if (std::none_of(n->GetArray().begin(), n->GetArray().end(), [&v](const Value &x) { return x == v; }))
					return Where(here) + "enum value removed";
			return "";
		}
		if (key == "properties") {
			if (!n->IsObject())
				return Where(here) + "properties is not an object";
			for (const auto &m : n->GetObject()) {
				const std::string name = m.name.GetString();
				const std::string child = here + "/" + Escape(name);
				const Value *old_schema = Member(p, name.c_str());
				if (old_schema == nullptr) {
					// Before, the property was governed by additionalProperties (if no pattern matched).
					if (Member(prev, "patternProperties") != nullptr && !AcceptsAll(&m.value))
						return Where(child) + "new property constraint where the previous version had patternProperties";
					old_schema = Member(prev, "additionalProperties");
				}
				std::string why = Check(old_schema, &m.value, child);
				if (!why.empty())
					return why;
			}
			return "";
		}
		if (key == "additionalProperties") {
			if (p == nullptr && !AcceptsAll(n)) {
				// Names next does not list were unconstrained unless previous listed them.
				return Where(here) + "additionalProperties added (the previous version allowed any other property)";
			}
			return Check(p, n, here);
		}
		if (key == "items" && n->IsObject()) {
			if (p != nullptr && !p->IsObject() && !p->IsBool())
				return Where(here) + "items changed from a list of schemas to one schema";
			return Check(p, n, here);
		}
		if (key == "minimum" || key == "minLength" || key == "minItems" || key == "minProperties" ||
		    key == "exclusiveMinimum")
			return Bound(here, p, n, true);
		if (key == "maximum" || key == "maxLength" || key == "maxItems" || key == "maxProperties" ||
		    key == "exclusiveMaximum")
			return Bound(here, p, n, false);
		if (key == "multipleOf") {
			if (p == nullptr || !p->IsNumber() || !n->IsNumber())
				return Where(here) + "multipleOf added";
			double q = p->GetDouble() / n->GetDouble();
			if (std::fabs(q - std::round(q)) > 1e-9 || q < 1)
				return Where(here) + "multipleOf " + std::to_string(n->GetDouble()) + " does not divide the previous " +
				       std::to_string(p->GetDouble());
			return "";
		}
		if (key == "uniqueItems") {
			if (n->IsBool() && !n->GetBool())
				return "";
			if (p == nullptr || !(p->IsBool() && p->GetBool()))
				return Where(here) + "uniqueItems added";
			return "";
		}
		// Everything else (const, pattern, format, $ref, definitions, allOf, anyOf, oneOf, not,
		// if/then/else, dependencies, patternProperties, propertyNames, contains,
		// additionalItems, items as a list, ...): only an unchanged value is accepted.
		if (p == nullptr)
			return Where(here) + "\"" + key + "\" added";
		if (*p != *n)
			return Where(here) + "\"" + key + "\" changed (only unchanged values of this keyword are accepted by the "
			                     "compatibility check)";
		return "";
	}

	// A lower (lower=true) or upper bound: next must exist in previous and be no tighter.
	static std::string Bound(const std::string &here, const Value *p, const Value *n, bool lower) {
		if (!n->IsNumber())
			return Where(here) + "not a number";
		if (p == nullptr || !p->IsNumber())
			return Where(here) + (lower ? "lower" : "upper") + " bound added";
		double pv = p->GetDouble(), nv = n->GetDouble();
		if (lower ? nv > pv : nv < pv)
			return Where(here) + (lower ? "lower bound raised from " : "upper bound lowered from ") +
			       std::to_string(pv) + " to " + std::to_string(nv);
		return "";
	}
};

} // namespace

std::string BackwardIncompatibility(std::string_view previous_json, std::string_view next_json) {
	rapidjson::Document prev, next;
	prev.Parse<rapidjson::kParseIterativeFlag>(previous_json.data(), previous_json.size());
	next.Parse<rapidjson::kParseIterativeFlag>(next_json.data(), next_json.size());
	if (prev.HasParseError() || next.HasParseError())
		return "(root): a schema is not valid JSON";
	return Checker().Check(&prev, &next, "");
}

} // namespace event::core
