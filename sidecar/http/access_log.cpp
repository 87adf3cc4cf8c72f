// access_log.cpp — request log line and request metrics (see access_log.hpp).
#include "http/access_log.hpp"

#include "log.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::http {

void RecordRequest(const Request &req, int status, double seconds) {
	static auto &requests = metrics::Default().Counter("http_requests_total", "HTTP requests answered, by route and status.",
													  {"route", "status"});
	static auto &duration = metrics::Default().Histogram(
		"http_request_duration_seconds", "Time from a request's first byte to its response, by route.", {"route"});
	const std::string &route = req.route.empty() ? std::string("unmatched") : req.route;
	requests.With({route, std::to_string(status)}).Inc();
	duration.With({route}).Observe(seconds);
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
