// http_test_server.cpp — test-only binary (not installed): the real http::Server and http::Router
// with a few routes that exercise request bodies, so that test/e2e/http_server.t can prove the
// client behaviours (pipelining, chunked, 100-continue, gzip, deadlines) without a database.
//
//   http-test-server --addr 127.0.0.1:PORT [--threads N] [--max-connections N] [--max-body BYTES]
//                    [--idle-timeout-ms N] [--head-timeout-ms N] [--body-timeout-ms N]
//                    [--request-timeout-ms N] [--cors-origins a,b] [--nats-url URL]
// With --nats-url the live tail (tail/tail.hpp) is mounted too, behind the test authenticator, so
// that test/e2e can read it before API keys exist on this branch.
// Routes:
//   POST /test/echo          any body, echoed (Content-Type application/octet-stream)
//   POST /test/json          JSON content type required (415), CORS route, echoed as is
//   GET  /test/slow?ms=N     answered after N ms from another thread (handlers never block I/O)
//   GET  /test/items/{id}    {"id": "<id>", "q": <first q parameter or null>}
//   GET  /test/items/all     exact segment beats the capture
//   GET  /test/private       scope read: "Authorization: Bearer good" passes, others 401
//   GET  /test/throw         handler throws: 500 JSON
//   GET  /test/stream?n=N&interval_ms=M&size=S&buffer=B
//                            SSE, or WebSocket when upgraded: N messages "<i>:<padding to S bytes>"
//                            every M ms from another thread, then closed with reason "done";
//                            B = stream_buffer; the close reason is logged ("test stream closed")
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <stdexcept>
#include <thread>

#include "config.hpp"
#include "core/json.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log.hpp"
#include "tail/tail.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnSignal(int) { g_stop = 1; }

} // namespace

