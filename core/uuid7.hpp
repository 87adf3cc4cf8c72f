// uuid7.hpp — UUID version 7 (RFC 9562): time-ordered ids for event_id, and partition bounds.
//
// Layout (big-endian, 128 bits):
//   unix_ts_ms:48 | ver:4 = 0111 | rand_a:12 | var:2 = 10 | rand_b:62
// rand_a is a monotonic counter within one millisecond (RFC 9562 §6.2, method 1): seeded randomly
// with its top bit clear on a new millisecond (so at least 2048 more ids fit), incremented on the
// same millisecond; on overflow the timestamp is advanced by 1 ms. A generator therefore hands
// out strictly increasing ids (in byte order, which is PostgreSQL's uuid order) even when the
// clock stands still or goes backwards: it uses max(last_ms, now).
#pragma once

#include "core/cpp_only.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace event::core {

// 16 bytes in network order; compares like PostgreSQL's uuid (memcmp).
struct Uuid {
	std::array<uint8_t, 16> bytes{};

	friend bool operator==(const Uuid &a, const Uuid &b) {
		return a.bytes == b.bytes;
	}
	friend bool operator!=(const Uuid &a, const Uuid &b) {
		return a.bytes != b.bytes;
	}
	friend bool operator<(const Uuid &a, const Uuid &b) {
		return a.bytes < b.bytes;
	}
	friend bool operator>(const Uuid &a, const Uuid &b) {
		return b < a;
	}
	friend bool operator<=(const Uuid &a, const Uuid &b) {
		return !(b < a);
	}
	friend bool operator>=(const Uuid &a, const Uuid &b) {
		return !(a < b);
	}
};

// Milliseconds since the Unix epoch.
using ClockMs = std::function<uint64_t()>;
// Fills buf with len random bytes; returns false if no randomness is available.
using RandomFill = std::function<bool(uint8_t *buf, size_t len)>;

// The largest timestamp a UUIDv7 can carry (48 bits).
inline constexpr uint64_t kUuid7MaxMillis = (uint64_t{1} << 48) - 1;

// Generates strictly increasing UUIDv7 values. Not thread-safe (one per backend / per thread).
class Uuid7Generator {
public:
	// clock: current time in ms; random: byte source (pg_strong_random in the backend).
	Uuid7Generator(ClockMs clock, RandomFill random);

	// The next id. Throws SqlError (XX000) if the random source fails, 54000 past year 10889.
	Uuid Next();

	// Timestamp (ms) of the last id returned, 0 before the first.
	uint64_t last_millis() const noexcept {
		return last_ms_;
	}

private:
	ClockMs clock_;
	RandomFill random_;
	uint64_t last_ms_ = 0;
	uint16_t counter_ = 0; // 12 bits used
	bool started_ = false;
};

// The system clock in ms since the Unix epoch.
uint64_t SystemClockMillis();

// Canonical 36-character lowercase text, e.g. "0190b6e4-8f3a-7c21-9d4e-3b2a1c0d9e8f".
std::string FormatUuid(const Uuid &uuid);
// Writes the canonical text plus a NUL into out (37 bytes).
void FormatUuid(const Uuid &uuid, char out[37]) noexcept;

// Parses the canonical 8-4-4-4-12 hex form (either case); nullopt if malformed.
std::optional<Uuid> ParseUuid(std::string_view text) noexcept;

// The 48-bit Unix-ms timestamp of a UUIDv7 (meaningless for other versions).
uint64_t Uuid7Millis(const Uuid &uuid) noexcept;
// The version nibble (7 for UUIDv7).
int UuidVersion(const Uuid &uuid) noexcept;
// True if the variant bits are 10 (RFC 9562).
bool HasRfcVariant(const Uuid &uuid) noexcept;

// The smallest 128-bit value carrying timestamp ms: the timestamp, then all other bits zero
// (version and variant bits included, so it is not itself a valid UUIDv7). Every UUIDv7 of ms
// is >= FloorForMillis(ms) and every UUIDv7 of an earlier ms is < it, so
// [FloorForMillis(a), FloorForMillis(b)) are exact range-partition bounds for times [a, b).
// ms above kUuid7MaxMillis is clamped.
Uuid FloorForMillis(uint64_t ms) noexcept;

} // namespace event::core
