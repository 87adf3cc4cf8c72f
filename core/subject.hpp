// subject.hpp — NATS subjects for stored and collected events: events.{source}.{category}.{event_type}.
//
// NATS tokens are separated by '.', and '*', '>' and whitespace have special meaning. Each part
// is sanitized so the subject is always valid and has exactly the intended tokens:
//   - characters outside [A-Za-z0-9_-] become '_' (a multibyte UTF-8 character becomes one '_');
//   - in source and category '.' also becomes '_' (each is exactly one token);
//   - in event_type '.' is kept, so "order.created" gives two sub-tokens, but an empty token
//     (leading, trailing or doubled dot, or an empty event_type) becomes '_'.
#pragma once

#include "core/cpp_only.hpp"

#include <string>
#include <string_view>

namespace event::core {

// Prefix of every event subject (JetStream stream EVENTS listens on "events.>").
inline constexpr char kSubjectPrefix[] = "events";

// Appends value as a single subject token (dots replaced) to out.
void AppendSubjectToken(std::string &out, std::string_view value);

// Appends value as one or more dot-separated tokens (dots kept, empty tokens made '_') to out.
void AppendSubjectTokens(std::string &out, std::string_view value);

// "events.{source}.{category}.{event_type}", sanitized as described above.
std::string EventSubject(std::string_view source, std::string_view category, std::string_view event_type);

} // namespace event::core
