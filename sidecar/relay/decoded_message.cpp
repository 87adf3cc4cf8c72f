// decoded_message.cpp — reads routing fields from event_decoder JSON with rapidjson.
#include "relay/decoded_message.hpp"

#include <rapidjson/document.h>

#include "core/subject.hpp"

namespace event::sidecar::relay {

namespace {

// Copies a string member; false if absent or not a string.
bool GetString(const rapidjson::Value &obj, const char *name, std::string *out) {
	auto it = obj.FindMember(name);
	if (it == obj.MemberEnd() || !it->value.IsString())
		return false;
	out->assign(it->value.GetString(), it->value.GetStringLength());
	return true;
}

} // namespace

DecodedMessage ParseDecodedMessage(std::string_view payload) {
	DecodedMessage m;
	rapidjson::Document doc;
	doc.Parse(payload.data(), payload.size());
	if (doc.HasParseError() || !doc.IsObject()) {
		m.error = "payload is not a JSON object";
		return m;
	}
	std::string lsn_text;
	if (!GetString(doc, "lsn", &lsn_text) || !ParseLsn(lsn_text, &m.lsn)) {
		m.error = "missing or malformed \"lsn\"";
		return m;
	}
	auto hb = doc.FindMember("heartbeat");
	if (hb != doc.MemberEnd() && hb->value.IsBool() && hb->value.GetBool()) {
		m.kind = DecodedKind::kHeartbeat;
		return m;
	}
	if (!GetString(doc, "event_id", &m.event_id) || m.event_id.empty()) {
		m.error = "missing \"event_id\"";
		return m;
	}
	if (!GetString(doc, "event_type", &m.event_type) || !GetString(doc, "event_source", &m.event_source) ||
		!GetString(doc, "event_category", &m.event_category)) {
		m.error = "missing event_type, event_source or event_category";
		return m;
	}
	GetString(doc, "stream_id", &m.stream_id);
	auto sv = doc.FindMember("stream_version");
	if (sv != doc.MemberEnd() && sv->value.IsInt64())
		m.stream_version = sv->value.GetInt64();
	m.kind = DecodedKind::kEvent;
	return m;
}

std::string SubjectFor(const DecodedMessage &m) {
	return core::EventSubject(m.event_source, m.event_category, m.event_type);
}

} // namespace event::sidecar::relay
