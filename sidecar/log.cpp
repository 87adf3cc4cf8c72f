// log.cpp — JSON-lines logger shared by every sidecar thread.
#include "log.hpp"

#include "core/json.hpp"

#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace event::sidecar {

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_slot_mutex;
std::string g_slot;

const char *LevelName(LogLevel level) {
	switch (level) {
	case LogLevel::kDebug:
		return "debug";
	case LogLevel::kInfo:
		return "info";
	case LogLevel::kWarn:
		return "warn";
	case LogLevel::kError:
		return "error";
	}
	return "info";
}

// UTC timestamp with milliseconds, RFC 3339.
std::string NowRfc3339() {
	auto now = std::chrono::system_clock::now();
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
	std::time_t secs = static_cast<std::time_t>(ms / 1000);
	std::tm tm{};
	gmtime_r(&secs, &tm);
	char buf[64];
	std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
				  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
	return buf;
}

} // namespace

LogValue::LogValue(const char *s) { core::AppendJsonString(json, s ? s : ""); }
LogValue::LogValue(const std::string &s) { core::AppendJsonString(json, s); }
LogValue::LogValue(std::string_view s) { core::AppendJsonString(json, s); }
LogValue::LogValue(int v) : json(std::to_string(v)) {}
LogValue::LogValue(long v) : json(std::to_string(v)) {}
LogValue::LogValue(long long v) : json(std::to_string(v)) {}
LogValue::LogValue(unsigned v) : json(std::to_string(v)) {}
LogValue::LogValue(unsigned long v) : json(std::to_string(v)) {}
LogValue::LogValue(unsigned long long v) : json(std::to_string(v)) {}
LogValue::LogValue(double v) {
	char buf[64];
	std::snprintf(buf, sizeof buf, "%.6g", v);
	json = buf;
}
LogValue::LogValue(bool v) : json(v ? "true" : "false") {}

bool ParseLogLevel(std::string_view text, LogLevel *level) {
	if (text == "debug")
		*level = LogLevel::kDebug;
	else if (text == "info")
		*level = LogLevel::kInfo;
	else if (text == "warn" || text == "warning")
		*level = LogLevel::kWarn;
	else if (text == "error")
		*level = LogLevel::kError;
	else
		return false;
	return true;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

void SetLogSlot(std::string slot) {
	std::lock_guard<std::mutex> lock(g_slot_mutex);
	g_slot = std::move(slot);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
	if (!LogEnabled(level))
		return;
	std::string line;
	line.reserve(160);
	line += "{\"ts\":\"";
	line += NowRfc3339();
	line += "\",\"level\":\"";
	line += LevelName(level);
	line += "\",\"msg\":";
	core::AppendJsonString(line, msg);
	{
		std::lock_guard<std::mutex> lock(g_slot_mutex);
		if (!g_slot.empty()) {
			line += ",\"slot\":";
			core::AppendJsonString(line, g_slot);
		}
	}
	for (const auto &f : fields) {
		line += ',';
		core::AppendJsonString(line, f.first);
		line += ':';
		line += f.second.json;
	}
	line += "}\n";
	// One write per line keeps lines whole when threads log concurrently.
	const char *p = line.data();
	size_t left = line.size();
	while (left > 0) {
		ssize_t n = ::write(STDERR_FILENO, p, left);
		if (n <= 0)
			break;
		p += n;
		left -= static_cast<size_t>(n);
	}
}

} // namespace event::sidecar
