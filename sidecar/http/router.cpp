// router.cpp — route matching and the pre-body checks (see router.hpp).
#include "http/router.hpp"

#include <exception>

#include "log.hpp"

namespace event::sidecar::http {

struct Router::Route {
	std::string method;
	std::string pattern;
	std::vector<std::string> segments; // "{name}" = capture
	Handler handler;
	RouteOptions options;
};

namespace {

bool IsCapture(const std::string &segment) {
	return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Match of path segments against a route's: false if different; *score gets one bit per exact
// segment, most significant first, so that exact segments win over captures.
bool MatchSegments(const std::vector<std::string> &pattern, const std::vector<std::string_view> &path,
				   std::vector<bool> *exact) {
	if (pattern.size() != path.size())
		return false;
	exact->assign(pattern.size(), false);
	for (size_t i = 0; i < pattern.size(); ++i) {
		if (IsCapture(pattern[i])) {
			if (path[i].empty())
				return false;
		} else if (pattern[i] != path[i]) {
			return false;
		} else {
			(*exact)[i] = true;
		}
	}
	return true;
}

bool HasBody(const Request &req) {
	if (req.Header("Transfer-Encoding"))
		return true;
	const std::string *cl = req.Header("Content-Length");
	return cl && *cl != "0";
}

bool IsJsonContentType(const std::string *ct) {
	if (!ct)
		return false;
	std::string_view v(*ct);
	size_t semi = v.find(';');
	v = v.substr(0, semi);
	while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
		v.remove_suffix(1);
	while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
		v.remove_prefix(1);
	return EqualsIgnoreCase(v, "application/json");
}

} // namespace

std::vector<std::string_view> SplitPath(std::string_view path) {
	std::vector<std::string_view> out;
	if (!path.empty() && path[0] == '/')
		path.remove_prefix(1);
	size_t start = 0;
	for (;;) {
		size_t slash = path.find('/', start);
		out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
		if (slash == std::string_view::npos)
			break;
		start = slash + 1;
	}
	return out;
}

const char *ScopeName(Scope scope) {
	switch (scope) {
	case Scope::kRead:
		return "read";
	case Scope::kWrite:
		return "write";
	case Scope::kAdmin:
		return "admin";
	case Scope::kNone:
		break;
	}
	return "none";
}

Router::Router() = default;
Router::~Router() = default;

void Router::Add(std::string_view method, std::string_view pattern, Handler handler, RouteOptions options) {
	auto r = std::make_unique<Route>();
	r->method = std::string(method);
	r->pattern = std::string(pattern);
	for (auto seg : SplitPath(pattern))
		r->segments.emplace_back(seg);
	r->handler = std::move(handler);
	r->options = options;
	routes_.push_back(std::move(r));
}

void Router::SetAuthenticator(Authenticator auth) { auth_ = std::move(auth); }

void Router::SetCorsOrigins(std::vector<std::string> origins) { cors_origins_ = std::move(origins); }

const Router::Route *Router::Find(const Request &req, std::string *allow, std::map<std::string, std::string> *params,
								  std::string *pattern) const {
	auto path = SplitPath(req.path);
	// The most specific matching pattern first; then the method among its routes.
	std::vector<bool> best, exact;
	const Route *best_route = nullptr;
	for (const auto &r : routes_) {
		if (!MatchSegments(r->segments, path, &exact))
			continue;
		if (!best_route || exact > best) {
			best = exact;
			best_route = r.get();
		}
	}
	if (!best_route)
		return nullptr;
	*pattern = best_route->pattern;
	const Route *found = nullptr;
	const Route *get_route = nullptr;
	allow->clear();
	for (const auto &r : routes_) {
		if (r->pattern != *pattern)
			continue;
		if (!allow->empty())
			*allow += ", ";
		*allow += r->method;
		if (r->method == req.method)
			found = r.get();
		if (r->method == "GET")
			get_route = r.get();
	}
	if (!found && req.method == "HEAD")
		found = get_route;
	if (found) {
		params->clear();
		for (size_t i = 0; i < found->segments.size(); ++i)
			if (IsCapture(found->segments[i]))
				(*params)[found->segments[i].substr(1, found->segments[i].size() - 2)] = std::string(path[i]);
	}
	return found;
}

void Router::AddCorsHeaders(const Request &req, Response *res) const {
	const std::string *origin = req.Header("Origin");
	if (!origin)
		return;
	bool any = false, listed = false;
	for (const auto &o : cors_origins_) {
		any = any || o == "*";
		listed = listed || o == *origin;
	}
	if (!any && !listed)
		return;
	res->headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : *origin);
	if (!any)
		res->headers.emplace_back("Vary", "Origin");
	res->headers.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
}

Prepared Router::Prepare(Request *req) const {
	Prepared p;
	auto fail = [&](Response r) {
		p.answer_now = true;
		p.response = std::move(r);
		return p;
	};
	std::string allow, pattern;
	const Route *route = Find(*req, &allow, &req->params, &pattern);
	if (!route) {
		if (pattern.empty())
			return fail(ErrorResponse(404, "not_found", "no route for " + req->path, req->request_id));
		req->route = pattern;
		bool cors_path = false;
		for (const auto &r : routes_)
			cors_path = cors_path || (r->pattern == pattern && r->options.cors);
		if (req->method == "OPTIONS" && cors_path) {
			const std::string *origin = req->Header("Origin");
			Response pre;
			pre.status = 204;
			pre.content_type.clear();
			AddCorsHeaders(*req, &pre);
			if (!origin || pre.headers.empty())
				return fail(ErrorResponse(403, "forbidden", "CORS origin not allowed", req->request_id));
			pre.headers.emplace_back("Access-Control-Allow-Methods", allow + ", OPTIONS");
			const std::string *asked = req->Header("Access-Control-Request-Headers");
			pre.headers.emplace_back("Access-Control-Allow-Headers",
									 asked ? *asked : std::string("Content-Type, Authorization, X-Request-Id"));
			pre.headers.emplace_back("Access-Control-Max-Age", "600");
			return fail(std::move(pre));
		}
		Response r = ErrorResponse(405, "method_not_allowed", req->method + " is not allowed on " + pattern,
								   req->request_id);
		r.headers.emplace_back("Allow", allow);
		p.cors = cors_path;
		return fail(std::move(r));
	}
	req->route = route->pattern;
	p.cors = route->options.cors;
	if (route->options.scope != Scope::kNone) {
		if (!auth_)
			return fail(ErrorResponse(503, "unavailable", "API key authentication is not configured",
									  req->request_id));
		AuthDecision d = auth_(*req, route->options.scope);
		req->key_id = d.key_id;
		if (d.status != 0) {
			Response r = ErrorResponse(d.status, d.code.empty() ? CodeForStatus(d.status) : d.code, d.message,
									   req->request_id);
			if (d.retry_after_s > 0)
				r.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
			return fail(std::move(r));
		}
	}
	if (const std::string *enc = req->Header("Content-Encoding")) {
		if (EqualsIgnoreCase(*enc, "gzip") || EqualsIgnoreCase(*enc, "x-gzip"))
			p.gzip = true;
		else if (!EqualsIgnoreCase(*enc, "identity"))
			return fail(ErrorResponse(415, "unsupported_media_type", "unsupported Content-Encoding \"" + *enc + "\"",
									  req->request_id, {}, "send the body as is or with Content-Encoding: gzip"));
	}
	bool body_method = req->method == "POST" || req->method == "PUT" || req->method == "PATCH";
	if (route->options.json_body && body_method && HasBody(*req) && !IsJsonContentType(req->Header("Content-Type")))
		return fail(ErrorResponse(415, "unsupported_media_type", "the body must be Content-Type: application/json",
								  req->request_id));
	p.max_body = route->options.max_body;
	if (const std::string *cl = req->Header("Content-Length")) {
		// The server's parser has validated the number; compressed bodies are bounded the same way.
		unsigned long long n = std::strtoull(cl->c_str(), nullptr, 10);
		if (n > p.max_body)
			return fail(ErrorResponse(413, "payload_too_large",
									  "the body exceeds " + std::to_string(p.max_body) + " bytes", req->request_id));
	}
	return p;
}

void Router::Dispatch(Request &&req, Reply reply) const {
	const Route *route = nullptr;
	for (const auto &r : routes_)
		if (!route && r->pattern == req.route && r->method == req.method)
			route = r.get();
	for (const auto &r : routes_)
		if (!route && req.method == "HEAD" && r->pattern == req.route && r->method == "GET")
			route = r.get();
	if (!route) {
		reply(ErrorResponse(404, "not_found", "no route for " + req.path, req.request_id));
		return;
	}
	std::string request_id = req.request_id;
	try {
		route->handler(std::move(req), reply);
	} catch (const std::exception &e) {
		Log(LogLevel::kError, "http: handler threw", {{"route", route->pattern}, {"error", e.what()},
													  {"request_id", request_id}});
		reply(ErrorResponse(500, "internal_error", "internal error", request_id));
	} catch (...) {
		Log(LogLevel::kError, "http: handler threw", {{"route", route->pattern}, {"request_id", request_id}});
		reply(ErrorResponse(500, "internal_error", "internal error", request_id));
	}
}

} // namespace event::sidecar::http
