// request.hpp — the typed HTTP request handed to route handlers, and the request-id rules.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace event::sidecar::http {

struct Request {
	std::string method;                                     // "GET", "POST", ...
	std::string target;                                     // raw request target, e.g. "/a/b?x=1"
	std::string path;                                       // percent-decoded path, no query
	std::string route;                                      // matched route pattern, e.g. "/api/v1/events/{event_id}"
	std::map<std::string, std::string> params;              // path parameters by name
	std::vector<std::pair<std::string, std::string>> query; // decoded query parameters, in order
	std::vector<std::pair<std::string, std::string>> headers; // as received (names as sent)
	std::string body;                                       // de-chunked and gunzipped request body
	std::string request_id;                                 // X-Request-Id honoured (if sane) or generated
	std::string remote_addr;                                // peer IP as text
	std::string key_id;                                     // API key id set by the authenticator ("" = none)
	bool websocket = false;                                 // a WebSocket upgrade request (GET + Upgrade)

	// Case-insensitive header lookup; nullptr when absent (first occurrence).
	const std::string *Header(std::string_view name) const;
	// First query parameter with this name; nullptr when absent.
	const std::string *Query(std::string_view name) const;
};

// Maximum length of an honoured X-Request-Id.
inline constexpr size_t kMaxRequestIdLength = 128;

// True if a client-sent X-Request-Id may be used as is: 1-128 printable ASCII characters (0x21-0x7e).
bool IsSaneRequestId(std::string_view id);
// A new random request id (32 lower-case hex digits).
std::string GenerateRequestId();
// The client's X-Request-Id when sane, else a generated one.
std::string ChooseRequestId(const std::string *client_id);

// Percent-decodes text ('+' stays '+' unless plus_is_space). False on a bad escape or a decoded NUL.
bool PercentDecode(std::string_view text, bool plus_is_space, std::string *out);
// Splits a target into decoded path and query parameters. False if malformed (not origin-form,
// bad escapes, NUL bytes).
bool ParseTarget(std::string_view target, std::string *path, std::vector<std::pair<std::string, std::string>> *query);

// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

} // namespace event::sidecar::http
