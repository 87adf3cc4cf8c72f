// router.hpp — routes (method + pattern) to handlers with per-route options: scope (API key),
// body limit, JSON content type, CORS. The server asks the router what to do with a request head
// (Prepare) before it reads the body, then hands it the complete request (Dispatch).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "http/response.hpp"

namespace event::sidecar::http {

using Reply = std::function<void(Response)>;            // call exactly once, from any thread
using Handler = std::function<void(Request &&, Reply)>; // runs on an I/O thread: must never block

enum class Scope { kNone, kRead, kWrite, kAdmin }; // kNone = no API key needed

struct RouteOptions {
	Scope scope = Scope::kNone;
	bool json_body = false;  // POST/PUT/PATCH must be Content-Type application/json (else 415)
	size_t max_body = 1 << 20; // larger bodies (after gunzip too) get 413
	bool cors = false;       // answer CORS preflight and add Access-Control-* headers
};

// Decision of the authenticator: status 0 = allowed; else 401/403/429 with code/message.
struct AuthDecision {
	int status = 0;
	std::string code, message;
	int retry_after_s = 0; // for 429
	std::string key_id;    // who, for the request log (never the secret)
};
using Authenticator = std::function<AuthDecision(const Request &, Scope)>; // must not block

// What the server does with a request head: answer at once (error, preflight) or read the body
// (at most max_body bytes after decoding) and Dispatch.
struct Prepared {
	bool answer_now = false;
	Response response; // when answer_now
	size_t max_body = 0;
	bool gzip = false; // Content-Encoding: gzip
	bool cors = false; // add CORS headers to the final response
};

// Splits a path into segments ("/a/b/" -> {"a", "b", ""}); used by the matcher.
std::vector<std::string_view> SplitPath(std::string_view path);

class Router {
public:
	Router();
	~Router();
	Router(const Router &) = delete;
	Router &operator=(const Router &) = delete;

	// Pattern segments "{name}" capture one path segment. Exact segments win over captures.
	void Add(std::string_view method, std::string_view pattern, Handler handler, RouteOptions options = {});
	void SetAuthenticator(Authenticator auth); // called for every route whose scope != kNone
	// Allowed CORS origins: {"*"} (default) or exact origins ("https://app.example").
	void SetCorsOrigins(std::vector<std::string> origins);

	// Matches req (method, path, headers set; body not yet read): fills req->route/params, runs
	// the authenticator, content-type, content-encoding and declared-length checks. 404 JSON for
	// unknown paths, 405 JSON (with Allow) for a known path and another method; OPTIONS preflight
	// on CORS routes answered here. HEAD is served by a GET route.
	Prepared Prepare(Request *req) const;
	// Calls the matched handler (req prepared by Prepare, body read). A handler that throws is
	// answered 500 internal_error. reply is called exactly once.
	void Dispatch(Request &&req, Reply reply) const;
	// Adds the CORS response headers for req's Origin (nothing when the origin is not allowed).
	void AddCorsHeaders(const Request &req, Response *res) const;

	struct Route;

private:
	const Route *Find(const Request &req, std::string *allow, std::map<std::string, std::string> *params,
					  std::string *pattern) const;

	std::vector<std::unique_ptr<Route>> routes_;
	Authenticator auth_;
	std::vector<std::string> cors_origins_{"*"};
};

// Name of a scope as API keys spell it: "none", "read", "write", "admin".
const char *ScopeName(Scope scope);

} // namespace event::sidecar::http
