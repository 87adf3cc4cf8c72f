// access_log.cpp — request log line and request metrics (see access_log.hpp).
#include "http/access_log.hpp"

#include <array>

#include "log.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::http {

namespace {

// The metric children of one (route, status), cached per I/O thread: finding a child takes the
// family's mutex and builds its label vector, once per request otherwise.
struct Children {
	std::string route;
	int status = 0;
	metrics::Counter *requests = nullptr;
	metrics::Histogram *duration = nullptr;
};

const Children &ChildrenFor(const std::string &route, int status) {
	static auto &requests = metrics::Default().Counter("http_requests_total", "HTTP requests answered, by route and status.",
													  {"route", "status"});
	static auto &duration = metrics::Default().Histogram(
		"http_request_duration_seconds", "Time from a request's first byte to its response, by route.", {"route"});
	thread_local std::array<Children, 16> cache;
	thread_local size_t next = 0;
	for (const Children &c : cache)
		if (c.requests != nullptr && c.status == status && c.route == route)
			return c;
	Children &c = cache[next++ % cache.size()];
	c.route = route;
	c.status = status;
	c.requests = &requests.With({route, std::to_string(status)});
	c.duration = &duration.With({route});
	return c;
}

} // namespace

void RecordRequest(const Request &req, int status, double seconds) {
	static const std::string kUnmatched = "unmatched";
	const std::string &route = req.route.empty() ? kUnmatched : req.route;
	const Children &c = ChildrenFor(route, status);
	c.requests->Inc();
	c.duration->Observe(seconds);
	if (!LogEnabled(LogLevel::kInfo))
		return; // the fields below are built (escaped, allocated) before Log could check the level
	const long long ms_x1000 = static_cast<long long>(seconds * 1e6);
	const double ms = static_cast<double>(ms_x1000) / 1000.0;
	const std::string &method = req.method.empty() ? std::string("-") : req.method;
	if (req.key_id.empty())
		Log(LogLevel::kInfo, "http request",
			{{"method", method}, {"route", route}, {"status", status}, {"duration_ms", ms},
			 {"request_id", req.request_id}, {"remote", req.remote_addr}});
	else
		Log(LogLevel::kInfo, "http request",
			{{"method", method}, {"route", route}, {"status", status}, {"duration_ms", ms},
			 {"request_id", req.request_id}, {"remote", req.remote_addr}, {"key_id", req.key_id}});
}

} // namespace event::sidecar::http
