// random_pool_test.cpp — the block-wise random source of UUIDv7 generation.
#include "core/random_pool.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace event::core {
namespace {

// A source that counts its calls and numbers its bytes 1, 2, 3, ... (mod 256) across calls.
struct CountingSource {
	int calls = 0;
	uint8_t next = 1;
	bool fail = false;
	RandomFill Fn() {
		return [this](uint8_t *buf, size_t len) {
			calls++;
			if (fail)
				return false;
			for (size_t i = 0; i < len; i++)
				buf[i] = next++;
			return true;
		};
	}
};

TEST(RandomPool, OneSourceCallPerBlock) {
	CountingSource src;
	RandomPool pool(src.Fn());
	std::vector<uint8_t> seen;
	for (size_t i = 0; i < RandomPool::kBlock / 8; i++) {
		uint8_t buf[8];
		ASSERT_TRUE(pool.Fill(buf, sizeof(buf), 7));
		seen.insert(seen.end(), buf, buf + sizeof(buf));
	}
	EXPECT_EQ(src.calls, 1);
	for (size_t i = 0; i < seen.size(); i++)
		ASSERT_EQ(seen[i], static_cast<uint8_t>(i + 1)) << "byte " << i << " handed out twice or skipped";
	uint8_t buf[8];
	ASSERT_TRUE(pool.Fill(buf, sizeof(buf), 7));
	EXPECT_EQ(src.calls, 2);
}

TEST(RandomPool, ARequestNeverSpansTwoBlocks) {
	CountingSource src;
	RandomPool pool(src.Fn());
	uint8_t buf[10];
	for (size_t i = 0; i < RandomPool::kBlock / 10; i++)
		ASSERT_TRUE(pool.Fill(buf, sizeof(buf), 1));
	EXPECT_EQ(src.calls, 1);
	ASSERT_TRUE(pool.Fill(buf, sizeof(buf), 1)); // 2 bytes left: a fresh block
	EXPECT_EQ(src.calls, 2);
	EXPECT_EQ(buf[0], static_cast<uint8_t>(RandomPool::kBlock + 1));
}

TEST(RandomPool, AnotherProcessStartsAfresh) {
	CountingSource src;
	RandomPool pool(src.Fn());
	uint8_t a[10], b[10];
	ASSERT_TRUE(pool.Fill(a, sizeof(a), 100));
	ASSERT_TRUE(pool.Fill(b, sizeof(b), 101)); // as after fork(): the child must not reuse the rest
	EXPECT_EQ(src.calls, 2); // b came from a block of its own
	ASSERT_TRUE(pool.Fill(a, sizeof(a), 100)); // and back in the first process: afresh again
	EXPECT_EQ(src.calls, 3);
}

TEST(RandomPool, FailureHandsOutNothingAndIsRetried) {
	CountingSource src;
	src.fail = true;
	RandomPool pool(src.Fn());
	uint8_t buf[10] = {};
	EXPECT_FALSE(pool.Fill(buf, sizeof(buf), 1));
	EXPECT_FALSE(pool.Fill(buf, sizeof(buf), 1));
	EXPECT_EQ(src.calls, 2);
	src.fail = false;
	EXPECT_TRUE(pool.Fill(buf, sizeof(buf), 1));
	EXPECT_EQ(buf[0], 1);
}

TEST(RandomPool, LargeRequestsGoToTheSource) {
	CountingSource src;
	RandomPool pool(src.Fn());
	std::vector<uint8_t> big(RandomPool::kBlock);
	ASSERT_TRUE(pool.Fill(big.data(), big.size(), 1));
	EXPECT_EQ(src.calls, 1);
	EXPECT_EQ(big[0], 1);
	EXPECT_EQ(big.back(), static_cast<uint8_t>(RandomPool::kBlock));
}

TEST(RandomPool, FeedsTheUuid7Generator) {
	CountingSource src;
	RandomPool pool(src.Fn());
	Uuid7Generator gen([] { return uint64_t{1700000000000}; },
	                   [&pool](uint8_t *buf, size_t len) { return pool.Fill(buf, len, 1); });
	Uuid last = gen.Next();
	for (int i = 0; i < 200; i++) {
		Uuid u = gen.Next();
		ASSERT_LT(last, u);
		last = u;
	}
	EXPECT_LE(src.calls, 201 * 10 / static_cast<int>(RandomPool::kBlock) + 1);
}

} // namespace
} // namespace event::core
