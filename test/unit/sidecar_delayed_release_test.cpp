// sidecar_delayed_release_test.cpp — nats::DelayedRelease (sidecar/nats/delayed_release.hpp):
// nothing is released before its delay, everything due is released by the next retirement or
// sweep in retirement order, and everything at the end.
#include <gtest/gtest.h>

#include <vector>

#include "nats/delayed_release.hpp"

namespace {

using event::sidecar::nats::DelayedRelease;
using Clock = DelayedRelease::Clock;
using std::chrono::seconds;

struct Released {
	std::vector<int> ids;
	std::function<void(void *)> fn() {
		return [this](void *p) { ids.push_back(*static_cast<int *>(p)); };
	}
};

TEST(DelayedRelease, NothingBeforeItsDelay) {
	Released r;
	int a = 1, b = 2;
	DelayedRelease d(seconds(5), r.fn());
	const Clock::time_point t0{};
	d.Retire(&a, t0);
	d.Retire(&b, t0 + seconds(2));
	EXPECT_EQ(d.ReleaseDue(t0 + seconds(4)), 0u);
	EXPECT_TRUE(r.ids.empty());
	EXPECT_EQ(d.Held(), 2u);
	EXPECT_EQ(d.ReleaseDue(t0 + seconds(5)), 1u); // a's delay is over, b's is not
	EXPECT_EQ(r.ids, std::vector<int>({1}));
	EXPECT_EQ(d.ReleaseDue(t0 + seconds(7)), 1u);
	EXPECT_EQ(r.ids, std::vector<int>({1, 2}));
	EXPECT_EQ(d.Held(), 0u);
}

TEST(DelayedRelease, RetiringReleasesTheDueOnesFirst) {
	Released r;
	int a = 1, b = 2, c = 3;
	DelayedRelease d(seconds(1), r.fn());
	const Clock::time_point t0{};
	d.Retire(&a, t0);
	d.Retire(&b, t0);
	d.Retire(&c, t0 + seconds(3));
	EXPECT_EQ(r.ids, std::vector<int>({1, 2}));
	EXPECT_EQ(d.Held(), 1u);
	d.Retire(nullptr, t0 + seconds(4)); // a sweep without anything new
	EXPECT_EQ(r.ids, std::vector<int>({1, 2, 3}));
}

TEST(DelayedRelease, EverythingAtTheEnd) {
	Released r;
	int a = 1, b = 2;
	{
		DelayedRelease d(seconds(60), r.fn());
		d.Retire(&a);
		d.Retire(&b);
		EXPECT_TRUE(r.ids.empty());
	}
	EXPECT_EQ(r.ids, std::vector<int>({1, 2}));
}

} // namespace
