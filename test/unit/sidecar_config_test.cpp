// sidecar_config_test.cpp — flags, EVENT_* variables, defaults, precedence and bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "config.hpp"

using namespace event::sidecar;

namespace {

struct Args {
	std::vector<std::string> items;
	std::map<std::string, std::string> env;

	ConfigResult Parse() const {
		std::vector<const char *> argv{"event-sidecar"};
		for (const auto &s : items)
			argv.push_back(s.c_str());
		auto lookup = [this](const char *name, std::string *value) {
			auto it = env.find(name);
			if (it == env.end())
				return false;
			*value = it->second;
			return true;
		};
		return ParseConfig(static_cast<int>(argv.size()), argv.data(), lookup);
	}
};

} // namespace

TEST(SidecarConfig, DefaultsNeedOnlyDatabaseUrl) {
	ConfigResult r = Args{{"--database-url", "postgresql:///x"}, {}}.Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	const Config &c = r.config;
	EXPECT_EQ(c.database_url, "postgresql:///x");
	EXPECT_EQ(c.nats_url, "nats://127.0.0.1:4222");
	EXPECT_EQ(c.slot, "event_relay");
	EXPECT_EQ(c.http.host, "127.0.0.1");
	EXPECT_EQ(c.http.port, 8080);
	EXPECT_EQ(c.stream_name, "EVENTS");
	EXPECT_EQ(c.stream_duplicate_window_ms, 120000);
	EXPECT_EQ(c.max_inflight, 10000);
	EXPECT_EQ(c.heartbeat_interval_ms, 10000);
	EXPECT_EQ(c.stream_replicas, 1);
	EXPECT_EQ(c.stream_max_bytes, -1);
	EXPECT_EQ(c.stream_max_age_ms, 0);
}

TEST(SidecarConfig, MissingDatabaseUrlIsAnError) {
	ConfigResult r = Args{}.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
	EXPECT_NE(r.error.find("EVENT_DATABASE_URL"), std::string::npos);
}

TEST(SidecarConfig, EnvironmentAndFlagPrecedence) {
	Args a;
	a.env = {{"EVENT_DATABASE_URL", "host=env"}, {"EVENT_SLOT", "from_env"}, {"EVENT_MAX_INFLIGHT", "5"},
			 {"EVENT_HTTP_ADDR", "0.0.0.0:9000"}, {"EVENT_NATS_STREAM", "S1"}};
	a.items = {"--slot=from_flag", "--nats-url", "nats://n:1"};
	ConfigResult r = a.Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	EXPECT_EQ(r.config.database_url, "host=env");
	EXPECT_EQ(r.config.slot, "from_flag");
	EXPECT_EQ(r.config.max_inflight, 5);
	EXPECT_EQ(r.config.http.host, "0.0.0.0");
	EXPECT_EQ(r.config.http.port, 9000);
	EXPECT_EQ(r.config.stream_name, "S1");
	EXPECT_EQ(r.config.nats_url, "nats://n:1");
}

TEST(SidecarConfig, DurationsSizesAndLevels) {
	ConfigResult r = Args{{"--database-url=x", "--stream-max-age", "7d", "--stream-max-bytes", "512MB",
						   "--stream-duplicate-window", "90s", "--heartbeat-interval", "250ms", "--max-lag-bytes",
						   "64KB", "--stream-replicas", "3", "--log-level", "debug"},
						  {}}
						 .Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	EXPECT_EQ(r.config.stream_max_age_ms, 7LL * 24 * 3600 * 1000);
	EXPECT_EQ(r.config.stream_max_bytes, 512LL << 20);
	EXPECT_EQ(r.config.stream_duplicate_window_ms, 90000);
	EXPECT_EQ(r.config.heartbeat_interval_ms, 250);
	EXPECT_EQ(r.config.max_lag_bytes, 64LL << 10);
	EXPECT_EQ(r.config.stream_replicas, 3);
	EXPECT_EQ(r.config.log_level, LogLevel::kDebug);
}

