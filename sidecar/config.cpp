// config.cpp — flag/environment parsing and the --help text for event-sidecar.
#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>
#include <vector>

namespace event::sidecar {

namespace {

// One configurable setting: flag name, environment variable, default shown in --help, setter.
struct Option {
	const char *flag;
	const char *env;
	const char *default_text;
	const char *help;
	// Applies a value; returns an error message or "" on success.
	std::function<std::string(Config *c, const std::string &v)> apply;
	bool secret;
};

std::string ParseInt64(const std::string &v, int64_t min, int64_t *out) {
	if (v.empty())
		return "expected a number";
	char *end = nullptr;
	errno = 0;
	long long n = std::strtoll(v.c_str(), &end, 10);
	if (errno != 0 || *end != '\0')
		return "expected a number, got \"" + v + "\"";
	if (n < min)
		return "must be at least " + std::to_string(min);
	*out = n;
	return "";
}

std::string Duration(const std::string &v, int64_t min_ms, int64_t *out) {
	int64_t ms = 0;
	if (!ParseDurationMs(v, &ms))
		return "expected a duration like 500ms, 10s, 2m, 1h, 7d; got \"" + v + "\"";
	if (ms < min_ms)
		return "must be at least " + std::to_string(min_ms) + "ms";
	*out = ms;
	return "";
}

// A whole number in [lo, hi] into the int that at(c) points to (nothing stored on an error).
std::function<std::string(Config *, const std::string &)> IntIn(int64_t lo, int64_t hi, int *(*at)(Config *)) {
	return [=](Config *c, const std::string &v) {
		int64_t n = 0;
		std::string err = ParseInt64(v, INT64_MIN, &n);
		if (err.empty() && (n < lo || n > hi))
			err = "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
		if (err.empty())
			*at(c) = static_cast<int>(n);
		return err;
	};
}

// A duration in [lo_ms, hi_ms] into the int of milliseconds that at(c) points to; hi_text
// names hi_ms in the error (an int holds at most 24 days of milliseconds).
std::function<std::string(Config *, const std::string &)> MsIn(int64_t lo_ms, int64_t hi_ms, const char *hi_text,
                                                               int *(*at)(Config *)) {
	return [=](Config *c, const std::string &v) {
		int64_t ms = 0;
		std::string err = Duration(v, lo_ms, &ms);
		if (err.empty() && ms > hi_ms)
			err = std::string("must be at most ") + hi_text;
		if (err.empty())
			*at(c) = static_cast<int>(ms);
		return err;
	};
}

std::string Bytes(const std::string &v, int64_t *out) {
	if (!ParseBytes(v, out))
		return "expected a size like 1048576, 512MB, 1GB or -1 (unlimited); got \"" + v + "\"";
	return "";
}

std::string NonEmpty(const std::string &v, std::string *out) {
	if (v.empty())
		return "must not be empty";
	*out = v;
	return "";
}

// A plugin filter: comma-separated prefixes, each trimmed of blanks; no empty item, no control
// characters (the value goes into START_REPLICATION as a string literal and into logs).
std::string PrefixList(const std::string &v, std::string *out) {
	std::string result;
	size_t start = 0;
	for (;;) {
		size_t comma = v.find(',', start);
		std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
		size_t b = item.find_first_not_of(" \t");
		size_t e = item.find_last_not_of(" \t");
		item = b == std::string::npos ? std::string() : item.substr(b, e - b + 1);
		if (item.empty())
			return "expected comma-separated prefixes without empty items, got \"" + v + "\"";
		for (unsigned char ch : item)
			if (ch < 0x20 || ch == 0x7f)
				return "control characters are not allowed in prefixes";
		if (!result.empty())
			result += ',';
		result += item;
		if (comma == std::string::npos)
			break;
		start = comma + 1;
	}
	*out = result;
	return "";
}

// "on" or "off".
std::string OnOff(const std::string &v, bool *out) {
	if (v != "on" && v != "off")
		return "expected on or off, got \"" + v + "\"";
	*out = v == "on";
	return "";
}

// Comma-separated items (trimmed, none empty, no control characters) into *out (replaced).
bool CommaList(const std::string &v, std::vector<std::string> *out) {
	std::string list;
	if (!PrefixList(v, &list).empty())
		return false;
	out->clear();
	size_t start = 0;
	for (;;) {
		size_t comma = list.find(',', start);
		out->push_back(list.substr(start, comma == std::string::npos ? comma : comma - start));
		if (comma == std::string::npos)
			return true;
		start = comma + 1;
	}
}

// A readable file, for the NATS TLS options.
std::string Readable(const char *flag, const std::string &path) {
	std::ifstream f(path, std::ios::binary);
	if (!f)
		return std::string("--") + flag + ": cannot read \"" + path + "\": " + std::strerror(errno);
	return "";
}

// True for a line that opens or closes a creds block: at least 3 '-' at both ends (as nats.c).
bool IsCredsHeader(const std::string &line) {
	return line.size() >= 6 && line.compare(0, 3, "---") == 0 && line.compare(line.size() - 3, 3, "---") == 0;
}

const std::vector<Option> &Options() {
	static const std::vector<Option> kOptions = {
		{"database-url", "EVENT_DATABASE_URL", "(required)",
		 "PostgreSQL connection URL or conninfo of the database holding the event extension",
		 [](Config *c, const std::string &v) { return NonEmpty(v, &c->database_url); }, false},
		{"nats-url", "EVENT_NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated",
		 [](Config *c, const std::string &v) { return NonEmpty(v, &c->nats_url); }, false},
		{"slot", "EVENT_SLOT", "event_relay", "logical replication slot (created with event_decoder if missing)",
		 [](Config *c, const std::string &v) -> std::string {
			 if (v.empty() || v.size() > 63)
				 return "must be 1-63 characters";
			 for (char ch : v)
				 if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
					 return "may contain only lower-case letters, digits and underscores";
			 c->slot = v;
			 return "";
		 },
		 false},
		{"http-addr", "EVENT_HTTP_ADDR", "127.0.0.1:8080", "host:port of the HTTP server (API, /health, /metrics)",
		 [](Config *c, const std::string &v) -> std::string {
			 if (!ParseHostPort(v, &c->http.host, &c->http.port))
				 return "expected host:port, got \"" + v + "\"";
			 return "";
		 },
		 false},
		{"http-threads", "EVENT_HTTP_THREADS", "0 (one per core)", "HTTP I/O threads",
		 IntIn(0, 256, [](Config *c) { return &c->http.threads; }), false},
		{"http-max-connections", "EVENT_HTTP_MAX_CONNECTIONS", "10000",
		 "open HTTP connections beyond which new ones get 503 and are closed",
		 [](Config *c, const std::string &v) { return ParseInt64(v, 1, &c->http.max_connections); }, false},
		{"http-max-header-bytes", "EVENT_HTTP_MAX_HEADER_BYTES", "64KB",
		 "largest request line + headers; larger heads get 431",
		 [](Config *c, const std::string &v) -> std::string {
			 int64_t n = 0;
			 std::string err = Bytes(v, &n);
			 if (err.empty() && (n < 1024 || n > (int64_t{16} << 20)))
				 err = "must be between 1KB and 16MB";
			 if (err.empty())
				 c->http.max_header_bytes = n;
			 return err;
		 },
		 false},
		{"http-idle-timeout", "EVENT_HTTP_IDLE_TIMEOUT", "60s", "close a keep-alive connection idle this long",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->http.idle_timeout_ms); }, false},
		{"http-head-timeout", "EVENT_HTTP_HEAD_TIMEOUT", "10s",
		 "deadline for a whole request head from its first byte (slow clients are closed)",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->http.head_timeout_ms); }, false},
		{"http-body-timeout", "EVENT_HTTP_BODY_TIMEOUT", "10s", "longest pause while a request body is read (then 408)",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->http.body_timeout_ms); }, false},
		{"http-request-timeout", "EVENT_HTTP_REQUEST_TIMEOUT", "30s",
		 "deadline for a handler's answer (then 503) and for writing a response",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->http.request_timeout_ms); }, false},
		{"http-cors-origins", "EVENT_HTTP_CORS_ORIGINS", "*",
		 "origins allowed by CORS on browser routes: * or a comma-separated list",
		 [](Config *c, const std::string &v) -> std::string {
			 if (!CommaList(v, &c->http.cors_origins))
				 return "expected * or comma-separated origins, got \"" + v + "\"";
			 return "";
		 },
		 false},
		{"trusted-proxies", "EVENT_TRUSTED_PROXIES", "",
		 "comma-separated peer addresses whose X-Forwarded-For is believed (frontend client IP); empty = none",
		 [](Config *c, const std::string &v) -> std::string {
			 c->trusted_proxies.clear();
			 if (!v.empty() && !CommaList(v, &c->trusted_proxies))
				 return "expected comma-separated IP addresses, got \"" + v + "\"";
			 return "";
		 },
		 false},
		{"stream-name", "EVENT_NATS_STREAM", "EVENTS", "JetStream stream (subjects events.>)",
		 [](Config *c, const std::string &v) -> std::string {
			 if (v.empty() || v.find_first_of(" .*>\t") != std::string::npos)
				 return "must be a non-empty name without spaces, '.', '*' or '>'";
			 c->stream_name = v;
			 return "";
		 },
		 false},
		{"stream-max-age", "EVENT_NATS_STREAM_MAX_AGE", "0 (unlimited)", "stream retention by age",
		 [](Config *c, const std::string &v) { return Duration(v, 0, &c->stream_max_age_ms); }, false},
		{"stream-max-bytes", "EVENT_NATS_STREAM_MAX_BYTES", "-1 (unlimited)", "stream retention by size",
		 [](Config *c, const std::string &v) { return Bytes(v, &c->stream_max_bytes); }, false},
		{"stream-replicas", "EVENT_NATS_STREAM_REPLICAS", "1", "stream replicas (1-5)",
		 IntIn(1, 5, [](Config *c) { return &c->stream_replicas; }), false},
		{"stream-duplicate-window", "EVENT_NATS_STREAM_DUPLICATE_WINDOW", "2m",
		 "JetStream de-duplication window for Nats-Msg-Id",
		 [](Config *c, const std::string &v) { return Duration(v, 1, &c->stream_duplicate_window_ms); }, false},
		{"stream-retention", "EVENT_NATS_STREAM_RETENTION", "limits",
		 "stream retention policy: limits, interest or workqueue",
		 [](Config *c, const std::string &v) -> std::string {
			 if (v == "limits")
				 c->stream_retention = StreamRetention::kLimits;
			 else if (v == "interest")
				 c->stream_retention = StreamRetention::kInterest;
			 else if (v == "workqueue")
				 c->stream_retention = StreamRetention::kWorkQueue;
			 else
				 return "expected limits, interest or workqueue; got \"" + v + "\"";
			 return "";
		 },
		 false},
		{"max-inflight", "EVENT_MAX_INFLIGHT", "10000",
		 "unacknowledged publishes before reading from PostgreSQL pauses",
		 [](Config *c, const std::string &v) { return ParseInt64(v, 1, &c->max_inflight); }, false},
		{"heartbeat-interval", "EVENT_HEARTBEAT_INTERVAL", "10s",
		 "interval of pg_logical_emit_message heartbeats and lag checks",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->heartbeat_interval_ms); }, false},
		{"max-lag-bytes", "EVENT_MAX_LAG_BYTES", "1GB", "slot lag above which /health is degraded and an alarm is logged",
		 [](Config *c, const std::string &v) { return Bytes(v, &c->max_lag_bytes); }, false},
		{"stall-timeout", "EVENT_STALL_TIMEOUT", "60s",
		 "/health is degraded while the slot has lag and its confirmed position has not moved for this long",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->stall_timeout_ms); }, false},
		{"ack-timeout", "EVENT_ACK_TIMEOUT", "5s", "re-publish unacknowledged messages after this long",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->ack_timeout_ms); }, false},
		{"drain-timeout", "EVENT_DRAIN_TIMEOUT", "10s", "on SIGTERM/SIGINT, wait this long for in-flight acks",
		 [](Config *c, const std::string &v) { return Duration(v, 0, &c->drain_timeout_ms); }, false},
		{"nats-user", "EVENT_NATS_USER", "", "NATS user name",
		 [](Config *c, const std::string &v) { c->nats_user = v; return std::string(); }, false},
		{"nats-password", "EVENT_NATS_PASSWORD", "", "NATS password",
		 [](Config *c, const std::string &v) { c->nats_password = v; return std::string(); }, true},
		{"nats-token", "EVENT_NATS_TOKEN", "", "NATS token",
		 [](Config *c, const std::string &v) { c->nats_token = v; return std::string(); }, true},
		{"nats-creds", "EVENT_NATS_CREDS", "", "NATS credentials file (JWT + seed)",
		 [](Config *c, const std::string &v) { c->nats_creds = v; return std::string(); }, false},
		{"nats-tls-ca", "EVENT_NATS_TLS_CA", "", "CA certificates file for the NATS TLS connection",
		 [](Config *c, const std::string &v) { c->nats_tls_ca = v; return std::string(); }, false},
		{"nats-tls-cert", "EVENT_NATS_TLS_CERT", "", "client certificate file for NATS TLS",
		 [](Config *c, const std::string &v) { c->nats_tls_cert = v; return std::string(); }, false},
		{"nats-tls-key", "EVENT_NATS_TLS_KEY", "", "client key file for NATS TLS",
		 [](Config *c, const std::string &v) { c->nats_tls_key = v; return std::string(); }, false},
		{"event-types", "EVENT_FILTER_EVENT_TYPES", "(all)",
		 "only events whose event_type starts with one of these prefixes (a,b,…)",
		 [](Config *c, const std::string &v) { return PrefixList(v, &c->filter_event_types); }, false},
		{"sources", "EVENT_FILTER_SOURCES", "(all)", "same for event_source",
		 [](Config *c, const std::string &v) { return PrefixList(v, &c->filter_sources); }, false},
		{"categories", "EVENT_FILTER_CATEGORIES", "(all)", "same for event_category",
		 [](Config *c, const std::string &v) { return PrefixList(v, &c->filter_categories); }, false},
		// pg::Options, api::GroupCommitOptions and auth::Options: the HTTP API's database side.
		{"pg-pool-size", "EVENT_PG_POOL_SIZE", "4", "PostgreSQL connections of the HTTP API (1-64)",
		 IntIn(1, 64, [](Config *c) { return &c->pg.pool_size; }), false},
		{"pg-queue-max", "EVENT_PG_QUEUE_MAX", "10000",
		 "queries waiting for a pool connection; beyond, requests get 429 with Retry-After",
		 [](Config *c, const std::string &v) { return ParseInt64(v, 1, &c->pg.queue_max); }, false},
		{"pg-statement-timeout", "EVENT_PG_STATEMENT_TIMEOUT", "30s", "statement_timeout of the pool connections",
		 [](Config *c, const std::string &v) { return Duration(v, 1, &c->pg.statement_timeout_ms); }, false},
		{"group-commit-max-batch", "EVENT_GROUP_COMMIT_MAX_BATCH", "256",
		 "single-event creates coalesced into one transaction at most (1-1000)",
		 IntIn(1, 1000, [](Config *c) { return &c->group_commit.max_batch; }), false},
		{"group-commit-max-wait", "EVENT_GROUP_COMMIT_MAX_WAIT", "2ms",
		 "longest a create waits for companions while earlier batches are committing",
		 [](Config *c, const std::string &v) -> std::string {
			 int64_t ms = 0;
			 std::string err = Duration(v, 0, &ms);
			 if (err.empty())
				 c->group_commit.max_wait_us = ms * 1000;
			 return err;
		 },
		 false},
		{"group-commit-max-pending", "EVENT_GROUP_COMMIT_MAX_PENDING", "20000",
		 "creates waiting for a group commit; beyond, requests get 429 with Retry-After",
		 [](Config *c, const std::string &v) { return ParseInt64(v, 1, &c->group_commit.max_pending); }, false},
		{"auth-refresh", "EVENT_AUTH_REFRESH", "2s",
		 "reload of the API key hashes from PostgreSQL (a revoked key is refused within this time)",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->auth.refresh_ms); }, false},
		{"ingester", "EVENT_INGESTER", "on",
		 "on: store frontend events from JetStream in PostgreSQL (durable consumer event-frontend-ingester)",
		 [](Config *c, const std::string &v) { return OnOff(v, &c->ingester); }, false},
		{"ingest-batch", "EVENT_INGEST_BATCH", "500",
		 "frontend events the ingester stores per transaction (1-1000, the default event.max_batch_size)",
		 IntIn(1, 1000, [](Config *c) { return &c->ingest_batch; }), false},
		{"processing", "EVENT_PROCESSING", "on",
		 "on: apply the registered processors to pending events (event.process_batch) and run replays",
		 [](Config *c, const std::string &v) { return OnOff(v, &c->processing); }, false},
		{"processing-batch", "EVENT_PROCESSING_BATCH", "1000", "events per processing transaction (1-10000)",
		 IntIn(1, 10000, [](Config *c) { return &c->processing_batch; }), false},
		{"processing-poll", "EVENT_PROCESSING_POLL", "200ms", "pause of the processing loop when nothing was pending (1ms-1h)",
		 MsIn(1, 3600000, "1h", [](Config *c) { return &c->processing_poll_ms; }), false},
		{"processing-outbound-batch", "EVENT_PROCESSING_OUTBOUND_BATCH", "64",
		 "webhook and nats processor calls claimed per batch (1-10000)",
		 IntIn(1, 10000, [](Config *c) { return &c->processing_outbound_batch; }), false},
		{"processing-lease", "EVENT_PROCESSING_LEASE", "120s",
		 "lease of claimed webhook/nats processor calls: a call not recorded by then is made again (100ms-24h)",
		 MsIn(100, 86400000, "24h", [](Config *c) { return &c->processing_lease_ms; }), false},
		{"processing-concurrency", "EVENT_PROCESSING_CONCURRENCY", "8",
		 "events whose webhook/nats processors are called in parallel (1-256)",
		 IntIn(1, 256, [](Config *c) { return &c->processing_concurrency; }), false},
		{"rudderstack-secret", "EVENT_RUDDERSTACK_SECRET", "",
		 "secret of POST /webhooks/rudderstack: requests must carry X-Signature: sha256=<hex HMAC-SHA256 of the body> "
		 "(empty: no signature required)",
		 [](Config *c, const std::string &v) { c->rudderstack_secret = v; return std::string(); }, true},
		{"delivery-poll-interval", "EVENT_DELIVERY_POLL_INTERVAL", "2s",
		 "webhook delivery: fallback poll of subscriptions and dead-letter retries (NOTIFY acts at once)",
		 [](Config *c, const std::string &v) { return Duration(v, 100, &c->delivery_poll_interval_ms); }, false},
		{"bench-baseline", "EVENT_BENCH_BASELINE", "off",
		 "on: serve POST /bench/insert, the baseline of test/bench/http.sh (benchmark databases only)",
		 [](Config *c, const std::string &v) { return OnOff(v, &c->bench_baseline); },
		 false},
		{"log-level", "EVENT_LOG_LEVEL", "info", "debug, info, warn or error",
		 [](Config *c, const std::string &v) -> std::string {
			 if (!ParseLogLevel(v, &c->log_level))
				 return "expected debug, info, warn or error; got \"" + v + "\"";
			 return "";
		 },
		 false},
	};
	return kOptions;
}

