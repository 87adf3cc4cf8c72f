// options.hpp — configuration of API-key authentication (flags --auth-*, env EVENT_AUTH_*).
#pragma once

#include <cstdint>

namespace event::sidecar::auth {

struct Options {
	int64_t refresh_ms = 2000; // reload of the key hashes from PostgreSQL (revocation delay)
};

} // namespace event::sidecar::auth
