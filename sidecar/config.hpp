// config.hpp — sidecar configuration: flags, each with an EVENT_* environment variable.
//
// Precedence: command-line flag > environment variable > default. Parsing never exits or throws:
// it returns a ConfigResult that main.cpp turns into --help output or one error line (exit 2).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "api/group_commit_options.hpp"
#include "auth/options.hpp"
#include "http/options.hpp"
#include "pg/options.hpp"
#include "log.hpp"

namespace event::sidecar {

// JetStream retention policy of the stream (--stream-retention).
enum class StreamRetention { kLimits, kInterest, kWorkQueue };

struct Config {
	std::string database_url;
	std::string nats_url = "nats://127.0.0.1:4222";
	std::string slot = "event_relay";
	std::string stream_name = "EVENTS";
	int64_t stream_max_age_ms = 0;    // 0 = unlimited
	int64_t stream_max_bytes = -1;    // -1 = unlimited
	int stream_replicas = 1;
	int64_t stream_duplicate_window_ms = 2 * 60 * 1000;
	StreamRetention stream_retention = StreamRetention::kLimits;
	int64_t max_inflight = 10000;
	int64_t heartbeat_interval_ms = 10 * 1000;
	int64_t max_lag_bytes = int64_t{1} << 30;
	int64_t stall_timeout_ms = 60 * 1000; // slot lag with no confirmed progress this long -> degraded
	int64_t ack_timeout_ms = 5000;
	int64_t drain_timeout_ms = 10000;
	std::string nats_user;
	std::string nats_password;
	std::string nats_token;
	std::string nats_creds;
	std::string nats_tls_ca;
	std::string nats_tls_cert;
	std::string nats_tls_key;
	// event_decoder filters (comma-separated prefixes, items trimmed; "" = no filter).
	std::string filter_event_types;
	std::string filter_sources;
	std::string filter_categories;
	LogLevel log_level = LogLevel::kInfo;
	http::Options http; // --http-* (EVENT_HTTP_*): the HTTP server module
	pg::Options pg;     // --pg-* (EVENT_PG_*): the HTTP API's connection pool
	api::GroupCommitOptions group_commit; // --group-commit-* (EVENT_GROUP_COMMIT_*)
	auth::Options auth; // --auth-* (EVENT_AUTH_*): API-key cache
	std::vector<std::string> trusted_proxies; // --trusted-proxies: peers whose X-Forwarded-For is used
	bool ingester = true;   // --ingester: frontend events from JetStream into PostgreSQL
	int ingest_batch = 500; // --ingest-batch
	std::string rudderstack_secret; // --rudderstack-secret: X-Signature of POST /webhooks/rudderstack ("" = none)
	int64_t delivery_poll_interval_ms = 2000; // --delivery-poll-interval: fallback to LISTEN/NOTIFY
	bool bench_baseline = false; // --bench-baseline: POST /bench/insert for test/bench/http.sh
	bool processing = true;         // --processing: run event.process_batch in a loop (docs/architecture.md)
	int processing_batch = 1000;    // --processing-batch: events per process_batch transaction
	int processing_poll_ms = 200;   // --processing-poll: sleep when there was nothing to process
	int processing_outbound_batch = 64; // --processing-outbound-batch: webhook/nats calls claimed at once
	int processing_lease_ms = 120000;   // --processing-lease: how long a claimed call is ours
	int processing_concurrency = 8;     // --processing-concurrency: events called out in parallel
};

enum class ConfigOutcome { kRun, kHelp, kError };

struct ConfigResult {
	ConfigOutcome outcome = ConfigOutcome::kRun;
	Config config;
	std::string error; // one line, for kError
};

// Looks up an environment variable; returns false when unset.
using EnvLookup = std::function<bool(const char *name, std::string *value)>;

// Parses argv (flags "--name value" or "--name=value") over the environment and defaults, then
// checks the NATS credential and TLS files (CheckNatsFiles).
ConfigResult ParseConfig(int argc, const char *const *argv, const EnvLookup &env);

// Checks that the files named by --nats-creds and --nats-tls-* are readable and that the creds
// file holds a user JWT and a user nkey seed. Returns "" or one error line.
std::string CheckNatsFiles(const Config &config);
// Reads a NATS credentials file (the format nsc writes: "-----BEGIN NATS USER JWT-----" block, then
// "-----BEGIN USER NKEY SEED-----" block). False with a one-line *error if unreadable or malformed.
bool ReadNatsCreds(const std::string &path, std::string *jwt, std::string *seed, std::string *error);

// Name of a retention policy as the flag spells it: "limits", "interest", "workqueue".
const char *RetentionName(StreamRetention retention);

// The plugin-option list for START_REPLICATION, e.g. ` (skip_ingested 'on', event_types
// 'order.,pay''t')`: skip_ingested always, then the filter settings (values as SQL string literals).
std::string PluginOptionsSql(const Config &config);

// A NATS URL list for logs: passwords and tokens in "scheme://user:pass@host" replaced by "***".
std::string RedactUrl(std::string_view urls);

// The --help text: every flag with its environment variable and default.
std::string HelpText();

// "250ms", "10s", "2m", "1h", "7d"; a bare number is seconds. False on bad input.
bool ParseDurationMs(std::string_view text, int64_t *ms);
// "1024", "64KB", "512MB", "1GB", "2TiB" (KB = 1024); "-1" = unlimited. False on bad input.
bool ParseBytes(std::string_view text, int64_t *bytes);
// "host:port" (IPv4 or name, or "[v6]:port"); false on bad input.
bool ParseHostPort(std::string_view text, std::string *host, int *port);

} // namespace event::sidecar