const Option *FindOption(std::string_view flag) {
	for (const auto &o : Options())
		if (flag == o.flag)
			return &o;
	return nullptr;
}

} // namespace

bool ParseDurationMs(std::string_view text, int64_t *ms) {
	if (text.empty())
		return false;
	size_t i = 0;
	int64_t n = 0;
	while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
		if (n > (INT64_MAX / 10) - 10)
			return false;
		n = n * 10 + (text[i] - '0');
		++i;
	}
	if (i == 0)
		return false;
	std::string_view unit = text.substr(i);
	int64_t mult = 0;
	if (unit.empty() || unit == "s")
		mult = 1000;
	else if (unit == "ms")
		mult = 1;
	else if (unit == "m")
		mult = 60 * 1000;
	else if (unit == "h")
		mult = 3600 * 1000;
	else if (unit == "d")
		mult = 24 * 3600 * 1000;
	else
		return false;
	if (n > INT64_MAX / mult / 1000000) // stays representable in nanoseconds for NATS
		return false;
	*ms = n * mult;
	return true;
}

bool ParseBytes(std::string_view text, int64_t *bytes) {
	if (text == "-1") {
		*bytes = -1;
		return true;
	}
	size_t i = 0;
	int64_t n = 0;
	while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
		if (n > (INT64_MAX / 10) - 10)
			return false;
		n = n * 10 + (text[i] - '0');
		++i;
	}
	if (i == 0)
		return false;
	std::string unit(text.substr(i));
	for (auto &ch : unit)
		ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
	int shift = 0;
	if (unit.empty() || unit == "B")
		shift = 0;
	else if (unit == "K" || unit == "KB" || unit == "KIB")
		shift = 10;
	else if (unit == "M" || unit == "MB" || unit == "MIB")
		shift = 20;
	else if (unit == "G" || unit == "GB" || unit == "GIB")
		shift = 30;
	else if (unit == "T" || unit == "TB" || unit == "TIB")
		shift = 40;
	else
		return false;
	if (shift > 0 && n > (INT64_MAX >> shift))
		return false;
	*bytes = n << shift;
	return true;
}

