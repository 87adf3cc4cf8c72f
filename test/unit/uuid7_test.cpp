// uuid7_test.cpp — UUIDv7 generation (RFC 9562 layout, monotonicity), formatting and bounds.
#include "core/errors.hpp"
#include "core/uuid7.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace event::core {
namespace {

// A clock the test moves by hand.
struct FakeClock {
	uint64_t now = 1700000000000;
	ClockMs Fn() {
		return [this] { return now; };
	}
};

// Random bytes all equal to value.
RandomFill FixedRandom(uint8_t value) {
	return [value](uint8_t *buf, size_t len) {
		memset(buf, value, len);
		return true;
	};
}

RandomFill SeededRandom(uint32_t seed) {
	auto engine = std::make_shared<std::mt19937>(seed);
	return [engine](uint8_t *buf, size_t len) {
		for (size_t i = 0; i < len; i++)
			buf[i] = static_cast<uint8_t>((*engine)());
		return true;
	};
}

uint16_t Counter(const Uuid &u) {
	return static_cast<uint16_t>(((u.bytes[6] & 0x0F) << 8) | u.bytes[7]);
}

TEST(Uuid7, LayoutVersionVariantAndTimestamp) {
	FakeClock clock;
	Uuid7Generator gen(clock.Fn(), FixedRandom(0xFF));
	const Uuid u = gen.Next();
	EXPECT_EQ(UuidVersion(u), 7);
	EXPECT_TRUE(HasRfcVariant(u));
	EXPECT_EQ(Uuid7Millis(u), clock.now);
	// Counter seed has its top bit clear even with all-ones randomness.
	EXPECT_EQ(Counter(u), 0x07FF);
	// rand_b: variant bits then random bits.
	EXPECT_EQ(u.bytes[8], 0xBF);
	for (int i = 9; i < 16; i++)
		EXPECT_EQ(u.bytes[i], 0xFF);
}

TEST(Uuid7, FormatIsCanonical) {
	Uuid u;
	for (int i = 0; i < 16; i++)
		u.bytes[i] = static_cast<uint8_t>(i * 17);
	EXPECT_EQ(FormatUuid(u), "00112233-4455-6677-8899-aabbccddeeff");
	char text[37];
	FormatUuid(u, text);
	EXPECT_STREQ(text, "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(Uuid7, ParseRoundTripAndCase) {
	FakeClock clock;
	Uuid7Generator gen(clock.Fn(), SeededRandom(1));
	for (int i = 0; i < 1000; i++) {
		const Uuid u = gen.Next();
		auto parsed = ParseUuid(FormatUuid(u));
		ASSERT_TRUE(parsed.has_value());
		EXPECT_EQ(*parsed, u);
	}
	auto upper = ParseUuid("00112233-4455-6677-8899-AABBCCDDEEFF");
	ASSERT_TRUE(upper.has_value());
	EXPECT_EQ(FormatUuid(*upper), "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(Uuid7, ParseRejectsMalformed) {
	for (const char *bad : {"", "00112233-4455-6677-8899-aabbccddeef", "00112233-4455-6677-8899-aabbccddeeff0",
	                        "001122334455-6677-8899-aabbccddeeff-", "00112233_4455-6677-8899-aabbccddeeff",
	                        "0011223g-4455-6677-8899-aabbccddeeff", "{00112233-4455-6677-8899-aabbccddee}",
	                        "00112233445566778899aabbccddeeff"}) {
		EXPECT_FALSE(ParseUuid(bad).has_value()) << bad;
	}
}

TEST(Uuid7, MillionIdsStrictlyIncreasing) {
	uint64_t now = 1700000000000;
	uint64_t calls = 0;
	// Clock advances 1 ms every 300 calls: many ids share a millisecond.
	Uuid7Generator gen([&] { return now + (calls++ / 300); }, SeededRandom(42));
	Uuid prev = gen.Next();
	for (int i = 0; i < 1000000; i++) {
		const Uuid next = gen.Next();
		ASSERT_LT(prev, next) << i;
		ASSERT_EQ(UuidVersion(next), 7);
		ASSERT_TRUE(HasRfcVariant(next));
		prev = next;
	}
}

TEST(Uuid7, SameMillisecondIncrementsCounter) {
	FakeClock clock;
	Uuid7Generator gen(clock.Fn(), FixedRandom(0x00));
	const Uuid a = gen.Next();
	const Uuid b = gen.Next();
	const Uuid c = gen.Next();
	EXPECT_EQ(Counter(a), 0);
	EXPECT_EQ(Counter(b), 1);
	EXPECT_EQ(Counter(c), 2);
	EXPECT_EQ(Uuid7Millis(c), clock.now);
	// A new millisecond reseeds the counter.
	clock.now++;
	const Uuid d = gen.Next();
	EXPECT_EQ(Counter(d), 0);
	EXPECT_EQ(Uuid7Millis(d), clock.now);
	EXPECT_LT(c, d);
}

TEST(Uuid7, ClockGoingBackwardsStaysMonotonic) {
	FakeClock clock;
	Uuid7Generator gen(clock.Fn(), SeededRandom(7));
	const uint64_t start = clock.now;
	const Uuid a = gen.Next();
	clock.now -= 5000; // NTP step back
	const Uuid b = gen.Next();
	const Uuid c = gen.Next();
	EXPECT_LT(a, b);
	EXPECT_LT(b, c);
	EXPECT_EQ(Uuid7Millis(b), start);
	EXPECT_EQ(Uuid7Millis(c), start);
	EXPECT_EQ(gen.last_millis(), start);
	clock.now = start + 1;
	const Uuid d = gen.Next();
	EXPECT_LT(c, d);
	EXPECT_EQ(Uuid7Millis(d), start + 1);
}

TEST(Uuid7, CounterOverflowAdvancesTimestamp) {
	FakeClock clock;
	Uuid7Generator gen(clock.Fn(), FixedRandom(0xFF)); // seed 0x7FF
	Uuid prev = gen.Next();
	EXPECT_EQ(Counter(prev), 0x7FF);
	for (int i = 0; i < 0x800; i++) { // counters 0x800..0xFFF, still in the same millisecond
		const Uuid next = gen.Next();
		ASSERT_LT(prev, next);
		ASSERT_EQ(Uuid7Millis(next), clock.now);
		prev = next;
	}
	EXPECT_EQ(Counter(prev), 0xFFF);
	// The counter is exhausted: the next id borrows the next millisecond, with a fresh seed.
	const Uuid borrowed = gen.Next();
	EXPECT_LT(prev, borrowed);
	prev = borrowed;
	EXPECT_EQ(Uuid7Millis(prev), clock.now + 1);
	EXPECT_EQ(Counter(prev), 0x7FF);
	EXPECT_EQ(gen.last_millis(), clock.now + 1);
	// When the clock catches up with the borrowed ms, ids keep increasing.
	clock.now++;
	const Uuid next = gen.Next();
	EXPECT_LT(prev, next);
	EXPECT_EQ(Uuid7Millis(next), clock.now);
}

TEST(Uuid7, RandomFailureThrows) {
	FakeClock clock;
	Uuid7Generator gen(clock.Fn(), [](uint8_t *, size_t) { return false; });
	try {
		gen.Next();
		FAIL() << "no exception";
	} catch (const SqlError &e) {
		EXPECT_EQ(e.sqlstate(), kInternalError);
	}
}

TEST(Uuid7, TimestampOutOfRangeThrows) {
	Uuid7Generator gen([] { return kUuid7MaxMillis + 1; }, FixedRandom(1));
	EXPECT_THROW(gen.Next(), SqlError);
}

TEST(Uuid7, FloorForMillisBoundsEveryIdOfThatMillisecond) {
	FakeClock clock;
	for (uint8_t fill : {uint8_t{0x00}, uint8_t{0x5A}, uint8_t{0xFF}}) {
		Uuid7Generator gen(clock.Fn(), FixedRandom(fill));
		const Uuid u = gen.Next();
		EXPECT_LE(FloorForMillis(clock.now), u);
		EXPECT_LT(u, FloorForMillis(clock.now + 1));
		EXPECT_GT(u, FloorForMillis(clock.now - 1));
	}
	const Uuid floor = FloorForMillis(0x0123456789AB);
	EXPECT_EQ(FormatUuid(floor), "01234567-89ab-0000-0000-000000000000");
	EXPECT_EQ(Uuid7Millis(floor), 0x0123456789ABu);
	EXPECT_LT(FloorForMillis(10), FloorForMillis(11));
	EXPECT_EQ(FloorForMillis(kUuid7MaxMillis + 100), FloorForMillis(kUuid7MaxMillis));
}

TEST(Uuid7, SystemClockIsPlausible) {
	const uint64_t now = SystemClockMillis();
	EXPECT_GT(now, 1600000000000u); // after 2020
	EXPECT_LT(now, kUuid7MaxMillis);
}

} // namespace
} // namespace event::core