TEST(SidecarConfig, BadValuesGiveOneLineErrors) {
	const std::vector<std::vector<std::string>> cases = {
		{"--database-url=x", "--max-inflight", "0"},
		{"--database-url=x", "--max-inflight", "ten"},
		{"--database-url=x", "--heartbeat-interval", "10 s"},
		{"--database-url=x", "--heartbeat-interval", "5ms"},
		{"--database-url=x", "--stream-max-bytes", "12XB"},
		{"--database-url=x", "--stream-replicas", "7"},
		{"--database-url=x", "--http-addr", "8080"},
		{"--database-url=x", "--http-addr", "h:99999"},
		{"--database-url=x", "--slot", "Bad-Slot"},
		{"--database-url=x", "--stream-name", "a.b"},
		{"--database-url=x", "--log-level", "loud"},
		{"--database-url=x", "--no-such-flag", "1"},
		{"--database-url=x", "--slot"},
		{"--database-url=x", "positional"},
		{"--database-url=x", "--nats-password", "p"},
		{"--database-url=x", "--nats-tls-cert", "c.pem"},
		{"--database-url=x", "--nats-user", "u", "--nats-token", "t"},
		{"--database-url=x", "--ingest-batch", "0"},
		{"--database-url=x", "--ingest-batch", "1001"}, // over event.max_batch_size: one call per event
	};
	for (const auto &c : cases) {
		ConfigResult r = Args{c, {}}.Parse();
		EXPECT_EQ(r.outcome, ConfigOutcome::kError) << c[1];
		EXPECT_FALSE(r.error.empty());
		EXPECT_EQ(r.error.find('\n'), std::string::npos);
	}
	EXPECT_EQ((Args{{"--database-url=x", "--ingest-batch", "1000"}, {}}.Parse().config.ingest_batch), 1000);
	Args bad_env;
	bad_env.env = {{"EVENT_DATABASE_URL", "x"}, {"EVENT_MAX_INFLIGHT", "-3"}};
	ConfigResult r = bad_env.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
	EXPECT_NE(r.error.find("EVENT_MAX_INFLIGHT"), std::string::npos);
}

TEST(SidecarConfig, HelpListsEveryFlagWithItsVariable) {
	EXPECT_EQ((Args{{"--help"}, {}}.Parse().outcome), ConfigOutcome::kHelp);
	std::string help = HelpText();
	for (const char *s : {"--database-url", "EVENT_DATABASE_URL", "--nats-url", "EVENT_NATS_URL", "--slot",
						  "EVENT_SLOT", "--http-addr", "EVENT_HTTP_ADDR", "127.0.0.1:8080", "--stream-name",
						  "EVENT_NATS_STREAM", "--stream-max-age", "--stream-max-bytes", "--stream-replicas",
						  "--stream-duplicate-window", "--max-inflight", "EVENT_MAX_INFLIGHT", "--heartbeat-interval",
						  "--max-lag-bytes", "--nats-user", "--nats-password", "--nats-token", "--nats-creds",
						  "--nats-tls-ca", "--nats-tls-cert", "--nats-tls-key", "--log-level", "--stream-retention",
						  "EVENT_NATS_STREAM_RETENTION", "--event-types", "EVENT_FILTER_EVENT_TYPES", "--sources",
						  "EVENT_FILTER_SOURCES", "--categories", "EVENT_FILTER_CATEGORIES", "--http-threads",
						  "EVENT_HTTP_THREADS", "--http-max-connections", "EVENT_HTTP_MAX_CONNECTIONS",
						  "--http-max-header-bytes", "EVENT_HTTP_MAX_HEADER_BYTES", "--http-idle-timeout",
						  "EVENT_HTTP_IDLE_TIMEOUT", "--http-head-timeout", "EVENT_HTTP_HEAD_TIMEOUT",
						  "--http-body-timeout", "EVENT_HTTP_BODY_TIMEOUT", "--http-request-timeout",
						  "EVENT_HTTP_REQUEST_TIMEOUT", "--http-cors-origins", "EVENT_HTTP_CORS_ORIGINS"})
		EXPECT_NE(help.find(s), std::string::npos) << s;
}

