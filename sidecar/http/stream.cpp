// stream.cpp — SSE event formatting (see stream.hpp; the stream sessions are in stream_session.cpp).
#include "http/stream.hpp"

namespace event::sidecar::http {

std::string SseEvent(std::string_view data, std::string_view id, std::string_view event) {
	std::string out;
	out.reserve(data.size() + id.size() + event.size() + 24);
	if (!id.empty()) {
		out += "id: ";
		out += id;
		out += '\n';
	}
	if (!event.empty()) {
		out += "event: ";
		out += event;
		out += '\n';
	}
	size_t start = 0;
	for (;;) {
		size_t nl = data.find('\n', start);
		out += "data: ";
		out += data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
		out += '\n';
		if (nl == std::string_view::npos)
			break;
		start = nl + 1;
	}
	out += '\n';
	return out;
}

} // namespace event::sidecar::http
