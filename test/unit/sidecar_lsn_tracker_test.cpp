// sidecar_lsn_tracker_test.cpp — the flush position never passes an unacknowledged event.
#include <gtest/gtest.h>

#include "relay/lsn_tracker.hpp"

using event::sidecar::relay::LsnTracker;

TEST(SidecarLsnTracker, StartsAtZero) {
	LsnTracker t;
	EXPECT_EQ(t.Confirmed(), 0u);
	EXPECT_EQ(t.Outstanding(), 0);
}

TEST(SidecarLsnTracker, AckedKeyStaysOpenUntilSomethingLaterArrives) {
	LsnTracker t;
	t.Add(100);
	EXPECT_TRUE(t.Ack(100));
	// More events of the transaction committed at 100 may still come.
	EXPECT_EQ(t.Confirmed(), 0u);
	t.Add(200); // a later commit closes 100
	EXPECT_EQ(t.Confirmed(), 100u);
	EXPECT_EQ(t.Outstanding(), 1);
}

TEST(SidecarLsnTracker, NeverConfirmsPastUnackedEvent) {
	LsnTracker t;
	t.Add(100);
	t.Add(100);
	t.Add(200);
	t.Add(300);
	t.Observe(1000);
	EXPECT_TRUE(t.Ack(300));
	EXPECT_TRUE(t.Ack(200));
	EXPECT_EQ(t.Confirmed(), 0u); // 100 still has two outstanding
	EXPECT_TRUE(t.Ack(100));
	EXPECT_EQ(t.Confirmed(), 0u);
	EXPECT_TRUE(t.Ack(100));
	// All acked and closed: everything, then the keepalive position.
	EXPECT_EQ(t.Confirmed(), 1000u);
}

TEST(SidecarLsnTracker, OutOfOrderAcksConfirmOnlyThePrefix) {
	LsnTracker t;
	for (uint64_t k : {10u, 20u, 30u, 40u})
		t.Add(k);
	t.Ack(20);
	t.Ack(40);
	EXPECT_EQ(t.Confirmed(), 0u);
	t.Ack(10);
	EXPECT_EQ(t.Confirmed(), 20u);
	t.Ack(30);
	EXPECT_EQ(t.Confirmed(), 30u); // 40 acked but not closed yet
	t.Observe(41);
	EXPECT_EQ(t.Confirmed(), 41u);
}

TEST(SidecarLsnTracker, KeepaliveEqualToOpenKeyDoesNotCloseIt) {
	LsnTracker t;
	t.Add(500);
	t.Ack(500);
	t.Observe(500); // walEnd == commit start: the commit record is not processed yet
	EXPECT_EQ(t.Confirmed(), 0u);
	t.Observe(501);
	EXPECT_EQ(t.Confirmed(), 501u);
}

TEST(SidecarLsnTracker, IdleKeepaliveAdvancesWhenNothingOutstanding) {
	LsnTracker t;
	t.Observe(0x1000);
	EXPECT_EQ(t.Confirmed(), 0x1000u);
	t.Observe(0x2000);
	EXPECT_EQ(t.Confirmed(), 0x2000u);
}

TEST(SidecarLsnTracker, KeepaliveDoesNotPassOutstanding) {
	LsnTracker t;
	t.Add(100);
	t.Observe(5000);
	EXPECT_EQ(t.Confirmed(), 0u);
	t.Ack(100);
	EXPECT_EQ(t.Confirmed(), 5000u);
}

TEST(SidecarLsnTracker, NeverMovesBackwards) {
	LsnTracker t;
	t.Observe(1000);
	EXPECT_EQ(t.Confirmed(), 1000u);
	// Replay after a reconnect: older keys are tracked again but do not lower the position.
	t.Add(400);
	EXPECT_EQ(t.Confirmed(), 1000u);
	t.Ack(400);
	EXPECT_EQ(t.Confirmed(), 1000u);
	t.Observe(900);
	EXPECT_EQ(t.Confirmed(), 1000u);
}

TEST(SidecarLsnTracker, ReplayedKeyBlocksLaterKeysUntilAcked) {
	LsnTracker t;
	t.Observe(1000);
	t.Add(400);  // replayed, unacked
	t.Add(1200); // new
	t.Ack(1200);
	t.Observe(1300);
	EXPECT_EQ(t.Confirmed(), 1000u); // 400 outstanding holds 1200 back
	t.Ack(400);
	EXPECT_EQ(t.Confirmed(), 1300u);
}

TEST(SidecarLsnTracker, UnknownAckIsRejected) {
	LsnTracker t;
	EXPECT_FALSE(t.Ack(42));
	t.Add(42);
	EXPECT_TRUE(t.Ack(42));
	EXPECT_FALSE(t.Ack(42));
	EXPECT_EQ(t.Outstanding(), 0);
}

TEST(SidecarLsnTracker, FloorAndReceived) {
	LsnTracker t;
	t.SetConfirmedFloor(777);
	EXPECT_EQ(t.Confirmed(), 777u);
	t.Add(900);
	EXPECT_EQ(t.Received(), 900u);
	t.Observe(950);
	EXPECT_EQ(t.Received(), 950u);
	EXPECT_EQ(t.Confirmed(), 777u);
}