int main(int argc, char **argv) {
	using namespace event::sidecar;
	http::Options options;
	options.port = 0;
	size_t max_body = 1 << 20;
	std::string nats_url;
	for (int i = 1; i + 1 < argc; i += 2) {
		std::string flag = argv[i];
		std::string value = argv[i + 1];
		long long n = std::atoll(value.c_str());
		if (flag == "--addr") {
			if (!ParseHostPort(value, &options.host, &options.port)) {
				std::fprintf(stderr, "http-test-server: bad --addr\n");
				return 2;
			}
		} else if (flag == "--threads")
			options.threads = static_cast<int>(n);
		else if (flag == "--max-connections")
			options.max_connections = n;
		else if (flag == "--max-body")
			max_body = static_cast<size_t>(n);
		else if (flag == "--max-header-bytes")
			options.max_header_bytes = n;
		else if (flag == "--idle-timeout-ms")
			options.idle_timeout_ms = n;
		else if (flag == "--head-timeout-ms")
			options.head_timeout_ms = n;
		else if (flag == "--body-timeout-ms")
			options.body_timeout_ms = n;
		else if (flag == "--request-timeout-ms")
			options.request_timeout_ms = n;
		else if (flag == "--cors-origins")
			options.cors_origins = {value};
		else if (flag == "--nats-url")
			nats_url = value;
		else {
			std::fprintf(stderr, "http-test-server: unknown flag %s\n", flag.c_str());
			return 2;
		}
	}

	http::Router router;
	router.SetCorsOrigins(options.cors_origins);
	http::RouteOptions any_body;
	any_body.max_body = max_body;
	router.Add("POST", "/test/echo",
			   [](http::Request &&req, http::Reply reply) {
				   http::Response r;
				   r.content_type = "application/octet-stream";
				   r.headers.emplace_back("X-Body-Length", std::to_string(req.body.size()));
				   r.body = std::move(req.body);
				   reply(std::move(r));
			   },
			   any_body);
	http::RouteOptions json;
	json.max_body = max_body;
	json.json_body = true;
	json.cors = true;
	router.Add("POST", "/test/json",
			   [](http::Request &&req, http::Reply reply) {
				   http::Response r;
				   r.body = std::move(req.body);
				   reply(std::move(r));
			   },
			   json);
	router.Add("GET", "/test/slow", [](http::Request &&req, http::Reply reply) {
		const std::string *ms = req.Query("ms");
		int delay = ms ? std::atoi(ms->c_str()) : 100;
		std::thread([delay, reply, id = req.request_id] {
			std::this_thread::sleep_for(std::chrono::milliseconds(delay));
			http::Response r;
			r.body = "{\"slept_ms\":" + std::to_string(delay) + ",\"request_id\":" + event::core::JsonQuote(id) + "}";
			reply(std::move(r));
		}).detach();
	});
	router.Add("GET", "/test/items/{id}", [](http::Request &&req, http::Reply reply) {
		http::Response r;
		const std::string *q = req.Query("q");
		r.body = "{\"id\":" + event::core::JsonQuote(req.params["id"]) + ",\"q\":" + (q ? event::core::JsonQuote(*q) : "null") + "}";
		reply(std::move(r));
	});
	router.Add("GET", "/test/items/all", [](http::Request &&, http::Reply reply) {
		http::Response r;
		r.body = "{\"all\":true}";
		reply(std::move(r));
	});
	http::RouteOptions read_scope;
	read_scope.scope = http::Scope::kRead;
	router.Add("GET", "/test/private",
			   [](http::Request &&req, http::Reply reply) {
				   http::Response r;
				   r.body = "{\"key_id\":" + event::core::JsonQuote(req.key_id) + "}";
				   reply(std::move(r));
			   },
			   read_scope);
	router.Add("GET", "/test/stream", [](http::Request &&req, http::Reply reply) {
		auto num = [&req](const char *name, long long dflt) {
			const std::string *v = req.Query(name);
			return v ? std::atoll(v->c_str()) : dflt;
		};
		long long n = num("n", 10), interval = num("interval_ms", 0), size = num("size", 0);
		http::Response r;
		r.stream_buffer = static_cast<size_t>(num("buffer", 1 << 20));
		std::string id = req.request_id;
		r.stream = [n, interval, size, id](std::shared_ptr<http::Stream> stream) {
			stream->OnClose([id](const std::string &reason) {
				Log(LogLevel::kInfo, "test stream closed", {{"request_id", id}, {"reason", reason}});
			});
			std::thread([stream, n, interval, size] {
				for (long long i = 0; i < n; ++i) {
					std::string msg = std::to_string(i) + ":";
					if (static_cast<long long>(msg.size()) < size)
						msg.append(static_cast<size_t>(size) - msg.size(), 'x');
					if (!stream->Send(stream->IsWebSocket() ? msg : http::SseEvent(msg, std::to_string(i))))
						return;
					if (interval > 0)
						std::this_thread::sleep_for(std::chrono::milliseconds(interval));
				}
				stream->Close("done");
			}).detach();
		};
		reply(std::move(r));
	});
	router.Add("GET", "/test/throw", [](http::Request &&, http::Reply) { throw std::runtime_error("test failure"); });
	router.SetAuthenticator([](const http::Request &req, http::Scope) {
		http::AuthDecision d;
		const std::string *auth = req.Header("Authorization");
		if (!auth || *auth != "Bearer good") {
			d.status = 401;
			d.code = "unauthorized";
			d.message = "missing or invalid API key";
		} else {
			d.key_id = "test-key";
		}
		return d;
	});

	Config tail_config;
	tail_config.nats_url = nats_url;
	tail::Tail live_tail(tail_config);
	if (!nats_url.empty()) {
		std::string tail_error;
		if (!live_tail.Start(&tail_error)) {
			std::fprintf(stderr, "http-test-server: %s\n", tail_error.c_str());
			return 2;
		}
		live_tail.AddRoutes(&router);
	}

	http::Server server(options, &router);
	std::string error;
	if (!server.Start(&error)) {
		std::fprintf(stderr, "http-test-server: %s\n", error.c_str());
		return 2;
	}
	std::signal(SIGTERM, OnSignal);
	std::signal(SIGINT, OnSignal);
	std::signal(SIGPIPE, SIG_IGN);
	Log(LogLevel::kInfo, "http-test-server listening", {{"port", server.Port()}});
	while (!g_stop)
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	server.Stop();
	live_tail.Stop();
	return 0;
}