bool ParseHostPort(std::string_view text, std::string *host, int *port) {
	size_t colon = text.rfind(':');
	if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size())
		return false;
	std::string_view h = text.substr(0, colon);
	if (h.front() == '[') {
		if (h.size() < 3 || h.back() != ']')
			return false;
		h = h.substr(1, h.size() - 2);
	}
	int p = 0;
	for (char ch : text.substr(colon + 1)) {
		if (ch < '0' || ch > '9')
			return false;
		p = p * 10 + (ch - '0');
		if (p > 65535)
			return false;
	}
	if (p == 0)
		return false;
	*host = std::string(h);
	*port = p;
	return true;
}

ConfigResult ParseConfig(int argc, const char *const *argv, const EnvLookup &env) {
	ConfigResult r;
	auto fail = [&r](std::string msg) {
		r.outcome = ConfigOutcome::kError;
		r.error = std::move(msg);
		return r;
	};

	// Environment first, so flags override it.
	for (const auto &o : Options()) {
		std::string v;
		if (env && env(o.env, &v)) {
			std::string err = o.apply(&r.config, v);
			if (!err.empty())
				return fail(std::string(o.env) + ": " + err);
		}
	}

	for (int i = 1; i < argc; ++i) {
		std::string_view arg = argv[i];
		if (arg == "--help" || arg == "-h") {
			r.outcome = ConfigOutcome::kHelp;
			return r;
		}
		if (arg.substr(0, 2) != "--")
			return fail("unexpected argument \"" + std::string(arg) + "\" (see --help)");
		arg.remove_prefix(2);
		std::string value;
		bool have_value = false;
		size_t eq = arg.find('=');
		if (eq != std::string_view::npos) {
			value = std::string(arg.substr(eq + 1));
			arg = arg.substr(0, eq);
			have_value = true;
		}
		const Option *o = FindOption(arg);
		if (!o)
			return fail("unknown flag --" + std::string(arg) + " (see --help)");
		if (!have_value) {
			if (i + 1 >= argc)
				return fail("flag --" + std::string(arg) + " needs a value");
			value = argv[++i];
		}
		std::string err = o->apply(&r.config, value);
		if (!err.empty())
			return fail("--" + std::string(o->flag) + ": " + err);
	}

	const Config &c = r.config;
	if (c.database_url.empty())
		return fail("--database-url (EVENT_DATABASE_URL) is required");
	if (!c.nats_token.empty() && !c.nats_user.empty())
		return fail("--nats-token and --nats-user are mutually exclusive");
	if (!c.nats_password.empty() && c.nats_user.empty())
		return fail("--nats-password needs --nats-user");
	if (c.nats_tls_cert.empty() != c.nats_tls_key.empty())
		return fail("--nats-tls-cert and --nats-tls-key must be given together");
	if (!c.nats_creds.empty() && (!c.nats_user.empty() || !c.nats_token.empty()))
		return fail("--nats-creds and --nats-user/--nats-token are mutually exclusive");
	std::string files = CheckNatsFiles(c);
	if (!files.empty())
		return fail(files);
	return r;
}

