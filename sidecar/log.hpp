// log.hpp — one JSON line per log record on stderr ("ts", "level", "msg", "slot", extra fields).
#pragma once

#include <atomic>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace event::sidecar {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// A field value already rendered as JSON (number, bool, null) or a string to be quoted.
struct LogValue {
	std::string json;

	LogValue(const char *s);
	LogValue(const std::string &s);
	LogValue(std::string_view s);
	LogValue(int v);
	LogValue(long v);
	LogValue(long long v);
	LogValue(unsigned v);
	LogValue(unsigned long v);
	LogValue(unsigned long long v);
	LogValue(double v);
	LogValue(bool v);
};

using LogField = std::pair<std::string_view, LogValue>;

// Parses "debug|info|warn|error"; false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel *level);

// Process-wide logger settings: minimum level and the slot named on every line.
void SetLogLevel(LogLevel level);
void SetLogSlot(std::string slot);
bool LogEnabled(LogLevel level);

// Writes one record (thread-safe, a single write(2) per line).
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

} // namespace event::sidecar
