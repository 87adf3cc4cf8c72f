// message.cpp — assembling event_decoder messages (see message.hpp).
#include "decoder/message.hpp"

#include "core/json.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>

namespace event::decoder {
namespace {

// How each EventField is written.
enum FieldKind : uint8_t {
	kRaw,     // copied as is (numbers, jsonb text)
	kString,  // a JSON string: quoted and escaped
	kSafe,    // a JSON string that never needs escaping (formatted by us): quoted only
};
constexpr FieldKind kKinds[kEventFieldCount] = {
    kSafe,   // event_id
    kRaw,    // position
    kString, // event_type
    kString, // event_source
    kString, // event_category
    kString, // user_id
    kString, // stream_id
    kRaw,    // stream_version
    kRaw,    // data
    kRaw,    // metadata
    kRaw,    // context
    kString, // idempotency_key
    kSafe,   // timestamp
    kSafe,   // created_at
};

char *Put(char *out, std::string_view text) noexcept {
	memcpy(out, text.data(), text.size());
	return out + text.size();
}

// Separators of the two formats.
struct Style {
	const char *open;       // before the first key
	const char *between;    // between members
	const char *colon;      // between key and value
	const char *close;      // after the last value
};
constexpr Style kCompact = {"{", ",", ":", "}"};
constexpr Style kPretty = {"{\n  ", ",\n  ", ": ", "\n}"};

const Style &StyleOf(Format format) {
	return format == Format::kJsonPretty ? kPretty : kCompact;
}

// Writes the separator and the quoted key of the next member.
void Key(std::string &out, const Style &style, bool &first, const char *key) {
	out += first ? style.open : style.between;
	first = false;
	out += '"';
	out += key;
	out += '"';
	out += style.colon;
}

} // namespace

size_t FormatLsn(uint64_t lsn, char (&out)[kLsnBufferSize]) noexcept {
	const int n = snprintf(out, sizeof(out), "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn));
	return n < 0 ? 0 : static_cast<size_t>(n);
}

EventMessageWriter::EventMessageWriter(const Options &options) : options_(options) {
	const Style &style = StyleOf(options.format);
	bool first = true;
	for (int f = 0; f < kEventFieldCount; f++) {
		if ((options.fields & (FieldMask{1} << f)) == 0)
			continue;
		Key(keys_[f], style, first, kEventFieldNames[f]);
	}
	SetCommit(CommitInfo{});
}

void EventMessageWriter::SetCommit(const CommitInfo &commit) {
	commit_ = commit;
	commit_text_.clear();
	const Style &style = StyleOf(options_.format);
	bool first = false; // event_id always comes first
	if (options_.include_xid) {
		char number[16];
		const auto result = std::to_chars(number, number + sizeof(number), commit.xid);
		Key(commit_text_, style, first, "xid");
		commit_text_.append(number, static_cast<size_t>(result.ptr - number));
	}
	if (options_.include_lsn) {
		char lsn[kLsnBufferSize];
		const size_t len = FormatLsn(commit.lsn, lsn);
		Key(commit_text_, style, first, "lsn");
		commit_text_ += '"';
		commit_text_.append(lsn, len);
		commit_text_ += '"';
	}
	if (options_.include_commit_time) {
		char time[kTimestampBufferSize];
		const size_t len = FormatTimestamp(commit.commit_time, time);
		Key(commit_text_, style, first, "commit_time");
		commit_text_ += '"';
		commit_text_.append(time, len);
		commit_text_ += '"';
	}
	commit_text_ += style.close;
}

size_t EventMessageWriter::Bound(const EventValues &values) const {
	size_t bound = commit_text_.size();
	for (int f = 0; f < kEventFieldCount; f++) {
		if (keys_[f].empty())
			continue;
		bound += keys_[f].size();
		if (values.is_null[f])
			bound += 4;
		else if (kKinds[f] == kString)
			bound += 6 * values.text[f].size() + 2;
		else
			bound += values.text[f].size() + 2;
	}
	return bound;
}

size_t EventMessageWriter::Write(const EventValues &values, char *out) const {
	char *p = out;
	for (int f = 0; f < kEventFieldCount; f++) {
		if (keys_[f].empty())
			continue;
		p = Put(p, keys_[f]);
		if (values.is_null[f]) {
			p = Put(p, "null");
			continue;
		}
		switch (kKinds[f]) {
		case kRaw:
			p = Put(p, values.text[f]);
			break;
		case kString:
			*p++ = '"';
			p = core::WriteJsonEscaped(p, values.text[f]);
			*p++ = '"';
			break;
		case kSafe:
			*p++ = '"';
			p = Put(p, values.text[f]);
			*p++ = '"';
			break;
		}
	}
	p = Put(p, commit_text_);
	return static_cast<size_t>(p - out);
}

void EventMessageWriter::Append(std::string &out, const EventValues &values) const {
	const size_t start = out.size();
	out.resize(start + Bound(values));
	out.resize(start + Write(values, out.data() + start));
}

void AppendHeartbeatMessage(std::string &out, Format format, uint64_t lsn, std::string_view content) {
	const Style &style = StyleOf(format);
	bool first = true;
	Key(out, style, first, "heartbeat");
	out += "true";
	char text[kLsnBufferSize];
	const size_t len = FormatLsn(lsn, text);
	Key(out, style, first, "lsn");
	out += '"';
	out.append(text, len);
	out += '"';
	Key(out, style, first, "content");
	core::AppendJsonString(out, content);
	out += style.close;
}

} // namespace event::decoder
