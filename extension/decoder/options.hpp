// options.hpp — the options of the event_decoder output plugin, parsed once per decoding session.
//
// Pure C++ (no PostgreSQL headers): plugin.cpp hands each (name, value) pair of the plugin
// options to OptionParser::Set, which throws core::SqlError 22023 for a bad or unknown option
// with the allowed names/values in the hint. The option names, values and the fixed field order
// are documented in docs/logical-decoding.md; keep both in step.
#pragma once

#include "core/cpp_only.hpp"
#include "core/event_columns.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace event::decoder {

// The columns of event.events (core/event_columns.hpp), in the fixed order they appear in a message.
#define EVENT_DECODER_FIELD(id, name, type) k##id,
enum EventField : int { EVENT_COLUMNS(EVENT_DECODER_FIELD) kEventFieldCount };
#undef EVENT_DECODER_FIELD
static_assert(kEventFieldCount == core::kEventColumnCount);

// Column name in event.events = key in the JSON message, indexed by EventField.
extern const char *const kEventFieldNames[kEventFieldCount];

// Bit (1 << field) per field present in a message.
using FieldMask = uint32_t;
inline constexpr FieldMask kAllFields = (FieldMask{1} << kEventFieldCount) - 1;
// Always emitted, whatever "fields" says: the identity and the order of an event.
inline constexpr FieldMask kRequiredFields = (FieldMask{1} << kEventId) | (FieldMask{1} << kPosition);

enum class Format { kJson, kJsonPretty };

struct Options {
	Format format = Format::kJson;
	// Prefix filters; an empty list does not filter. An event passes when it matches all three.
	std::vector<std::string> event_types;
	std::vector<std::string> sources;
	std::vector<std::string> categories;
	FieldMask fields = kAllFields;
	bool include_xid = true;
	bool include_lsn = true;
	bool include_commit_time = true;
	bool heartbeat = true;
	// Leave out the events the frontend ingester stored (core/ingested.hpp): the relay sets it,
	// since JetStream has them already.
	bool skip_ingested = false;

	// True if the event passes every given prefix filter.
	bool Passes(std::string_view event_type, std::string_view event_source, std::string_view event_category) const;
	// True if any prefix filter is set.
	bool Filters() const {
		return !event_types.empty() || !sources.empty() || !categories.empty();
	}
};

// Parses plugin options into an Options value; each name may be given once.
class OptionParser {
public:
	// Applies one option. value is nullptr when the option was given without a value
	// (`-o include_xid` in pg_recvlogical), which means true for the boolean options.
	// Throws core::SqlError (22023) for an unknown option, a repeated option or a bad value.
	void Set(std::string_view name, const char *value);

	const Options &options() const {
		return options_;
	}

private:
	Options options_;
	uint32_t seen_ = 0; // bit per option index, to refuse repetitions
};

} // namespace event::decoder
