// webhook_bench.cpp — benchmark helper for test/bench/delivery.sh (built by the sidecar Makefile,
// never installed):
//
//   webhook-bench receive --addr 127.0.0.1:PORT
//       A webhook receiver on the project's http::Server: POST /hook/... answers 200 and counts;
//       for bodies with a commit_time (the relay's event JSON) it records the commit -> received
//       latency. GET /stats: {"count", "first_us", "last_us", "latency_count", "p50_ms",
//       "p99_ms", "max_ms", "per_100ms": arrivals in each 100 ms from the first}; POST /reset
//       clears them.
//   webhook-bench post URL REQUESTS CONCURRENCY
//       The baseline: CONCURRENCY threads, each with its own delivery::WebhookClient (the
//       delivery workers' libcurl client code, signing included), POST REQUESTS requests of a
//       ~500-byte event JSON in total; prints "requests <n> seconds <s> per_second <r> failed <f>
//       p99_ms <latency>".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include "config.hpp"
#include "delivery/webhook_client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log.hpp"
#include "relay/decoded_message.hpp"

namespace {

using namespace event::sidecar;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnSignal(int) { g_stop = 1; }

int64_t NowUs() {
	return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
		.count();
}

struct Stats {
	std::mutex mu;
	long long count = 0;
	int64_t first_us = 0, last_us = 0;
	std::vector<double> latencies_ms;
	std::vector<long long> per_100ms; // arrivals in each 100 ms from the first

	void Add(int64_t now, int64_t commit_us) {
		std::lock_guard<std::mutex> lock(mu);
		if (count++ == 0)
			first_us = now;
		last_us = now;
		size_t slot = static_cast<size_t>((now - first_us) / 100000);
		if (slot < 100000) {
			if (per_100ms.size() <= slot)
				per_100ms.resize(slot + 1, 0);
			per_100ms[slot]++;
		}
		if (commit_us > 0)
			latencies_ms.push_back(static_cast<double>(now - commit_us) / 1000.0);
	}
	std::string Json() {
		std::lock_guard<std::mutex> lock(mu);
		std::vector<double> l = latencies_ms;
		std::sort(l.begin(), l.end());
		auto pct = [&l](double p) {
			return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(p * static_cast<double>(l.size())))];
		};
		char buf[256];
		std::snprintf(buf, sizeof(buf),
		              "{\"count\":%lld,\"first_us\":%lld,\"last_us\":%lld,\"latency_count\":%zu,\"p50_ms\":%.3f,"
		              "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"per_100ms\":[",
		              count, static_cast<long long>(first_us), static_cast<long long>(last_us), l.size(), pct(0.5),
		              pct(0.99), l.empty() ? 0.0 : l.back());
		std::string out = buf;
		for (size_t i = 0; i < per_100ms.size(); i++)
			out += (i ? "," : "") + std::to_string(per_100ms[i]);
		return out + "]}";
	}
	void Reset() {
		std::lock_guard<std::mutex> lock(mu);
		count = 0;
		first_us = last_us = 0;
		latencies_ms.clear();
		per_100ms.clear();
	}
};

int Receive(int argc, char **argv) {
	http::Options options;
	options.port = 0;
	for (int i = 2; i + 1 < argc; i += 2)
		if (std::string(argv[i]) == "--addr" && !ParseHostPort(argv[i + 1], &options.host, &options.port)) {
			std::fprintf(stderr, "webhook-bench: bad --addr\n");
			return 2;
		}
	SetLogLevel(LogLevel::kWarn);
	static Stats stats;
	http::Router router;
	for (int depth = 1; depth <= 3; depth++) {
		std::string pattern = "/hook";
		for (int d = 0; d < depth; d++)
			pattern += "/{p" + std::to_string(d) + "}";
		router.Add("POST", pattern, [](http::Request &&req, http::Reply reply) {
			int64_t now = NowUs();
			relay::DecodedMessage m;
			int64_t commit_us = relay::ParseDecodedMessage(req.body, &m) ? m.commit_time_us : 0;
			stats.Add(now, commit_us);
			http::Response r;
			r.body = "{}";
			reply(std::move(r));
		});
	}
	router.Add("GET", "/stats", [](http::Request &&, http::Reply reply) {
		http::Response r;
		r.body = stats.Json();
		reply(std::move(r));
	});
	router.Add("POST", "/reset", [](http::Request &&, http::Reply reply) {
		stats.Reset();
		http::Response r;
		r.body = "{}";
		reply(std::move(r));
	});
	http::Server server(options, &router);
	std::string error;
	if (!server.Start(&error)) {
		std::fprintf(stderr, "webhook-bench: %s\n", error.c_str());
		return 2;
	}
	std::signal(SIGTERM, OnSignal);
	std::signal(SIGINT, OnSignal);
	std::signal(SIGPIPE, SIG_IGN);
	std::printf("listening %d\n", server.Port());
	std::fflush(stdout);
	while (!g_stop)
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	server.Stop();
	return 0;
}

int Post(int argc, char **argv) {
	if (argc < 5) {
		std::fprintf(stderr, "usage: webhook-bench post URL REQUESTS CONCURRENCY\n");
		return 2;
	}
	std::string url = argv[2];
	long long requests = std::atoll(argv[3]);
	int concurrency = std::max(1, std::atoi(argv[4]));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const std::string event_id = "01a23431-454b-74a3-8cff-1dd49d3a4152";
	std::string body = "{\"event_id\":\"" + event_id +
	                   "\",\"event_type\":\"bench.delivered\",\"event_source\":\"backend\",\"event_category\":"
	                   "\"order\",\"stream_id\":\"bench:1\",\"stream_version\":1,\"position\":1,\"data\":{\"amount\":"
	                   "42,\"currency\":\"EUR\",\"items\":[1,2,3]},\"metadata\":{},\"context\":{},\"user_id\":null,"
	                   "\"idempotency_key\":null,\"timestamp\":\"2026-12-02T00:00:00.000000Z\"}";
	body.resize(std::max<size_t>(body.size(), 500), ' ');
	std::vector<std::string> secrets{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
	std::atomic<long long> next{0}, failed{0};
	std::mutex mu;
	std::vector<double> latencies;
	auto start = std::chrono::steady_clock::now();
	std::vector<std::thread> threads;
	for (int t = 0; t < concurrency; t++)
		threads.emplace_back([&] {
			delivery::WebhookClient client;
			std::vector<double> mine;
			while (next.fetch_add(1) < requests) {
				delivery::PostResult r = client.Post(url, secrets, event_id + ".bench", event_id, body);
				mine.push_back(r.latency_ms);
				if (r.status < 200 || r.status > 299)
					failed++;
			}
			std::lock_guard<std::mutex> lock(mu);
			latencies.insert(latencies.end(), mine.begin(), mine.end());
		});
	for (auto &t : threads)
		t.join();
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	std::sort(latencies.begin(), latencies.end());
	double p99 = latencies.empty() ? 0 : latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
	std::printf("requests %lld seconds %.3f per_second %.1f failed %lld p99_ms %.3f\n", requests, secs,
	            static_cast<double>(requests) / secs, failed.load(), p99);
	return failed.load() == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
	std::string mode = argc > 1 ? argv[1] : "";
	if (mode == "receive")
		return Receive(argc, argv);
	if (mode == "post")
		return Post(argc, argv);
	std::fprintf(stderr, "usage: webhook-bench receive --addr HOST:PORT | post URL REQUESTS CONCURRENCY\n");
	return 2;
}
