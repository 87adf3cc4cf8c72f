// ingested_test.cpp — the mark of an event the frontend ingester stored (core/ingested.hpp).
#include "core/ingested.hpp"

#include <gtest/gtest.h>

namespace event::core {
namespace {

constexpr char kId[] = "01a233cd-28f0-772a-a380-2f52da73ff01";

TEST(Ingested, KeyOfAnEventId) {
	EXPECT_EQ(IngestedKey(kId), std::string("jetstream:") + kId);
	const Uuid id = *ParseUuid(kId);
	EXPECT_TRUE(IsIngestedKeyOf(IngestedKey(kId), id));
	EXPECT_TRUE(IsIngestedKeyOf("jetstream:01A233CD-28F0-772A-A380-2F52DA73FF01", id)); // either case
	EXPECT_FALSE(IsIngestedKeyOf("jetstream:01a233cd-28f0-772a-a380-2f52da73ff02", id)); // another id
	EXPECT_FALSE(IsIngestedKeyOf("jetstream:", id));
	EXPECT_FALSE(IsIngestedKeyOf("jetstream:not-a-uuid", id));
	EXPECT_FALSE(IsIngestedKeyOf(std::string("jetstream:") + kId + "x", id));
	EXPECT_FALSE(IsIngestedKeyOf(std::string("JetStream:") + kId, id)); // the prefix is exact
	EXPECT_FALSE(IsIngestedKeyOf(kId, id));
}

TEST(Ingested, ReservedPrefix) {
	EXPECT_TRUE(HasIngestedPrefix("jetstream:"));
	EXPECT_TRUE(HasIngestedPrefix("jetstream:anything"));
	EXPECT_FALSE(HasIngestedPrefix("jetstream"));
	EXPECT_FALSE(HasIngestedPrefix("order-jetstream:1"));
	EXPECT_FALSE(HasIngestedPrefix(""));
}

TEST(Ingested, RowMark) {
	EXPECT_TRUE(IsIngested("frontend", IngestedKey(kId)));
	EXPECT_FALSE(IsIngested("backend", IngestedKey(kId)));
	EXPECT_FALSE(IsIngested("frontend", "jetstream:"));
	EXPECT_FALSE(IsIngested("frontend", "order-1"));
}

} // namespace
} // namespace event::core
