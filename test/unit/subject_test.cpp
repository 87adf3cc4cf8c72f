// subject_test.cpp — NATS subject sanitizing.
#include "core/subject.hpp"

#include <gtest/gtest.h>

namespace event::core {
namespace {

TEST(Subject, PlainParts) {
	EXPECT_EQ(EventSubject("web", "analytics", "page_view"), "events.web.analytics.page_view");
	EXPECT_EQ(EventSubject("api", "business", "Order-Created_2"), "events.api.business.Order-Created_2");
}

TEST(Subject, EventTypeDotsBecomeSubTokens) {
	EXPECT_EQ(EventSubject("api", "business", "order.created"), "events.api.business.order.created");
	EXPECT_EQ(EventSubject("api", "business", "a.b.c"), "events.api.business.a.b.c");
}

TEST(Subject, EmptyTokensBecomeUnderscore) {
	EXPECT_EQ(EventSubject("", "", ""), "events._._._");
	EXPECT_EQ(EventSubject("s", "c", ".a"), "events.s.c._.a");
	EXPECT_EQ(EventSubject("s", "c", "a."), "events.s.c.a._");
	EXPECT_EQ(EventSubject("s", "c", "a..b"), "events.s.c.a._.b");
	EXPECT_EQ(EventSubject("s", "c", "."), "events.s.c._._");
}

TEST(Subject, DotsInSourceAndCategoryAreReplaced) {
	EXPECT_EQ(EventSubject("my.app", "x.y", "t"), "events.my_app.x_y.t");
}

TEST(Subject, WildcardsAndWhitespaceAreReplaced) {
	EXPECT_EQ(EventSubject("*", ">", "a*b>c"), "events._._.a_b_c");
	EXPECT_EQ(EventSubject("we b", "c\td", "user signed\nup"), "events.we_b.c_d.user_signed_up");
	EXPECT_EQ(EventSubject("s", "c", "a.*.>"), "events.s.c.a._._");
}

TEST(Subject, OtherPunctuationIsReplaced) {
	EXPECT_EQ(EventSubject("s/1", "c:2", "t$x@y!"), "events.s_1.c_2.t_x_y_");
}

TEST(Subject, MultibyteCharacterBecomesOneUnderscore) {
	EXPECT_EQ(EventSubject("s", "c", "zamówienie"), "events.s.c.zam_wienie");
	EXPECT_EQ(EventSubject("s", "c", "€x😀"), "events.s.c._x_");
}

TEST(Subject, NulByteIsReplaced) {
	EXPECT_EQ(EventSubject("s", "c", std::string("a\0b", 3)), "events.s.c.a_b");
}

TEST(Subject, AppendHelpers) {
	std::string out = "x.";
	AppendSubjectToken(out, "a.b");
	EXPECT_EQ(out, "x.a_b");
	out = "x.";
	AppendSubjectTokens(out, "a.b");
	EXPECT_EQ(out, "x.a.b");
}

} // namespace
} // namespace event::core