TEST(SidecarConfig, ParseHelpers) {
	int64_t v = 0;
	EXPECT_TRUE(ParseDurationMs("2m", &v));
	EXPECT_EQ(v, 120000);
	EXPECT_TRUE(ParseDurationMs("15", &v));
	EXPECT_EQ(v, 15000);
	EXPECT_TRUE(ParseDurationMs("1h", &v));
	EXPECT_EQ(v, 3600000);
	EXPECT_FALSE(ParseDurationMs("", &v));
	EXPECT_FALSE(ParseDurationMs("-1s", &v));
	EXPECT_FALSE(ParseDurationMs("1w", &v));
	EXPECT_FALSE(ParseDurationMs("99999999999999999999d", &v));
	EXPECT_TRUE(ParseBytes("1GB", &v));
	EXPECT_EQ(v, 1LL << 30);
	EXPECT_TRUE(ParseBytes("-1", &v));
	EXPECT_EQ(v, -1);
	EXPECT_TRUE(ParseBytes("100", &v));
	EXPECT_EQ(v, 100);
	EXPECT_FALSE(ParseBytes("1.5GB", &v));
	EXPECT_FALSE(ParseBytes("99999999999TB", &v));
	std::string host;
	int port = 0;
	EXPECT_TRUE(ParseHostPort("[::1]:8081", &host, &port));
	EXPECT_EQ(host, "::1");
	EXPECT_EQ(port, 8081);
	EXPECT_FALSE(ParseHostPort(":80", &host, &port));
	EXPECT_FALSE(ParseHostPort("h:0", &host, &port));
}

TEST(SidecarConfig, StreamRetention) {
	EXPECT_EQ((Args{{"--database-url=x"}, {}}.Parse().config.stream_retention), StreamRetention::kLimits);
	const std::pair<const char *, StreamRetention> good[] = {{"limits", StreamRetention::kLimits},
															 {"interest", StreamRetention::kInterest},
															 {"workqueue", StreamRetention::kWorkQueue}};
	for (const auto &[text, want] : good) {
		ConfigResult r = Args{{"--database-url=x", "--stream-retention", text}, {}}.Parse();
		ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
		EXPECT_EQ(r.config.stream_retention, want);
		EXPECT_STREQ(RetentionName(want), text);
	}
	Args env;
	env.env = {{"EVENT_DATABASE_URL", "x"}, {"EVENT_NATS_STREAM_RETENTION", "interest"}};
	EXPECT_EQ(env.Parse().config.stream_retention, StreamRetention::kInterest);
	env.items = {"--stream-retention=workqueue"};
	EXPECT_EQ(env.Parse().config.stream_retention, StreamRetention::kWorkQueue); // the flag wins
	for (const char *bad : {"", "Limits", "work-queue", "interest ", "none"}) {
		ConfigResult r = Args{{"--database-url=x", "--stream-retention", bad}, {}}.Parse();
		EXPECT_EQ(r.outcome, ConfigOutcome::kError) << bad;
		EXPECT_NE(r.error.find("limits, interest or workqueue"), std::string::npos) << r.error;
	}
	env.items = {};
	env.env["EVENT_NATS_STREAM_RETENTION"] = "everything";
	ConfigResult r = env.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
	EXPECT_NE(r.error.find("EVENT_NATS_STREAM_RETENTION"), std::string::npos);
}

TEST(SidecarConfig, FiltersAreTrimmedPrefixLists) {
	ConfigResult r = Args{{"--database-url=x", "--event-types", " order. , payment.", "--sources=backend",
						   "--categories", "order,user"},
						  {}}
						 .Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	EXPECT_EQ(r.config.filter_event_types, "order.,payment.");
	EXPECT_EQ(r.config.filter_sources, "backend");
	EXPECT_EQ(r.config.filter_categories, "order,user");
	EXPECT_EQ(PluginOptionsSql(r.config),
			  " (skip_ingested 'on', event_types 'order.,payment.', sources 'backend', categories 'order,user')");

	Args env;
	env.env = {{"EVENT_DATABASE_URL", "x"}, {"EVENT_FILTER_EVENT_TYPES", "a"}, {"EVENT_FILTER_SOURCES", "s"},
			   {"EVENT_FILTER_CATEGORIES", "c"}};
	r = env.Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	EXPECT_EQ(PluginOptionsSql(r.config), " (skip_ingested 'on', event_types 'a', sources 's', categories 'c')");
	env.items = {"--sources", "web"};
	EXPECT_EQ(env.Parse().config.filter_sources, "web"); // the flag wins

	// No filter: only skip_ingested, which the relay always sets.
	EXPECT_EQ(PluginOptionsSql(Args{{"--database-url=x"}, {}}.Parse().config), " (skip_ingested 'on')");
}

