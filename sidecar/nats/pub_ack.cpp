// pub_ack.cpp — the PubAck parser (see pub_ack.hpp).
#include "nats/pub_ack.hpp"

#include <rapidjson/document.h>

namespace event::sidecar::nats {

TrackedAck ParsePubAck(std::string_view json) {
	TrackedAck ack;
	auto unexpected = [&] {
		ack.ok = false;
		ack.error = "unexpected JetStream answer: " + std::string(json.substr(0, 200));
		return ack;
	};
	// The answer is a few dozen bytes: its DOM lives on the stack.
	char chunk[1024];
	rapidjson::MemoryPoolAllocator<> pool(chunk, sizeof chunk);
	rapidjson::Document doc(&pool);
	doc.Parse(json.data(), json.size());
	if (doc.HasParseError() || !doc.IsObject())
		return unexpected();
	auto error = doc.FindMember("error");
	if (error != doc.MemberEnd()) {
		ack.error = "JetStream error";
		if (error->value.IsObject()) {
			auto description = error->value.FindMember("description");
			if (description != error->value.MemberEnd() && description->value.IsString())
				ack.error += std::string(": ") + description->value.GetString();
			auto code = error->value.FindMember("err_code");
			if (code != error->value.MemberEnd() && code->value.IsUint())
				ack.error += " (err_code " + std::to_string(code->value.GetUint()) + ")";
		}
		return ack;
	}
	auto stream = doc.FindMember("stream");
	auto seq = doc.FindMember("seq");
	if (stream == doc.MemberEnd() || !stream->value.IsString() || seq == doc.MemberEnd() || !seq->value.IsUint64())
		return unexpected();
	auto duplicate = doc.FindMember("duplicate");
	ack.duplicate = duplicate != doc.MemberEnd() && duplicate->value.IsTrue();
	ack.ok = true;
	return ack;
}

} // namespace event::sidecar::nats
