// options.cpp — parsing of the event_decoder plugin options (see options.hpp).
#include "decoder/options.hpp"

#include "core/errors.hpp"

#include <cctype>

namespace event::decoder {

#define EVENT_DECODER_FIELD_NAME(id, name, type) name,
const char *const kEventFieldNames[kEventFieldCount] = {EVENT_COLUMNS(EVENT_DECODER_FIELD_NAME)};
#undef EVENT_DECODER_FIELD_NAME

namespace {

enum OptionIndex : int {
	kFormatOption = 0,
	kEventTypesOption,
	kSourcesOption,
	kCategoriesOption,
	kFieldsOption,
	kIncludeXidOption,
	kIncludeLsnOption,
	kIncludeCommitTimeOption,
	kHeartbeatOption,
	kSkipIngestedOption,
	kOptionCount
};

constexpr const char *kOptionNames[kOptionCount] = {
    "format", "event_types", "sources", "categories", "fields", "include_xid", "include_lsn", "include_commit_time",
    "heartbeat", "skip_ingested",
};

constexpr char kOptionsHint[] = "Valid options are \"format\", \"event_types\", \"sources\", \"categories\", "
                                "\"fields\", \"include_xid\", \"include_lsn\", \"include_commit_time\", "
                                "\"heartbeat\" and \"skip_ingested\".";

constexpr char kBoolHint[] = "Valid values are \"true\" and \"false\" (also \"on\"/\"off\", \"yes\"/\"no\", "
                             "\"1\"/\"0\"); no value means true.";

[[noreturn]] void Fail(const std::string &message, const std::string &hint, const std::string &detail = {}) {
	throw core::SqlError(core::kInvalidParameterValue, message, detail, hint);
}

std::string Quoted(std::string_view s) {
	std::string out;
	out.reserve(s.size() + 2);
	out += '"';
	out.append(s.data(), s.size());
	out += '"';
	return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++) {
		if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
			return false;
	}
	return true;
}

std::string_view Trim(std::string_view s) {
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
		s.remove_prefix(1);
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.remove_suffix(1);
	return s;
}

void RequireValue(std::string_view name, const char *value, const char *hint) {
	if (value == nullptr)
		Fail("option " + Quoted(name) + " requires a value", hint);
}

bool ParseBool(std::string_view name, const char *value) {
	if (value == nullptr)
		return true;
	const std::string_view v = Trim(value);
	for (const char *word : {"true", "on", "yes", "1", "t", "y"}) {
		if (EqualsIgnoreCase(v, word))
			return true;
	}
	for (const char *word : {"false", "off", "no", "0", "f", "n"}) {
		if (EqualsIgnoreCase(v, word))
			return false;
	}
	Fail("invalid value " + Quoted(value) + " for option " + Quoted(name), kBoolHint);
}

// Splits a comma-separated list; items are trimmed and must not be empty.
std::vector<std::string> ParseList(std::string_view name, const char *value, const char *hint) {
	RequireValue(name, value, hint);
	std::vector<std::string> items;
	std::string_view rest(value);
	while (true) {
		const size_t comma = rest.find(',');
		const std::string_view item = Trim(rest.substr(0, comma));
		if (item.empty())
			Fail("invalid value " + Quoted(value) + " for option " + Quoted(name), hint,
			     "The list has an empty item.");
		items.emplace_back(item);
		if (comma == std::string_view::npos)
			break;
		rest.remove_prefix(comma + 1);
	}
	return items;
}

std::string FieldsHint() {
	std::string hint = "A comma-separated list of field names:";
	for (int f = 0; f < kEventFieldCount; f++) {
		hint += f == 0 ? " \"" : ", \"";
		hint += kEventFieldNames[f];
		hint += '"';
	}
	hint += "; \"event_id\" and \"position\" are always included.";
	return hint;
}

FieldMask ParseFields(std::string_view name, const char *value) {
	const std::string hint = FieldsHint();
	FieldMask mask = kRequiredFields;
	for (const std::string &item : ParseList(name, value, hint.c_str())) {
		int found = -1;
		for (int f = 0; f < kEventFieldCount; f++) {
			if (item == kEventFieldNames[f]) {
				found = f;
				break;
			}
		}
		if (found < 0)
			Fail("unknown field " + Quoted(item) + " in option " + Quoted(name), hint);
		mask |= FieldMask{1} << found;
	}
	return mask;
}

bool HasPrefix(std::string_view value, const std::vector<std::string> &prefixes) {
	if (prefixes.empty())
		return true;
	for (const std::string &prefix : prefixes) {
		if (value.substr(0, prefix.size()) == prefix)
			return true;
	}
	return false;
}

constexpr char kPrefixHint[] = "A comma-separated list of prefixes, for example \"order.,payment.\".";

} // namespace

bool Options::Passes(std::string_view event_type, std::string_view event_source,
                     std::string_view event_category) const {
	return HasPrefix(event_type, event_types) && HasPrefix(event_source, sources) &&
	       HasPrefix(event_category, categories);
}

void OptionParser::Set(std::string_view name, const char *value) {
	int index = -1;
	for (int i = 0; i < kOptionCount; i++) {
		if (name == kOptionNames[i]) {
			index = i;
			break;
		}
	}
	if (index < 0)
		Fail("unrecognized event_decoder option " + Quoted(name), kOptionsHint);
	if (seen_ & (1u << index))
		Fail("option " + Quoted(name) + " given more than once", "Give each option at most once.");
	seen_ |= 1u << index;

	switch (index) {
	case kFormatOption: {
		constexpr char hint[] = "Valid values are \"json\" and \"json-pretty\".";
		RequireValue(name, value, hint);
		const std::string_view v = Trim(value);
		if (v == "json")
			options_.format = Format::kJson;
		else if (v == "json-pretty")
			options_.format = Format::kJsonPretty;
		else
			Fail("invalid value " + Quoted(value) + " for option " + Quoted(name), hint);
		break;
	}
	case kEventTypesOption:
		options_.event_types = ParseList(name, value, kPrefixHint);
		break;
	case kSourcesOption:
		options_.sources = ParseList(name, value, kPrefixHint);
		break;
	case kCategoriesOption:
		options_.categories = ParseList(name, value, kPrefixHint);
		break;
	case kFieldsOption:
		options_.fields = ParseFields(name, value);
		break;
	case kIncludeXidOption:
		options_.include_xid = ParseBool(name, value);
		break;
	case kIncludeLsnOption:
		options_.include_lsn = ParseBool(name, value);
		break;
	case kIncludeCommitTimeOption:
		options_.include_commit_time = ParseBool(name, value);
		break;
	case kHeartbeatOption:
		options_.heartbeat = ParseBool(name, value);
		break;
	case kSkipIngestedOption:
		options_.skip_ingested = ParseBool(name, value);
		break;
	default:
		break;
	}
}

} // namespace event::decoder