TEST(SidecarConfig, FilterValuesAreQuotedAsStringLiterals) {
	ConfigResult r = Args{{"--database-url=x", "--event-types", "it's,a''b,back\\slash,x') , (y"}, {}}.Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	// Only the quote is special in a replication command's string literal: doubled; backslashes stay.
	EXPECT_EQ(PluginOptionsSql(r.config), " (skip_ingested 'on', event_types 'it''s,a''''b,back\\slash,x''),(y')");
}

TEST(SidecarConfig, BadFiltersGiveClearErrors) {
	const std::vector<std::pair<std::string, std::string>> cases = {
		{"", "without empty items"},
		{",", "without empty items"},
		{"a,,b", "without empty items"},
		{"a, ,b", "without empty items"},
		{"a,", "without empty items"},
		{"a\nb", "control characters"},
		{"a\rb", "control characters"},
		{std::string("a\x01"), "control characters"},
		{std::string("a\x7f"), "control characters"},
	};
	for (const char *flag : {"--event-types", "--sources", "--categories"}) {
		for (const auto &[value, want] : cases) {
			ConfigResult r = Args{{"--database-url=x", flag, value}, {}}.Parse();
			EXPECT_EQ(r.outcome, ConfigOutcome::kError) << flag << " " << value;
			EXPECT_NE(r.error.find(flag), std::string::npos) << r.error;
			EXPECT_NE(r.error.find(want), std::string::npos) << r.error;
		}
	}
	Args env;
	env.env = {{"EVENT_DATABASE_URL", "x"}, {"EVENT_FILTER_SOURCES", "a,,b"}};
	ConfigResult r = env.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
	EXPECT_NE(r.error.find("EVENT_FILTER_SOURCES"), std::string::npos);
}

namespace {

// A file in the test's temp dir with the given content; returns its path.
std::string WriteTemp(const std::string &name, const std::string &content) {
	std::string path = testing::TempDir() + "/sidecar_config_test_" + name;
	std::ofstream(path, std::ios::binary) << content;
	return path;
}

const char kJwt[] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl";
const char kSeed[] = "SUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// A creds file as nsc writes it.
std::string Creds(const std::string &jwt, const std::string &seed) {
	return "-----BEGIN NATS USER JWT-----\n" + jwt +
		   "\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n"
		   "NKEY Seed printed below can be used to sign and prove identity.\n\n"
		   "-----BEGIN USER NKEY SEED-----\n" +
		   seed + "\n------END USER NKEY SEED------\n\n*************************************************************\n";
}

} // namespace

