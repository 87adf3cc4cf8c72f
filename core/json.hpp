// json.hpp — appending JSON string literals (RFC 8259) to a std::string.
//
// Used on hot paths (the output plugin writes one JSON document per change), so it appends runs
// of unescaped bytes in one go and never allocates per character. Escapes '"', '\\' and the
// control characters U+0000..U+001F (\b \f \n \r \t, others as \u00XX); everything else,
// including DEL and non-ASCII UTF-8, passes through unchanged.
#pragma once

#include "core/cpp_only.hpp"

#include <string>
#include <string_view>

namespace event::core {

// Writes value escaped, without surrounding quotes, at out, which must have room for 6 bytes per
// byte of value; returns the end of what it wrote. For callers that size their buffer first.
char *WriteJsonEscaped(char *out, std::string_view value) noexcept;

// Bytes WriteJsonEscaped writes for value (the append path's encoded-size check).
size_t JsonEscapedLength(std::string_view value) noexcept;

// Appends value escaped, without surrounding quotes.
void AppendJsonEscaped(std::string &out, std::string_view value);

// Appends value as a JSON string: a quote, value escaped, a quote.
void AppendJsonString(std::string &out, std::string_view value);

// value as a JSON string literal.
std::string JsonQuote(std::string_view value);

} // namespace event::core