bool ReadNatsCreds(const std::string &path, std::string *jwt, std::string *seed, std::string *error) {
	std::ifstream f(path, std::ios::binary);
	if (!f) {
		*error = "cannot read \"" + path + "\": " + std::strerror(errno);
		return false;
	}
	// A creds file is a few KiB; refuse anything large (or endless, like a device).
	constexpr std::streamsize kMaxCredsBytes = 64 * 1024;
	std::string content(kMaxCredsBytes + 1, '\0');
	f.read(&content[0], kMaxCredsBytes + 1);
	content.resize(static_cast<size_t>(f.gcount()));
	if (static_cast<std::streamsize>(content.size()) > kMaxCredsBytes) {
		*error = "\"" + path + "\" is too large for a NATS credentials file";
		return false;
	}
	// Blocks as nsc writes them: a header line, the value, a footer line. Item 0 is the user JWT,
	// item 1 the nkey seed (nats.c reads the file the same way at every connect).
	std::istringstream in(content);
	std::fill(content.begin(), content.end(), '\0');
	std::vector<std::string> values;
	std::string line;
	bool in_block = false;
	std::string value;
	while (std::getline(in, line) && values.size() < 2) {
		while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
			line.pop_back();
		size_t b = line.find_first_not_of(" \t");
		line = b == std::string::npos ? std::string() : line.substr(b);
		if (IsCredsHeader(line)) {
			if (in_block && !value.empty())
				values.push_back(value);
			in_block = !in_block;
			value.clear();
		} else if (in_block && value.empty() && !line.empty()) {
			value = line;
		}
	}
	const std::string what = "\"" + path + "\" is not a NATS credentials file: ";
	if (values.empty()) {
		*error = what + "no user JWT block (-----BEGIN NATS USER JWT-----)";
		return false;
	}
	// A JWT: three non-empty base64url parts separated by '.'.
	int dots = 0;
	bool jwt_ok = true;
	char prev = '.';
	for (char ch : values[0]) {
		if (ch == '.') {
			jwt_ok = jwt_ok && prev != '.';
			++dots;
		} else if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '=') {
			jwt_ok = false;
		}
		prev = ch;
	}
	if (!jwt_ok || dots != 2 || prev == '.') {
		*error = what + "the first block is not a JWT";
		return false;
	}
	if (values.size() < 2) {
		*error = what + "no user nkey seed block (-----BEGIN USER NKEY SEED-----)";
		return false;
	}
	// A user seed: base32 (A-Z, 2-7), prefix "SU", 58 characters.
	const std::string &s = values[1];
	bool seed_ok = s.size() == 58 && s.compare(0, 2, "SU") == 0;
	for (char ch : s)
		seed_ok = seed_ok && ((ch >= 'A' && ch <= 'Z') || (ch >= '2' && ch <= '7'));
	if (!seed_ok) {
		*error = what + "the second block is not a user nkey seed (SU…, 58 characters)";
		return false;
	}
	*jwt = values[0];
	*seed = s;
	return true;
}

