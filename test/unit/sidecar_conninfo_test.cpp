// sidecar_conninfo_test.cpp — the sidecar's libpq parameters keep what --database-url says
// (sidecar/pg/conninfo.hpp): its options after ours, its connect_timeout instead of ours.
#include <gtest/gtest.h>

#include <string>

#include "pg/conninfo.hpp"

using event::sidecar::pg::ConninfoValue;
using event::sidecar::pg::ConnParams;

TEST(Conninfo, ValueFromUrlAndKeywordForm) {
	EXPECT_EQ(ConninfoValue("postgresql://u@h:5432/db?options=-c%20search_path%3Dapp", "options"),
	          "-c search_path=app");
	EXPECT_EQ(ConninfoValue("host=h dbname=db connect_timeout=9", "connect_timeout"), "9");
	EXPECT_EQ(ConninfoValue("postgresql://u@h/db", "options"), "");
	EXPECT_EQ(ConninfoValue("host='unterminated", "host"), ""); // a parse error: libpq reports it later
}

TEST(Conninfo, OursAloneWhenTheUrlSaysNothing) {
	const ConnParams p("postgresql://u@h/db", "event-sidecar-api", "-c statement_timeout=30000");
	EXPECT_STREQ(p.Get("dbname"), "postgresql://u@h/db");
	EXPECT_STREQ(p.Get("fallback_application_name"), "event-sidecar-api");
	EXPECT_STREQ(p.Get("connect_timeout"), "5");
	EXPECT_STREQ(p.Get("options"), "-c statement_timeout=30000");
	EXPECT_EQ(p.Get("replication"), nullptr);
}

TEST(Conninfo, TheUrlsOptionsAreKeptAfterOurs) {
	const ConnParams p("postgresql://u@h/db?options=-c%20commit_delay%3D100%20-c%20statement_timeout%3D5",
	                   "event-sidecar-api", "-c statement_timeout=30000");
	// PostgreSQL applies the -c options in order: the URL's statement_timeout wins.
	EXPECT_STREQ(p.Get("options"), "-c statement_timeout=30000 -c commit_delay=100 -c statement_timeout=5");
}

TEST(Conninfo, TheUrlsConnectTimeoutWins) {
	const ConnParams p("host=h dbname=db connect_timeout=20", "event-sidecar", "");
	EXPECT_EQ(p.Get("connect_timeout"), nullptr); // left to the URL's own 20
	EXPECT_EQ(p.Get("options"), nullptr);         // nothing to add
}

TEST(Conninfo, ExtraPairsAndNullTerminatedArrays) {
	const ConnParams p("postgresql://u@h/db?options=-c%20x.y%3D1", "event-sidecar", "", {{"replication", "database"}});
	EXPECT_STREQ(p.Get("replication"), "database");
	EXPECT_STREQ(p.Get("options"), "-c x.y=1");
	int n = 0;
	while (p.keys()[n] != nullptr) {
		ASSERT_NE(p.values()[n], nullptr);
		n++;
	}
	EXPECT_EQ(p.values()[n], nullptr);
	EXPECT_EQ(n, 5); // dbname, fallback_application_name, connect_timeout, options, replication
}
