// gzip.hpp — inflating gzip request bodies with an output limit (zlib).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace event::sidecar::http {

enum class InflateResult { kOk, kTooLarge, kBadData };

// Inflates one or more concatenated gzip members into *out; kTooLarge as soon as the output would
// exceed max_out (a "gzip bomb" never allocates more than max_out), kBadData for anything that is
// not complete, valid gzip.
InflateResult Gunzip(std::string_view in, size_t max_out, std::string *out);

// Compresses data as one gzip member (used by tests and tools).
std::string GzipCompress(std::string_view data);

} // namespace event::sidecar::http
