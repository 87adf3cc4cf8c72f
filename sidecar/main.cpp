// main.cpp — event-sidecar entry point: wiring of configuration, signals, the HTTP server and its
// routes, and the relay loop.
#include <nats/nats.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "config.hpp"
#include "api/routes.hpp"
#include "auth/key_cache.hpp"
#include "collect/categories.hpp"
#include "collect/frontend.hpp"
#include "delivery/deliverer.hpp"
#include "collect/ingester.hpp"
#include "processing/loop.hpp"
#include "collect/tracking.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/status_routes.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "nats/connect_options.hpp"
#include "pg/pool.hpp"
#include "pg/refresher.hpp"
#include "relay/monitor.hpp"
#include "relay/relay.hpp"
#include "relay/replication.hpp"
#include "tail/tail.hpp"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<event::sidecar::relay::Relay *> g_relay{nullptr};

// Signal handler: sets the stop flag and wakes the relay loop (eventfd write is signal-safe).
extern "C" void OnSignal(int) {
	g_stop.store(true);
	if (auto *relay = g_relay.load())
		relay->Wake();
}

bool GetEnv(const char *name, std::string *value) {
	const char *v = std::getenv(name);
	if (!v)
		return false;
	*value = v;
	return true;
}

} // namespace

int main(int argc, char **argv) {
	using namespace event::sidecar;
	ConfigResult cr = ParseConfig(argc, argv, GetEnv);
	if (cr.outcome == ConfigOutcome::kHelp) {
		std::fputs(HelpText().c_str(), stdout);
		return 0;
	}
	if (cr.outcome == ConfigOutcome::kError) {
		std::fprintf(stderr, "event-sidecar: %s\n", cr.error.c_str());
		return 2;
	}
	const Config &config = cr.config;
	SetLogLevel(config.log_level);
	SetLogSlot(config.slot);

	struct sigaction sa {};
	sa.sa_handler = OnSignal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, nullptr);
	sigaction(SIGINT, &sa, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	Metrics metrics;
	metrics.max_lag_bytes = config.max_lag_bytes;
	metrics.start_time_unix = static_cast<int64_t>(std::time(nullptr));

	http::Router router;
	router.SetCorsOrigins(config.http.cors_origins);
	http::AddStatusRoutes(&router, &metrics, &config.slot);
	// The management API (spec 5.1, 2-7): its own pool, group commit of creates, cached API keys.
	pg::Pool api_pool(config.database_url, config.pg);
	api::GroupCommitter committer(&api_pool, config.group_commit);
	// Cached catalogs, reloaded every --auth-refresh: API and write keys, event categories.
	// The caches before the refresher: it is destroyed (and stopped) first on every way out.
	auth::KeyCache keys;
	collect::Categories categories;
	pg::Refresher refresher(&api_pool, config.auth.refresh_ms);
	keys.Register(&refresher);
	categories.Register(&refresher);
	api::Context api_ctx{&api_pool, &committer};
	api::RegisterMetrics(api_ctx);
	metrics.api_pool = [&api_pool] { return Metrics::ApiPoolState{api_pool.ConnectionsUp(), api_pool.QueueDepth()}; };
	router.SetAuthenticator([&keys](const http::Request &req, http::Scope scope) { return keys.Check(req, scope); });
	api::AddApiRoutes(&router, api_ctx);
	if (config.bench_baseline)
		api::AddBenchBaselineRoute(&router, api_ctx);
	api_pool.Start();
	committer.Start();
	refresher.Start();
	std::string error;
	tail::Tail live_tail(config);
	if (!live_tail.Start(&error)) {
		std::fprintf(stderr, "event-sidecar: %s\n", error.c_str());
		return 2;
	}
	live_tail.AddRoutes(&router);
	// Frontend events (spec 3.1.3): their own NATS connection and thread, no database.
	collect::FrontendCollector frontend(config, &categories);
	if (!frontend.Start(&error)) {
		std::fprintf(stderr, "event-sidecar: %s\n", error.c_str());
		return 2;
	}
	frontend.AddRoutes(&router);
	// Segment/RudderStack tracking API and RudderStack webhook: through the frontend collector.
	collect::TrackingApi tracking(config, &frontend, &keys);
	tracking.AddRoutes(&router);
	// Webhook delivery (issue 15): a durable JetStream consumer per subscription.
	delivery::Deliverer deliverer(config, &api_pool);
	if (!deliverer.Start(&error)) {
		std::fprintf(stderr, "event-sidecar: %s\n", error.c_str());
		return 2;
	}
	collect::Ingester ingester(config, &api_pool, &metrics);
	if (config.ingester)
		ingester.Start();
	// Event processing (issue 15): event.process_batch / process_replays in a loop.
	processing::Loop processing_loop(config, &api_pool);
	if (config.processing)
		processing_loop.Start();
	http::Server server(config.http, &router);
	if (!server.Start(&error)) {
		std::fprintf(stderr, "event-sidecar: %s\n", error.c_str());
		return 2;
	}
	Log(LogLevel::kInfo, "starting",
		{{"nats_url", RedactUrl(config.nats_url)}, {"stream", config.stream_name},
		 {"stream_retention", RetentionName(config.stream_retention)}, {"plugin_options", PluginOptionsSql(config)},
		 {"http_addr", config.http.host + ":" + std::to_string(server.Port())},
		 {"max_inflight", static_cast<long long>(config.max_inflight)}});

	int rc = 0;
	{
		relay::Monitor monitor(config, &metrics);
		relay::Relay relay(config, &metrics);
		g_relay.store(&relay);
		if (g_stop.load())
			relay.Wake();
		monitor.Start();
		rc = relay.Run(&g_stop);
		g_relay.store(nullptr);
		monitor.Stop();
	}
	server.Stop();
	frontend.Stop();
	ingester.Stop();
	processing_loop.Stop();
	live_tail.Stop();
	deliverer.Stop(); // unacknowledged deliveries stay pending in JetStream
	refresher.Stop();
	committer.Stop(); // commits what is queued, while the pool still runs
	api_pool.Stop();
	nats::DestroyRetiredSubscriptions(); // every connection is closed: nothing reads them any more
	nats_CloseAndWait(2000);
	Log(LogLevel::kInfo, "stopped", {{"exit_code", rc}});
	return rc;
}
