// sidecar_config_test.cpp — flags, EVENT_* variables, defaults, precedence and bad input.
#include <gtest/gtest.h>

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
	EXPECT_EQ(c.http_host, "127.0.0.1");
	EXPECT_EQ(c.http_port, 8080);
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
	EXPECT_EQ(r.config.http_host, "0.0.0.0");
	EXPECT_EQ(r.config.http_port, 9000);
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
	};
	for (const auto &c : cases) {
		ConfigResult r = Args{c, {}}.Parse();
		EXPECT_EQ(r.outcome, ConfigOutcome::kError) << c[1];
		EXPECT_FALSE(r.error.empty());
		EXPECT_EQ(r.error.find('\n'), std::string::npos);
	}
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
						  "--nats-tls-ca", "--nats-tls-cert", "--nats-tls-key", "--log-level"})
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
