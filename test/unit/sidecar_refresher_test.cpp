// The sidecar's cached catalogs: pg::Refresher's load bookkeeping, the event_category check of
// frontend events (collect::Categories) and the key cache's registration with the refresher.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "auth/key_cache.hpp"
#include "collect/categories.hpp"
#include "pg/refresher.hpp"

namespace pg = event::sidecar::pg;
namespace collect = event::sidecar::collect;
namespace auth = event::sidecar::auth;
namespace http = event::sidecar::http;

namespace {

pg::Result Rows(int columns, std::vector<std::string> values) {
	pg::Result r;
	r.columns = columns;
	r.rows = static_cast<int>(values.size()) / columns;
	r.nulls.assign(values.size(), false);
	r.values = std::move(values);
	return r;
}

pg::Result Failed() {
	pg::Result r;
	r.status = pg::Result::Status::kSqlError;
	r.sqlstate = "42883";
	r.message = "function event.list_categories() does not exist";
	return r;
}

std::string Sha256Hex(const std::string &s) {
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(reinterpret_cast<const unsigned char *>(s.data()), s.size(), d);
	std::string hex;
	char buf[3];
	for (unsigned char c : d) {
		std::snprintf(buf, sizeof buf, "%02x", c);
		hex += buf;
	}
	return hex;
}

} // namespace

TEST(Categories, AcceptsEverythingUntilLoaded) {
	collect::Categories c;
	std::string hint;
	EXPECT_FALSE(c.Loaded());
	EXPECT_EQ(c.Check("anything_at_all", &hint), "") << "not loaded: the ingester's dead letters decide";
	EXPECT_EQ(hint, "");
}

TEST(Categories, RefusesUnknownWithTheExtensionsWords) {
	collect::Categories c;
	c.Replace({"analytics", "system", "user"});
	ASSERT_TRUE(c.Loaded());
	std::string hint;
	EXPECT_EQ(c.Check("user", &hint), "");
	EXPECT_EQ(c.Check("analytics", &hint), "");
	EXPECT_EQ(hint, "");
	EXPECT_EQ(c.Check("no_such", &hint), "invalid event_category \"no_such\"");
	EXPECT_EQ(hint, "Allowed values: analytics, system, user. Add one with event.add_category(name).");
	EXPECT_NE(c.Check("User", &hint), "") << "names are case-sensitive, as in the extension";
	EXPECT_NE(c.Check("", &hint), "");
}

TEST(Categories, EmptyListRefusesAll) {
	collect::Categories c;
	c.Replace({});
	std::string hint;
	EXPECT_NE(c.Check("user", &hint), "");
	EXPECT_EQ(hint, "Allowed values: . Add one with event.add_category(name).");
}

TEST(Categories, ReplaceTakesEffect) {
	collect::Categories c;
	c.Replace({"user"});
	std::string hint;
	EXPECT_NE(c.Check("orders", &hint), "");
	c.Replace({"orders", "user"});
	EXPECT_EQ(c.Check("orders", &hint), "");
	c.Replace({"user"});
	EXPECT_NE(c.Check("orders", &hint), "") << "a category removed from the catalog is refused again";
}

TEST(Refresher, LoadsThroughRegisteredSources) {
	pg::Pool pool{"", pg::Options{}}; // never started: Submit refuses, the tests feed Loaded directly
	pg::Refresher refresher(&pool, 2000);
	auth::KeyCache keys;
	keys.Register(&refresher); // sources 0 (API keys) and 1 (write keys)
	collect::Categories categories;
	categories.Register(&refresher); // source 2
	EXPECT_FALSE(refresher.AllLoaded());

	refresher.Loaded(2, Failed());
	EXPECT_FALSE(categories.Loaded()) << "a failed load loads nothing";
	refresher.Loaded(2, Rows(1, {"system", "user"}));
	EXPECT_TRUE(categories.Loaded());
	std::string hint;
	EXPECT_NE(categories.Check("orders", &hint), "");
	EXPECT_EQ(categories.Check("user", &hint), "");

	refresher.Loaded(2, Failed());
	EXPECT_EQ(categories.Check("user", &hint), "") << "a failed refresh keeps the last loaded list";
	EXPECT_NE(categories.Check("orders", &hint), "");
	EXPECT_FALSE(refresher.AllLoaded());

	const std::string secret = "evk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	std::string bearer = "Bearer " + secret;
	auto now = std::chrono::steady_clock::now();
	EXPECT_EQ(keys.CheckHeader(&bearer, http::Scope::kRead, now).status, 503);
	refresher.Loaded(0, Rows(6, {"k1", secret.substr(0, 12), Sha256Hex(secret), "{read}", "", "f"}));
	EXPECT_EQ(keys.CheckHeader(&bearer, http::Scope::kRead, now).status, 0);
	EXPECT_EQ(keys.CheckHeader(&bearer, http::Scope::kAdmin, now).status, 403);
	EXPECT_FALSE(refresher.AllLoaded()) << "the write keys are not loaded yet";
	refresher.Loaded(1, Rows(6, {}));
	EXPECT_TRUE(refresher.AllLoaded());
}

// The categories on a refresher whose pool is never started (Submit refuses every query).
struct CategoriesOnIdlePool {
	pg::Pool pool{"", pg::Options{}};
	collect::Categories categories; // before the refresher: it outlives it, as in main.cpp
	pg::Refresher refresher;
	explicit CategoriesOnIdlePool(int64_t refresh_ms) : refresher(&pool, refresh_ms) { categories.Register(&refresher); }
};

TEST(Refresher, StartStopWithoutDatabase) {
	CategoriesOnIdlePool f(50);
	pg::Refresher &refresher = f.refresher;
	collect::Categories &categories = f.categories;
	refresher.Start();
	std::this_thread::sleep_for(std::chrono::milliseconds(30));
	auto t0 = std::chrono::steady_clock::now();
	refresher.Stop();
	EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << "Stop wakes the waiting thread";
	EXPECT_FALSE(categories.Loaded());
	refresher.Stop(); // twice is harmless
}

TEST(Refresher, IgnoresOutcomesAfterStop) {
	CategoriesOnIdlePool f(2000);
	f.refresher.Stop();
	f.refresher.Loaded(0, Rows(1, {"user"})); // what the pool's own Stop may still deliver
	EXPECT_FALSE(f.categories.Loaded());
}