std::string CheckNatsFiles(const Config &c) {
	if (!c.nats_creds.empty()) {
		std::string jwt, seed, error;
		bool ok = ReadNatsCreds(c.nats_creds, &jwt, &seed, &error);
		std::fill(seed.begin(), seed.end(), '\0');
		if (!ok)
			return "--nats-creds: " + error;
	}
	const std::pair<const char *, const std::string *> files[] = {
		{"nats-tls-ca", &c.nats_tls_ca}, {"nats-tls-cert", &c.nats_tls_cert}, {"nats-tls-key", &c.nats_tls_key}};
	for (const auto &[flag, path] : files) {
		if (path->empty())
			continue;
		std::string err = Readable(flag, *path);
		if (!err.empty())
			return err;
	}
	return "";
}

const char *RetentionName(StreamRetention retention) {
	switch (retention) {
	case StreamRetention::kInterest:
		return "interest";
	case StreamRetention::kWorkQueue:
		return "workqueue";
	case StreamRetention::kLimits:
		break;
	}
	return "limits";
}

std::string PluginOptionsSql(const Config &c) {
	const std::pair<const char *, const std::string *> filters[] = {
		{"event_types", &c.filter_event_types}, {"sources", &c.filter_sources}, {"categories", &c.filter_categories}};
	// The ingester's events are in JetStream already (core/ingested.hpp): the plugin drops them.
	std::string out = " (skip_ingested 'on'";
	for (const auto &[name, value] : filters) {
		if (value->empty())
			continue;
		out += ", ";
		out += name;
		// A replication-command string literal: only '' is special (no backslash escapes);
		// control characters were rejected by the config parser.
		out += " '";
		for (char ch : *value) {
			if (ch == '\'')
				out += '\'';
			out += ch;
		}
		out += '\'';
	}
	out += ')';
	return out;
}