TEST(SidecarConfig, CredsFileIsReadAndChecked) {
	std::string good = WriteTemp("good.creds", Creds(kJwt, kSeed));
	std::string jwt, seed, error;
	ASSERT_TRUE(ReadNatsCreds(good, &jwt, &seed, &error)) << error;
	EXPECT_EQ(jwt, kJwt);
	EXPECT_EQ(seed, kSeed);
	std::string crlf = WriteTemp("crlf.creds", "  -----BEGIN NATS USER JWT-----\r\n  " + std::string(kJwt) +
												   "\r\n------END NATS USER JWT------\r\n-----BEGIN USER NKEY SEED-----\r\n" +
												   kSeed + "\r\n------END USER NKEY SEED------\r\n");
	EXPECT_TRUE(ReadNatsCreds(crlf, &jwt, &seed, &error)) << error;
	ConfigResult r = Args{{"--database-url=x", "--nats-creds", good}, {}}.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	EXPECT_EQ(r.config.nats_creds, good);

	const std::string jwt_only = "-----BEGIN NATS USER JWT-----\n" + std::string(kJwt) + "\n------END NATS USER JWT------\n";
	const std::vector<std::pair<std::string, std::string>> bad = {
		{"", "no user JWT block"},
		{"just text\n", "no user JWT block"},
		{Creds("not-a-jwt", kSeed), "the first block is not a JWT"},
		{Creds("a..c", kSeed), "the first block is not a JWT"},
		{Creds("a.b.c.d", kSeed), "the first block is not a JWT"},
		{jwt_only, "no user nkey seed block"},
		{Creds(kJwt, "SAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "not a user nkey seed"},
		{Creds(kJwt, "SUAAAA"), "not a user nkey seed"},
		{Creds(kJwt, "SUaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "not a user nkey seed"},
	};
	int i = 0;
	for (const auto &[content, want] : bad) {
		std::string path = WriteTemp("bad" + std::to_string(i++) + ".creds", content);
		EXPECT_FALSE(ReadNatsCreds(path, &jwt, &seed, &error)) << content;
		EXPECT_NE(error.find(want), std::string::npos) << error;
		r = Args{{"--database-url=x", "--nats-creds", path}, {}}.Parse();
		EXPECT_EQ(r.outcome, ConfigOutcome::kError);
		EXPECT_EQ(r.error.rfind("--nats-creds: ", 0), 0u) << r.error;
		EXPECT_NE(r.error.find(path), std::string::npos) << r.error;
		EXPECT_EQ(r.error.find('\n'), std::string::npos);
	}
	std::string missing = testing::TempDir() + "/sidecar_config_test_missing.creds";
	std::remove(missing.c_str());
	r = Args{{"--database-url=x", "--nats-creds", missing}, {}}.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
	EXPECT_NE(r.error.find("cannot read"), std::string::npos) << r.error;
	EXPECT_NE(r.error.find("No such file"), std::string::npos) << r.error;

	// Creds exclude user/password and token.
	r = Args{{"--database-url=x", "--nats-creds", good, "--nats-user", "u"}, {}}.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
	r = Args{{"--database-url=x", "--nats-creds", good, "--nats-token", "t"}, {}}.Parse();
	EXPECT_EQ(r.outcome, ConfigOutcome::kError);
}

TEST(SidecarConfig, TlsFilesMustBeReadable) {
	std::string pem = WriteTemp("file.pem", "-----BEGIN CERTIFICATE-----\n");
	std::string missing = testing::TempDir() + "/sidecar_config_test_missing.pem";
	std::remove(missing.c_str());
	EXPECT_EQ((Args{{"--database-url=x", "--nats-tls-ca", pem, "--nats-tls-cert", pem, "--nats-tls-key", pem}, {}}
				   .Parse()
				   .outcome),
			  ConfigOutcome::kRun);
	for (const char *flag : {"--nats-tls-ca", "--nats-tls-cert", "--nats-tls-key"}) {
		std::vector<std::string> args = {"--database-url=x", "--nats-tls-ca", pem, "--nats-tls-cert", pem,
										 "--nats-tls-key", pem, flag, missing};
		ConfigResult r = Args{args, {}}.Parse();
		EXPECT_EQ(r.outcome, ConfigOutcome::kError) << flag;
		EXPECT_EQ(r.error.rfind(std::string(flag) + ": cannot read \"" + missing + "\"", 0), 0u) << r.error;
	}
}

TEST(SidecarConfig, RedactUrlHidesPasswordsAndTokens) {
	EXPECT_EQ(RedactUrl("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
	EXPECT_EQ(RedactUrl("nats://user:secret@host:4222"), "nats://user:***@host:4222");
	EXPECT_EQ(RedactUrl("nats://s3cr3t-token@host:4222"), "nats://***@host:4222");
	EXPECT_EQ(RedactUrl("tls://a:b@h1:1,nats://h2:2,nats://t@h3:3"), "tls://a:***@h1:1,nats://h2:2,nats://***@h3:3");
	EXPECT_EQ(RedactUrl("u:p@host:4222"), "u:***@host:4222");
	EXPECT_EQ(RedactUrl("nats://host:4222/path@x"), "nats://host:4222/path@x");
	EXPECT_EQ(RedactUrl(""), "");
}

TEST(SidecarConfig, HttpServerOptions) {
	ConfigResult d = Args{{"--database-url=x"}, {}}.Parse();
	ASSERT_EQ(d.outcome, ConfigOutcome::kRun) << d.error;
	EXPECT_EQ(d.config.http.threads, 0);
	EXPECT_EQ(d.config.http.max_connections, 10000);
	EXPECT_EQ(d.config.http.max_header_bytes, 64 * 1024);
	EXPECT_EQ(d.config.http.idle_timeout_ms, 60000);
	EXPECT_EQ(d.config.http.cors_origins, (std::vector<std::string>{"*"}));
	Args a;
	a.env = {{"EVENT_DATABASE_URL", "x"}, {"EVENT_HTTP_THREADS", "3"}, {"EVENT_HTTP_IDLE_TIMEOUT", "5s"}};
	a.items = {"--http-max-connections", "50", "--http-max-header-bytes=8KB", "--http-head-timeout", "2s",
			   "--http-body-timeout", "500ms", "--http-request-timeout", "1m",
			   "--http-cors-origins", "https://a.example, https://b.example"};
	ConfigResult r = a.Parse();
	ASSERT_EQ(r.outcome, ConfigOutcome::kRun) << r.error;
	const http::Options &h = r.config.http;
	EXPECT_EQ(h.threads, 3);
	EXPECT_EQ(h.idle_timeout_ms, 5000);
	EXPECT_EQ(h.max_connections, 50);
	EXPECT_EQ(h.max_header_bytes, 8192);
	EXPECT_EQ(h.head_timeout_ms, 2000);
	EXPECT_EQ(h.body_timeout_ms, 500);
	EXPECT_EQ(h.request_timeout_ms, 60000);
	EXPECT_EQ(h.cors_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
	for (const char *bad : {"--http-threads=-1", "--http-threads=999", "--http-max-connections=0",
							"--http-max-header-bytes=100", "--http-idle-timeout=soon", "--http-cors-origins=a,,b"}) {
		ConfigResult e = Args{{"--database-url=x", bad}, {}}.Parse();
		EXPECT_EQ(e.outcome, ConfigOutcome::kError) << bad;
		EXPECT_NE(e.error.find("--http-"), std::string::npos) << e.error;
	}
}

// The bounded whole-number and duration settings: both ends accepted, one past either end
// refused with the range in the message, and a refused value never stored. A duration above
// its bound used to be stored in an int of milliseconds: --processing-poll 30d wrapped around.
TEST(SidecarConfig, BoundedSettings) {
	struct Case {
		const char *flag;
		const char *low, *high, *below, *above;
		int Config::*field;
	};
	const std::vector<Case> cases = {
		{"--stream-replicas", "1", "5", "0", "6", &Config::stream_replicas},
		{"--ingest-batch", "1", "1000", "0", "1001", &Config::ingest_batch},
		{"--processing-batch", "1", "10000", "0", "10001", &Config::processing_batch},
		{"--processing-outbound-batch", "1", "10000", "0", "10001", &Config::processing_outbound_batch},
		{"--processing-concurrency", "1", "256", "0", "257", &Config::processing_concurrency},
		{"--processing-poll", "1ms", "1h", "0ms", "61m", &Config::processing_poll_ms},
		{"--processing-lease", "100ms", "24h", "99ms", "30d", &Config::processing_lease_ms},
	};
	for (const Case &c : cases) {
		ConfigResult low = Args{{"--database-url=x", c.flag, c.low}, {}}.Parse();
		ConfigResult high = Args{{"--database-url=x", c.flag, c.high}, {}}.Parse();
		ASSERT_EQ(low.outcome, ConfigOutcome::kRun) << c.flag << " " << low.error;
		ASSERT_EQ(high.outcome, ConfigOutcome::kRun) << c.flag << " " << high.error;
		EXPECT_LT(low.config.*c.field, high.config.*c.field) << c.flag;
		EXPECT_GT(low.config.*c.field, 0) << c.flag;
		for (const char *bad : {c.below, c.above}) {
			ConfigResult e = Args{{"--database-url=x", c.flag, bad}, {}}.Parse();
			EXPECT_EQ(e.outcome, ConfigOutcome::kError) << c.flag << " " << bad;
			EXPECT_NE(e.error.find(c.flag), std::string::npos) << e.error;
			EXPECT_NE(e.error.find("must be"), std::string::npos) << e.error;
		}
	}
	EXPECT_EQ((Args{{"--database-url=x", "--processing-lease", "24h"}, {}}.Parse().config.processing_lease_ms), 86400000);
	EXPECT_EQ((Args{{"--database-url=x", "--pg-pool-size", "64"}, {}}.Parse().config.pg.pool_size), 64);
	EXPECT_EQ((Args{{"--database-url=x", "--group-commit-max-batch", "1"}, {}}.Parse().config.group_commit.max_batch), 1);
	for (const char *bad : {"--pg-pool-size=65", "--pg-pool-size=0", "--group-commit-max-batch=1001"}) {
		ConfigResult e = Args{{"--database-url=x", bad}, {}}.Parse();
		EXPECT_EQ(e.outcome, ConfigOutcome::kError) << bad;
		EXPECT_NE(e.error.find("between"), std::string::npos) << e.error;
	}
}
