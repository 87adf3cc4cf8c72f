// uuid7.cpp — UUIDv7 generation, formatting and parsing (see uuid7.hpp).
#include "core/uuid7.hpp"

#include "core/errors.hpp"
#include "core/hex.hpp"

#include <chrono>
#include <utility>

namespace event::core {
namespace {

constexpr uint16_t kCounterMax = 0x0FFF;
constexpr char kHexDigits[] = "0123456789abcdef";

void PutMillis(Uuid &uuid, uint64_t ms) noexcept {
	for (int i = 0; i < 6; i++)
		uuid.bytes[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
}

} // namespace

Uuid7Generator::Uuid7Generator(ClockMs clock, RandomFill random)
    : clock_(std::move(clock)), random_(std::move(random)) {
}

Uuid Uuid7Generator::Next() {
	// random[0..1]: counter seed on a new ms; random[2..9]: rand_b.
	uint8_t random[10];
	if (!random_(random, sizeof(random)))
		throw SqlError(kInternalError, "could not generate random bytes for a UUIDv7");

	const uint64_t now = clock_();
	const uint16_t seed = static_cast<uint16_t>(((random[0] << 8) | random[1]) & 0x07FF); // top bit clear
	if (!started_ || now > last_ms_) {
		last_ms_ = now;
		counter_ = seed;
		started_ = true;
	} else if (counter_ < kCounterMax) {
		counter_++; // same ms, or the clock went backwards: stay on last_ms_
	} else {
		last_ms_++; // counter exhausted: borrow the next millisecond
		counter_ = seed;
	}
	if (last_ms_ > kUuid7MaxMillis)
		throw SqlError(kProgramLimitExceeded, "UUIDv7 timestamp out of range",
		               "The clock is beyond the 48-bit millisecond range of UUIDv7.");

	Uuid uuid;
	PutMillis(uuid, last_ms_);
	uuid.bytes[6] = static_cast<uint8_t>(0x70 | (counter_ >> 8));
	uuid.bytes[7] = static_cast<uint8_t>(counter_ & 0xFF);
	uuid.bytes[8] = static_cast<uint8_t>(0x80 | (random[2] & 0x3F));
	for (int i = 9; i < 16; i++)
		uuid.bytes[i] = random[i - 6];
	return uuid;
}

uint64_t SystemClockMillis() {
	using namespace std::chrono;
	return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

void FormatUuid(const Uuid &uuid, char out[37]) noexcept {
	size_t pos = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[pos++] = '-';
		out[pos++] = kHexDigits[uuid.bytes[i] >> 4];
		out[pos++] = kHexDigits[uuid.bytes[i] & 0x0F];
	}
	out[pos] = '\0';
}

std::string FormatUuid(const Uuid &uuid) {
	char text[37];
	FormatUuid(uuid, text);
	return std::string(text, 36);
}

std::optional<Uuid> ParseUuid(std::string_view text) noexcept {
	if (text.size() != 36)
		return std::nullopt;
	Uuid uuid;
	size_t byte = 0;
	for (size_t pos = 0; pos < 36;) {
		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			if (text[pos] != '-')
				return std::nullopt;
			pos++;
			continue;
		}
		const int hi = HexDigitValue(text[pos]);
		const int lo = HexDigitValue(text[pos + 1]);
		if (hi < 0 || lo < 0)
			return std::nullopt;
		uuid.bytes[byte++] = static_cast<uint8_t>((hi << 4) | lo);
		pos += 2;
	}
	return uuid;
}

uint64_t Uuid7Millis(const Uuid &uuid) noexcept {
	uint64_t ms = 0;
	for (int i = 0; i < 6; i++)
		ms = (ms << 8) | uuid.bytes[i];
	return ms;
}

int UuidVersion(const Uuid &uuid) noexcept {
	return uuid.bytes[6] >> 4;
}

bool HasRfcVariant(const Uuid &uuid) noexcept {
	return (uuid.bytes[8] & 0xC0) == 0x80;
}

Uuid FloorForMillis(uint64_t ms) noexcept {
	Uuid uuid;
	PutMillis(uuid, ms > kUuid7MaxMillis ? kUuid7MaxMillis : ms);
	return uuid;
}

} // namespace event::core