std::string RedactUrl(std::string_view urls) {
	std::string out;
	size_t start = 0;
	for (;;) {
		size_t comma = urls.find(',', start);
		std::string_view url = urls.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
		size_t scheme = url.find("://");
		size_t host_start = scheme == std::string_view::npos ? 0 : scheme + 3;
		size_t at = url.find('@', host_start);
		size_t slash = url.find('/', host_start);
		if (at != std::string_view::npos && (slash == std::string_view::npos || at < slash)) {
			std::string_view userinfo = url.substr(host_start, at - host_start);
			size_t colon = userinfo.find(':');
			out += url.substr(0, host_start);
			if (colon != std::string_view::npos) {
				out += userinfo.substr(0, colon);
				out += ":***";
			} else {
				out += "***"; // a token
			}
			out += url.substr(at);
		} else {
			out += url;
		}
		if (comma == std::string_view::npos)
			break;
		out += ',';
		start = comma + 1;
	}
	return out;
}

std::string HelpText() {
	std::string out =
		"event-sidecar — relays committed events from a logical replication slot (plugin event_decoder)\n"
		"to NATS JetStream. Every flag can also be set by its environment variable; flags win.\n\n"
		"Usage: event-sidecar [--flag value | --flag=value]...\n\n";
	for (const auto &o : Options()) {
		std::string line = "  --";
		line += o.flag;
		line += " <value>";
		line.append(line.size() < 34 ? 34 - line.size() : 1, ' '); // long flag names: at least one space
		out += line;
		out += o.help;
		out += "\n";
		out += std::string(34, ' ') + "env " + o.env;
		if (o.default_text[0] != '\0')
			out += std::string(", default ") + o.default_text;
		out += "\n";
	}
	out += "  --help                          this text\n";
	out += "\nEndpoints (on --http-addr): GET /health, GET /metrics, GET /api/v1/events/tail (live tail),\n"
		   "see docs/sidecar.md. Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a fatal\n"
		   "runtime error, 2 on bad configuration.\n";
	return out;
}

} // namespace event::sidecar
